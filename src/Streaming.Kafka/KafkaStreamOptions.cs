using Confluent.Kafka;
using Orleans;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>Settings of one Kafka stream provider.</summary>
public sealed class KafkaStreamOptions
{
    /// <summary>Kafka bootstrap servers, e.g. <c>broker1:9092,broker2:9092</c>. Required.</summary>
    public string BootstrapServers { get; set; } = string.Empty;

    /// <summary>Topics this provider reads and writes. Each partition of each topic is one Orleans queue.</summary>
    public List<string> Topics { get; set; } = [];

    /// <summary>Topics the application writes to but does not read through the provider; created at startup like <see cref="Topics"/>.</summary>
    public List<string> OutputTopics { get; set; } = [];

    /// <summary>Partition count used when a missing topic is created at startup.</summary>
    public int PartitionCount { get; set; } = 8;

    /// <summary>Replication factor used when a missing topic is created at startup; -1 takes the broker default.</summary>
    public short ReplicationFactor { get; set; } = -1;

    /// <summary>Whether missing topics are created at startup.</summary>
    public bool CreateTopics { get; set; } = true;

    /// <summary>
    /// Most records placed in one batch container handed to Orleans. A batch holds only what was already
    /// fetched, so batches are small when the consumer keeps up and large only while it catches up.
    /// </summary>
    public int MaxBatchSize { get; set; } = 4000;

    /// <summary>
    /// Most batch containers each partition keeps in memory for its consumers; a full cache pauses reading that
    /// partition until its consumers catch up. It bounds the records held per partition to this many times
    /// <see cref="MaxBatchSize"/> (128,000 by default): a silo catching up on a backlog reads ahead by that much, not
    /// by the whole backlog. The default is two deliveries' worth at <c>Kafka:BatchesPerDelivery</c>'s default of 16.
    /// </summary>
    public int CacheSize { get; set; } = 32;

    /// <summary>Consumer group the durable offsets are mirrored to, for lag tools. Placement never uses it.</summary>
    public string ConsumerGroupId { get; set; } = "orleansstreams";

    /// <summary>How often a receiver reads its partition's durable checkpoint (rewind requests, consumer-group mirror).</summary>
    public TimeSpan CheckpointPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long startup waits for topic metadata.</summary>
    public TimeSpan MetadataTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Extra producer settings (security, SASL/SSL, tuning). Idempotence and <c>acks=all</c> are always enforced.</summary>
    [Redact]
    public ProducerConfig Producer { get; set; } = new();

    /// <summary>Extra consumer settings (security, SASL/SSL, tuning). Offsets are never auto-committed.</summary>
    [Redact]
    public ConsumerConfig Consumer { get; set; } = new();
}
