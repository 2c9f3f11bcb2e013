using System.Collections.Concurrent;
using Confluent.Kafka;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>Where each partition read by this silo stands, and how many deliveries Orleans gave up on.</summary>
public sealed class KafkaProviderStats
{
    private readonly ConcurrentDictionary<TopicPartition, PartitionPosition> _partitions = new();
    private long _deliveryFailures;

    /// <summary>Partitions read in this silo: the log end offset seen by the consumer and the durable offset.</summary>
    public IReadOnlyDictionary<TopicPartition, PartitionPosition> Partitions => _partitions;

    public long DeliveryFailures => Interlocked.Read(ref _deliveryFailures);

    /// <summary>Topics served and their partition counts, as read from Kafka at startup.</summary>
    public IReadOnlyList<(string Topic, int Partitions)> Topics { get; internal set; } = [];

    internal void Update(TopicPartition partition, long? logEnd = null, long? durable = null) =>
        _partitions.AddOrUpdate(
            partition,
            _ => new PartitionPosition(logEnd ?? -1, durable ?? -1),
            (_, known) => new PartitionPosition(logEnd ?? known.LogEndOffset, durable ?? known.DurableOffset));

    internal void Remove(TopicPartition partition) => _partitions.TryRemove(partition, out _);

    internal void DeliveryFailed() => Interlocked.Increment(ref _deliveryFailures);
}

/// <summary>A partition's log end offset and durable offset (-1: not known yet).</summary>
public readonly record struct PartitionPosition(long LogEndOffset, long DurableOffset)
{
    /// <summary>Records not yet durably processed, when both ends are known.</summary>
    public long? Lag => LogEndOffset >= 0 ? Math.Max(0, LogEndOffset - Math.Max(0, DurableOffset)) : null;
}
