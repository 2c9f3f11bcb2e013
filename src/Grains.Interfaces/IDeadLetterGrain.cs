using System.Globalization;
using Orleans;
using Orleans.Concurrency;

namespace OrleansStreams.Grains;

/// <summary>
/// One shard of the dead-letter queue: recent entries and counts by reason for the source partitions mapped to
/// it. Entries are applied exactly once, as any other effect of a partition.
/// </summary>
[Alias("OrleansStreams.IDeadLetterGrain")]
public interface IDeadLetterGrain : ISink
{
    [Alias("ApplyDeadLetters")]
    Task<SinkReceipt> ApplyDeadLettersAsync(string source, Guid expectedActivation, [Immutable] Positioned<DeadLetter>[] deadLetters);

    /// <summary>
    /// Adds dead letters found out of their partition's offset order (records that failed when sent again to a grain's
    /// new activation), each once however often it is added while it is among the recent ones, and persists before
    /// returning.
    /// </summary>
    [Alias("Add")]
    Task AddAsync([Immutable] DeadLetter[] deadLetters);

    /// <summary>Most recent first, optionally of one reason.</summary>
    [Alias("List")]
    Task<DeadLetter[]> ListAsync(string? reason, int limit);

    [Alias("Get")]
    Task<DeadLetter?> GetAsync(string id);

    [Alias("GetStats")]
    Task<DeadLetterStats> GetStatsAsync();
}

/// <summary>A record that could not be processed, with its original bytes and position.</summary>
/// <param name="Routes">For a processing error, which processors failed on it (a replay goes only to them); empty means all.</param>
[GenerateSerializer, Immutable, Alias("OrleansStreams.DeadLetter")]
public sealed record DeadLetter(
    [property: Id(0)] string Reason,
    [property: Id(1)] string Error,
    [property: Id(2)] string Topic,
    [property: Id(3)] int Partition,
    [property: Id(4)] long Offset,
    [property: Id(5)] byte[]? Key,
    [property: Id(6)] byte[]? Payload,
    [property: Id(7)] double FailedAt,
    [property: Id(8)] string[] Routes)
{
    /// <summary>The record's identity: topic/partition/offset.</summary>
    public string Id => string.Create(CultureInfo.InvariantCulture, $"{Topic}/{Partition}/{Offset}");
}

[GenerateSerializer, Immutable, Alias("OrleansStreams.DeadLetterStats")]
public sealed record DeadLetterStats([property: Id(0)] long Total, [property: Id(1)] Dictionary<string, long> ByReason);

/// <summary>How dead letters are spread over shards.</summary>
public static class DeadLetterShards
{
    public const int Count = 8;

    public static string For(int partition) => (partition % Count).ToString(CultureInfo.InvariantCulture);

    public static IEnumerable<string> All => Enumerable.Range(0, Count).Select(i => i.ToString(CultureInfo.InvariantCulture));

    /// <summary>The reasons of the dead-letter contract.</summary>
    public static readonly string[] Reasons = ["malformed", "invalid", "processing_error", "late"];
}
