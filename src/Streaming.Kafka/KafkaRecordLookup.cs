using Confluent.Kafka;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// Reads records again by their position, for the rare records whose original bytes are needed after the deliveries
/// that carried them are gone (dead letters found later). One consumer of its own reads them all, assigned to the
/// partition at each offset in turn; it joins no group and commits nothing.
/// </summary>
public sealed class KafkaRecordLookup(KafkaStreamOptions options)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The records at <paramref name="offsets"/>, by offset; one the partition holds no record at any more (retention
    /// deleted it, or the offset is a transaction marker) is missing.
    /// </summary>
    public Task<Dictionary<long, KafkaRecord>> ReadAsync(string topic, int partition, IReadOnlyCollection<long> offsets) => Task.Run(() =>
    {
        var records = new Dictionary<long, KafkaRecord>();
        var config = KafkaClientConfigs.Consumer(options);
        config.EnableAutoCommit = false;
        // A few records are wanted: no read-ahead beyond the fetch that brings each.
        config.QueuedMinMessages = 1;
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        try
        {
            foreach (var offset in offsets.Distinct().Order())
            {
                consumer.Assign(new TopicPartitionOffset(topic, partition, offset));
                if (ReadAt(consumer, topic, partition, offset) is { } record)
                {
                    records[offset] = record;
                }
            }
        }
        finally
        {
            consumer.Close();
        }

        return records;
    });

    /// <summary>The record at <paramref name="offset"/>, where the consumer is assigned; null when the partition holds none there.</summary>
    private static KafkaRecord? ReadAt(IConsumer<byte[]?, byte[]?> consumer, string topic, int partition, long offset)
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

        throw new TimeoutException($"Kafka {topic}[{partition}] returned no record from offset {offset} within {Timeout.TotalSeconds} s.");
    }
}
