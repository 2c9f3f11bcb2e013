using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// Writes processing results (output topics, dead letters) to Kafka with the idempotent producer, sharing one
/// producer per silo. Writes are awaited: a result is in Kafka before the offset that caused it is committed.
/// </summary>
public sealed class KafkaOutput : IDisposable
{
    private readonly Lazy<IProducer<byte[]?, byte[]?>> _producer;

    public KafkaOutput(KafkaStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _producer = new(() =>
        {
            var config = KafkaClientConfigs.Producer(options);
            // Dead letters keep oversized records whole; the topic must allow them too (max.message.bytes).
            config.MessageMaxBytes ??= 16 * 1024 * 1024;
            return new ProducerBuilder<byte[]?, byte[]?>(config).Build();
        });
    }

    public Task ProduceAsync(string topic, byte[]? key, byte[]? value, IReadOnlyList<KafkaHeader>? headers = null) =>
        _producer.Value.ProduceAsync(topic, KafkaAdapter.ToMessage(new KafkaRecord(topic, -1, -1, key, value, 0, headers)));

    public Task ProduceAsync(TopicPartition partition, byte[]? key, byte[]? value, IReadOnlyList<KafkaHeader>? headers = null) =>
        _producer.Value.ProduceAsync(partition, KafkaAdapter.ToMessage(new KafkaRecord(partition.Topic, partition.Partition, -1, key, value, 0, headers)));

    public void Dispose()
    {
        if (_producer.IsValueCreated)
        {
            _producer.Value.Flush(TimeSpan.FromSeconds(5));
            _producer.Value.Dispose();
        }
    }
}

public static class KafkaOutputServiceCollectionExtensions
{
    /// <summary>Registers <see cref="KafkaOutput"/> over the settings of the stream provider <paramref name="providerName"/>.</summary>
    public static IServiceCollection AddKafkaOutput(this IServiceCollection services, string providerName) =>
        services.AddSingleton(sp => new KafkaOutput(sp.GetRequiredService<IOptionsMonitor<KafkaStreamOptions>>().Get(providerName)));
}
