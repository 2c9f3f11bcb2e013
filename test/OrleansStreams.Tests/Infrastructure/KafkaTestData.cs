using System.Text.Json;
using Confluent.Kafka;
using OrleansStreams.Grains;

namespace OrleansStreams.Tests.Infrastructure;

/// <summary>Produces test records with an ordinary Confluent producer, as users' applications do.</summary>
public static class KafkaTestData
{
    public static async Task ProduceAsync(string bootstrapServers, string topic, IEnumerable<(string? Key, byte[]? Value)> records, int? partitions = null)
    {
        using var producer = new ProducerBuilder<string?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            MessageMaxBytes = 4 * 1024 * 1024,
        }).Build();
        var index = 0;
        foreach (var (key, value) in records)
        {
            var message = new Message<string?, byte[]?> { Key = key, Value = value };
            if (partitions is { } count)
            {
                producer.Produce(new TopicPartition(topic, index % count), message);
            }
            else
            {
                producer.Produce(topic, message);
            }

            index++;
        }

        // Every record delivered (a broker may be down for a while): the tests' oracles count them all.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Records for {topic} were still undelivered after two minutes.");
            }

            await Task.Yield();
        }
    }

    /// <summary>Page views as JSON, keyed by user, as the input contract has them.</summary>
    public static Task ProduceViewsAsync(string bootstrapServers, IEnumerable<PageView> views, int? partitions = null) =>
        ProduceAsync(bootstrapServers, Topics.PageViews, views.Select(v => ((string?)v.UserId, (byte[]?)Json(v))), partitions);

    /// <summary>Clicks as JSON, keyed by user.</summary>
    public static Task ProduceClicksAsync(string bootstrapServers, IEnumerable<ClickEvent> clicks, int? partitions = null) =>
        ProduceAsync(bootstrapServers, Topics.Clicks, clicks.Select(c => ((string?)c.UserId, (byte[]?)Json(c))), partitions);

    public static byte[] Json<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value);

    /// <summary>
    /// A view and a click at <paramref name="eventTime"/> on every partition (64 users of their own, clicks on a URL no
    /// one views): both streams' watermarks, and so the join's, move up to it.
    /// </summary>
    public static async Task MoveWatermarksAsync(string bootstrapServers, double eventTime)
    {
        await ProduceViewsAsync(bootstrapServers, Enumerable.Range(0, 64).Select(i => new PageView($"clock-{i}", "/clock", eventTime)));
        await ProduceClicksAsync(bootstrapServers, Enumerable.Range(0, 64).Select(i => new ClickEvent($"clock-{i}", "/none", eventTime)));
    }

    /// <summary>Page views over <paramref name="urls"/> URLs and <paramref name="users"/> users, deterministic for a seed.</summary>
    public static List<PageView> PageViews(int count, int urls, int users, int seed = 42)
    {
        var random = new Random(seed);
        var start = 1_700_000_000.0;
        return Enumerable.Range(0, count)
            .Select(i => new PageView($"user-{random.Next(users)}", $"/page/{random.Next(urls)}", start + (i * 0.01)))
            .ToList();
    }

    /// <summary>Last offset + 1 of every partition of <paramref name="topic"/>.</summary>
    public static Dictionary<int, long> EndOffsets(string bootstrapServers, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrapServers, GroupId = "test-end-offsets" }).Build();
        return Enumerable.Range(0, partitions).ToDictionary(
            p => p,
            p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
    }

    /// <summary>The offsets consumer group <paramref name="groupId"/> has committed for every partition of <paramref name="topic"/> (-1 for none).</summary>
    public static Dictionary<int, long> CommittedOffsets(string bootstrapServers, string groupId, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrapServers, GroupId = groupId }).Build();
        return consumer.Committed(Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)), TimeSpan.FromSeconds(10))
            .ToDictionary(c => c.Partition.Value, c => c.Offset == Offset.Unset ? -1 : c.Offset.Value);
    }
}

/// <summary>Reads a whole topic back.</summary>
public static class KafkaTopicReader
{
    public static List<ConsumeResult<byte[]?, byte[]?>> ReadAll(string bootstrapServers, string topic, int partitions, int atLeast, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "test-reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
        }).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var results = new List<ConsumeResult<byte[]?, byte[]?>>();
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is not null && !result.IsPartitionEOF)
            {
                results.Add(result);
            }
            else if (results.Count >= atLeast)
            {
                // Nothing more within a quiet period: the topic is read.
                var more = consumer.Consume(TimeSpan.FromSeconds(1));
                if (more is null)
                {
                    break;
                }

                results.Add(more);
            }
        }

        return results;
    }
}
