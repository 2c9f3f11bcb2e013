using System.Text;
using Orleans;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Grains;

/// <summary>Headers of replayed dead letters.</summary>
public static class DeadLetterHeaders
{
    /// <summary>The id (topic/partition/offset) of the dead letter a record replays.</summary>
    public const string ReplayOf = "x-orleansstreams-replay-of";

    /// <summary>The processors (comma-separated) a replayed record goes to; absent means all.</summary>
    public const string Routes = "x-orleansstreams-routes";
}

/// <summary>Reads and replays the dead-letter queue across its shards.</summary>
public static class DeadLetters
{
    /// <summary>Most recent first, optionally of one reason.</summary>
    public static async Task<DeadLetter[]> ListAsync(IGrainFactory grains, string? reason, int limit)
    {
        ArgumentNullException.ThrowIfNull(grains);
        var shards = await Task.WhenAll(DeadLetterShards.All.Select(s => grains.GetGrain<IDeadLetterGrain>(s).ListAsync(reason, limit)));
        return [.. shards.SelectMany(s => s).OrderByDescending(d => d.FailedAt).ThenBy(d => d.Id, StringComparer.Ordinal).Take(limit)];
    }

    public static async Task<DeadLetterStats> StatsAsync(IGrainFactory grains)
    {
        ArgumentNullException.ThrowIfNull(grains);
        var shards = await Task.WhenAll(DeadLetterShards.All.Select(s => grains.GetGrain<IDeadLetterGrain>(s).GetStatsAsync()));
        var byReason = DeadLetterShards.Reasons.ToDictionary(r => r, _ => 0L);
        foreach (var (reason, count) in shards.SelectMany(s => s.ByReason))
        {
            byReason[reason] = byReason.GetValueOrDefault(reason) + count;
        }

        return new DeadLetterStats(shards.Sum(s => s.Total), byReason);
    }

    /// <summary>
    /// Publishes dead letters again to their source topic, original key and bytes, marked as replays; a
    /// processing error goes only to the processors that failed on it, so nothing counts twice.
    /// Returns the ids replayed (unknown ids are skipped).
    /// </summary>
    public static async Task<string[]> ReplayAsync(IGrainFactory grains, KafkaOutput output, IEnumerable<string> ids)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(ids);
        var replayed = new List<string>();
        foreach (var id in ids.Distinct(StringComparer.Ordinal))
        {
            if (!TryParseId(id, out var partition))
            {
                continue;
            }

            var deadLetter = await grains.GetGrain<IDeadLetterGrain>(DeadLetterShards.For(partition)).GetAsync(id);
            if (deadLetter is null || deadLetter.Reason == "late")
            {
                // A late record was applied already (totals and open windows): replaying it would count it twice.
                continue;
            }

            List<KafkaHeader> headers = [new(DeadLetterHeaders.ReplayOf, Encoding.UTF8.GetBytes(id))];
            if (deadLetter.Routes.Length > 0)
            {
                headers.Add(new(DeadLetterHeaders.Routes, Encoding.UTF8.GetBytes(string.Join(',', deadLetter.Routes))));
            }

            await output.ProduceAsync(new Confluent.Kafka.TopicPartition(deadLetter.Topic, deadLetter.Partition), deadLetter.Key, deadLetter.Payload, headers);
            replayed.Add(id);
        }

        return [.. replayed];
    }

    private static bool TryParseId(string id, out int partition)
    {
        partition = -1;
        var parts = id.Split('/');
        return parts.Length == 3
            && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out partition)
            && long.TryParse(parts[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _);
    }
}
