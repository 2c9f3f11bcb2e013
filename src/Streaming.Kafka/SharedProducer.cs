using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// One idempotent producer for many callers, built on first use. Disposing it never races a write: librdkafka's
/// handle must not be destroyed while another thread hands it a message (that corrupts native memory and takes the
/// process down), so writes and disposal take turns, and a write after disposal fails with
/// <see cref="ObjectDisposedException"/>. Disposal waits up to 5 s for the writes already accepted. librdkafka's
/// own messages go to <paramref name="logger"/>, as the other Kafka clients' do, not to the console.
/// </summary>
internal sealed class SharedProducer(ProducerConfig config, ILogger? logger = null) : IDisposable
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly Lock _gate = new();
    private IProducer<byte[]?, byte[]?>? _producer;
    private bool _disposed;

    /// <summary>Completes once Kafka has the message.</summary>
    public Task ProduceAsync(TopicPartition partition, Message<byte[]?, byte[]?> message)
    {
        // Only librdkafka's enqueue runs under the lock; the delivery is awaited outside it.
        lock (_gate)
        {
            return Producer().ProduceAsync(partition, message);
        }
    }

    /// <inheritdoc cref="ProduceAsync(TopicPartition, Message{byte[], byte[]})"/>
    public Task ProduceAsync(string topic, Message<byte[]?, byte[]?> message)
    {
        lock (_gate)
        {
            return Producer().ProduceAsync(topic, message);
        }
    }

    public void Dispose()
    {
        IProducer<byte[]?, byte[]?>? producer;
        lock (_gate)
        {
            _disposed = true;
            (producer, _producer) = (_producer, null);
        }

        if (producer is not null)
        {
            producer.Flush(TimeSpan.FromSeconds(5));
            producer.Dispose();
        }
    }

    private IProducer<byte[]?, byte[]?> Producer()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _producer ??= new ProducerBuilder<byte[]?, byte[]?>(config)
            .SetErrorHandler((_, error) => KafkaClientLog.Error(_logger, "producer", error.Code, error.Reason))
            .SetLogHandler((_, message) => KafkaClientLog.Message(_logger, "producer", message.Level.ToString(), message.Message))
            .Build();
    }
}
