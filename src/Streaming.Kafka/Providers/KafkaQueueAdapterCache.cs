using Microsoft.Extensions.Logging;
using Orleans.Streams;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>Gives each partition's pulling agent its own <see cref="KafkaQueueCache"/> of <paramref name="capacity"/> batches.</summary>
internal sealed class KafkaQueueAdapterCache(int capacity, ILoggerFactory loggerFactory) : IQueueAdapterCache
{
    public IQueueCache CreateQueueCache(QueueId queueId) =>
        new KafkaQueueCache(queueId, capacity, loggerFactory.CreateLogger<KafkaQueueCache>());
}
