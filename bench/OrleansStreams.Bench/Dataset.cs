using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using OrleansStreams.Grains;

namespace OrleansStreams.Bench;

/// <summary>What a run reads and what its results must equal.</summary>
public sealed record DatasetSpec(string Name, int Partitions, int Users, int Urls, int Views, double ClickRatio, double BadRatio, int Seed = 7);

/// <summary>The oracle: counts computed while producing, which every run's own results must equal.</summary>
public sealed record Oracle(
    DatasetSpec Spec,
    long Records,
    long PageViewRecords,
    long ValidViews,
    long Clicks,
    long Bad,
    long Conversions,
    long DistinctUsers,
    Dictionary<string, long> UrlTotals,
    Dictionary<string, long[]> UserSample)
{
    public void Save(string path) => File.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(this));

    public static Oracle Load(string path) => JsonSerializer.Deserialize<Oracle>(File.ReadAllBytes(path))
        ?? throw new InvalidDataException($"No oracle in {path}.");
}

/// <summary>
/// Generates a dataset deterministically and produces it: page views keyed by user (uniform over users and URLs,
/// event time increasing over the ten minutes before now), a share of malformed records, and clicks that follow
/// some views by 0–8 s (so that about 5/8 of them join a view within the 5 s interval).
/// </summary>
public static class Dataset
{
    private const int UserSampleSize = 1_000;

    public static Oracle Produce(string bootstrapServers, DatasetSpec spec)
    {
        var random = new Random(spec.Seed);
        var end = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var start = end - 600;
        var step = 600.0 / spec.Views;
        var urlTotals = new Dictionary<string, long>();
        var userViews = new Dictionary<int, long>();
        var userClicks = new Dictionary<int, long>();
        var viewsByPair = new Dictionary<(int User, int Url), List<double>>();
        var clicks = new List<(int User, int Url, double Time)>();
        long bad = 0;

        using var producer = Producer(bootstrapServers);
        for (var i = 0; i < spec.Views; i++)
        {
            var user = random.Next(spec.Users);
            var url = random.Next(spec.Urls);
            var time = Math.Round(start + (i * step), 3);
            var key = UserId(user);
            if (random.NextDouble() < spec.BadRatio)
            {
                bad++;
                var broken = Encoding.UTF8.GetBytes($"{{\"user_id\":\"{key}\",\"url\":");
                Send(producer, Topics.PageViews, key, broken);
                continue;
            }

            var view = new PageView(key, Url(url), time);
            Send(producer, Topics.PageViews, key, JsonSerializer.SerializeToUtf8Bytes(view));
            Increment(urlTotals, view.Url);
            Increment(userViews, user);
            if (!viewsByPair.TryGetValue((user, url), out var times))
            {
                viewsByPair[(user, url)] = times = [];
            }

            times.Add(time);
            if (random.NextDouble() < spec.ClickRatio)
            {
                clicks.Add((user, url, Math.Round(time + (random.NextDouble() * 8), 3)));
            }

        }

        // Clicks in event-time order, as a click stream is.
        clicks.Sort((a, b) => a.Time.CompareTo(b.Time));
        long conversions = 0;
        for (var i = 0; i < clicks.Count; i++)
        {
            var (user, url, time) = clicks[i];
            var key = UserId(user);
            Send(producer, Topics.Clicks, key, JsonSerializer.SerializeToUtf8Bytes(new ClickEvent(key, Url(url), time)));
            Increment(userClicks, user);
            // The join: every view of this user and URL with view_time <= click_time <= view_time + 5 s.
            conversions += viewsByPair[(user, url)].Count(v => time >= v && time <= v + 5);
        }

        Flush(producer);
        var inKafka = Retained(bootstrapServers, Topics.PageViews, spec.Partitions) + Retained(bootstrapServers, Topics.Clicks, spec.Partitions);
        if (inKafka != spec.Views + clicks.Count)
        {
            throw new InvalidOperationException(
                $"Kafka holds {inKafka} records; {spec.Views + clicks.Count} were produced. The embedded Kafka keeps 5 MB per partition: use fewer views.");
        }

        var sample = new Dictionary<string, long[]>();
        foreach (var user in userViews.Keys.Order().Take(UserSampleSize))
        {
            sample[UserId(user)] = [userViews[user], userClicks.GetValueOrDefault(user)];
        }

        var pageViewRecords = spec.Views;
        return new Oracle(spec, pageViewRecords + clicks.Count, pageViewRecords, pageViewRecords - bad, clicks.Count, bad, conversions,
            userViews.Count, urlTotals, sample);
    }

    /// <summary>Records the partitions of <paramref name="topic"/> hold (end offset minus start offset, summed).</summary>
    public static long Retained(string bootstrapServers, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrapServers, GroupId = "bench-offsets" }).Build();
        return Enumerable.Range(0, partitions)
            .Select(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)))
            .Sum(w => w.High.Value - w.Low.Value);
    }

    public static string UserId(int user) => string.Create(CultureInfo.InvariantCulture, $"user-{user}");

    public static string Url(int url) => string.Create(CultureInfo.InvariantCulture, $"/page/{url}");

    public static IProducer<string, byte[]> Producer(string bootstrapServers) =>
        new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            BatchSize = 1_000_000,
            QueueBufferingMaxMessages = 1_000_000,
        }).Build();

    public static void Flush(IProducer<string, byte[]> producer)
    {
        while (producer.Flush(TimeSpan.FromSeconds(10)) > 0)
        {
            Console.Error.WriteLine("Waiting for the producer to deliver...");
        }
    }

    /// <summary>Produces one record, waiting while the producer's local queue is full.</summary>
    public static void Send(IProducer<string, byte[]> producer, string topic, string key, byte[] value)
    {
        var message = new Message<string, byte[]> { Key = key, Value = value };
        while (true)
        {
            try
            {
                producer.Produce(topic, message);
                return;
            }
            catch (ProduceException<string, byte[]> ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    private static void Increment<TKey>(Dictionary<TKey, long> counts, TKey key)
        where TKey : notnull =>
        counts[key] = counts.GetValueOrDefault(key) + 1;
}
