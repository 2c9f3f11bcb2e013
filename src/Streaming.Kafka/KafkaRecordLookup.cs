using Confluent.Kafka;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// Reads one record again by its position, for the rare record whose original bytes are needed after the delivery
/// that carried it is gone (a dead letter found later). Each read assigns a consumer of its own to the partition at
/// that offset; it joins no group and commits nothing.
/// </summary>
public sealed class KafkaRecordLookup(KafkaStreamOptions options)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The record at <paramref name="offset"/>, or null when the partition holds none there any more (retention
    /// deleted it, or the offset is a transaction marker).
    /// </summary>
    public Task<KafkaRecord?> ReadAsync(string topic, int partition, long offset) => Task.Run(() =>
    {
        var config = KafkaClientConfigs.Consumer(options);
        config.EnableAutoCommit = false;
        // One record is wanted: no read-ahead beyond the fetch that brings it.
        config.QueuedMinMessages = 1;
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        consumer.Assign(new TopicPartitionOffset(topic, partition, offset));
        try
        {
            for (var deadline = DateTime.UtcNow + Timeout; DateTime.UtcNow < deadline;)
            {
                if (consumer.Consume(TimeSpan.FromSeconds(1)) is not { } result)
                {
                    continue;
                }

                // An offset before the first one the partition holds resets to its start, past the offset asked for.
                return result.Offset.Value == offset ? KafkaAdapterReceiver.ToRecord(topic, result, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) : null;
            }
        }
        finally
        {
            consumer.Close();
        }

        throw new TimeoutException($"Kafka {topic}[{partition}] returned no record from offset {offset} within {Timeout.TotalSeconds} s.");
    });
}
