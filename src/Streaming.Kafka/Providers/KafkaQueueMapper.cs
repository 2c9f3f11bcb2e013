using System.Globalization;
using Confluent.Kafka;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// One Orleans queue per Kafka partition, mapped explicitly: stream (namespace = topic, key = partition number)
/// always lands on the queue of that partition, and queues are spread evenly over the hash ring.
/// </summary>
public sealed class KafkaQueueMapper : IConsistentRingStreamQueueMapper
{
    private const long RingSize = 1L << 32;
    private readonly QueueId[] _queues;
    private readonly Dictionary<QueueId, TopicPartition> _partitionsByQueue = [];
    private readonly Dictionary<TopicPartition, QueueId> _queuesByPartition = [];

    public KafkaQueueMapper(string providerName, IReadOnlyList<(string Topic, int Partitions)> topics)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(providerName);
        ArgumentNullException.ThrowIfNull(topics);
        var partitions = topics.SelectMany(t => Enumerable.Range(0, t.Partitions).Select(p => new TopicPartition(t.Topic, p))).ToArray();
        if (partitions.Length == 0)
        {
            throw new ArgumentException("At least one partition is required.", nameof(topics));
        }

        var portion = (uint)(RingSize / partitions.Length);
        _queues = new QueueId[partitions.Length];
        for (var i = 0; i < partitions.Length; i++)
        {
            var queue = QueueId.GetQueueId(providerName, (uint)i, checked((uint)(portion * i)));
            _queues[i] = queue;
            _partitionsByQueue[queue] = partitions[i];
            _queuesByPartition[partitions[i]] = queue;
        }
    }

    /// <summary>The stream that carries a Kafka partition.</summary>
    public static StreamId StreamFor(string topic, int partition) =>
        StreamId.Create(topic, partition.ToString(CultureInfo.InvariantCulture));

    /// <summary>The Kafka partition a stream carries.</summary>
    public static TopicPartition PartitionOf(StreamId streamId)
    {
        var topic = streamId.GetNamespace();
        if (string.IsNullOrEmpty(topic) || !int.TryParse(streamId.GetKeyAsString(), NumberStyles.None, CultureInfo.InvariantCulture, out var partition))
        {
            throw new ArgumentException($"Stream {streamId} is not a Kafka partition stream: its namespace must be the topic and its key the partition number.", nameof(streamId));
        }

        return new TopicPartition(topic, partition);
    }

    public IReadOnlyCollection<TopicPartition> Partitions => _queuesByPartition.Keys;

    public TopicPartition PartitionOf(QueueId queueId) =>
        _partitionsByQueue.TryGetValue(queueId, out var partition)
            ? partition
            : throw new ArgumentOutOfRangeException(nameof(queueId), $"Queue {queueId} is not a Kafka partition of this provider.");

    public IEnumerable<QueueId> GetAllQueues() => _queues;

    public QueueId GetQueueForStream(StreamId streamId)
    {
        var partition = PartitionOf(streamId);
        return _queuesByPartition.TryGetValue(partition, out var queue)
            ? queue
            : throw new ArgumentException($"Stream {streamId} names {partition}, which this provider does not serve.", nameof(streamId));
    }

    public IEnumerable<QueueId> GetQueuesForRange(IRingRange range) =>
        _queues.Where(q => range.InRange(q.GetUniformHashCode()));
}
