using Microsoft.Extensions.Logging;
using Orleans.Streams;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// Gives each partition's pulling agent its own <see cref="KafkaQueueCache"/> of <paramref name="capacity"/> batches,
/// keeping behind each cursor the <paramref name="deliveryWindow"/> batches one delivery may carry.
/// </summary>
internal sealed class KafkaQueueAdapterCache(int capacity, int deliveryWindow, ILoggerFactory loggerFactory) : IQueueAdapterCache
{
    public IQueueCache CreateQueueCache(QueueId queueId) =>
        new KafkaQueueCache(queueId, capacity, deliveryWindow, loggerFactory.CreateLogger<KafkaQueueCache>());
}
