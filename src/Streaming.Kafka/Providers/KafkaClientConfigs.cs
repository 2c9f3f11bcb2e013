using Confluent.Kafka;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>Builds the Confluent configs the provider uses from the user's, enforcing what correctness needs.</summary>
public static class KafkaClientConfigs
{
    /// <summary>Idempotent producer with <c>acks=all</c>, on top of the user's settings.</summary>
    public static ProducerConfig Producer(KafkaStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = new ProducerConfig(Copy(options.Producer))
        {
            BootstrapServers = options.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
        };
        config.LingerMs ??= 5;
        return config;
    }

    /// <summary>
    /// A consumer that commits to its group only the offsets the receiver stores (the durable ones, mirrored for lag
    /// tools), in the background and when it closes, and reads ahead generously: librdkafka's defaults idle for a
    /// second whenever its local queue fills, which caps throughput far below the broker's. Each record brings its
    /// headers and timestamp but not its topic name, which the reader of a partition knows (one string fewer per record).
    /// </summary>
    public static ConsumerConfig Consumer(KafkaStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = new ConsumerConfig(Copy(options.Consumer))
        {
            BootstrapServers = options.BootstrapServers,
            GroupId = options.ConsumerGroupId,
            EnableAutoCommit = true,
            EnableAutoOffsetStore = false,
            ConsumeResultFields = "headers,timestamp",
        };
        config.AutoOffsetReset ??= AutoOffsetReset.Earliest;
        config.AutoCommitIntervalMs ??= 1_000;
        config.FetchWaitMaxMs ??= 100;
        config.QueuedMinMessages ??= 100_000;
        SetIfAbsent(config, "fetch.queue.backoff.ms", "10");
        return config;
    }

    /// <summary>An admin client config carrying the connection and security settings of the producer's.</summary>
    public static AdminClientConfig Admin(KafkaStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var shared = Copy(options.Producer)
            .Where(kv => kv.Key.StartsWith("security.", StringComparison.Ordinal)
                || kv.Key.StartsWith("sasl.", StringComparison.Ordinal)
                || kv.Key.StartsWith("ssl.", StringComparison.Ordinal)
                || kv.Key.StartsWith("client.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        return new AdminClientConfig(shared) { BootstrapServers = options.BootstrapServers };
    }

    private static Dictionary<string, string> Copy(IEnumerable<KeyValuePair<string, string>>? config) =>
        config?.ToDictionary(kv => kv.Key, kv => kv.Value) ?? [];

    private static void SetIfAbsent(ClientConfig config, string key, string value)
    {
        if (config.Get(key) is null)
        {
            config.Set(key, value);
        }
    }
}
