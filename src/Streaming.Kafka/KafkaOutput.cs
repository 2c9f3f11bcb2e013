using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// Writes processing results (output topics, dead letters) to Kafka with the idempotent producer, sharing one
/// producer per silo. Writes are awaited: a result is in Kafka before the offset that caused it is committed.
/// </summary>
public sealed class KafkaOutput : IDisposable
{
    private readonly SharedProducer _producer;

    public KafkaOutput(KafkaStreamOptions options, ILogger<KafkaOutput>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = KafkaClientConfigs.Producer(options);
        // Dead letters keep oversized records whole; the topic must allow them too (max.message.bytes).
        config.MessageMaxBytes ??= 16 * 1024 * 1024;
        _producer = new SharedProducer(config, logger);
    }

    public Task ProduceAsync(string topic, byte[]? key, byte[]? value, IReadOnlyList<KafkaHeader>? headers = null) =>
        _producer.ProduceAsync(topic, KafkaAdapter.ToMessage(new KafkaRecord(topic, -1, -1, key, value, 0, headers)));

    public Task ProduceAsync(TopicPartition partition, byte[]? key, byte[]? value, IReadOnlyList<KafkaHeader>? headers = null) =>
        _producer.ProduceAsync(partition, KafkaAdapter.ToMessage(new KafkaRecord(partition.Topic, partition.Partition, -1, key, value, 0, headers)));

    public void Dispose() => _producer.Dispose();
}

public static class KafkaOutputServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="KafkaOutput"/> and <see cref="KafkaRecordLookup"/> over the settings of the stream provider
    /// <paramref name="providerName"/>.
    /// </summary>
    public static IServiceCollection AddKafkaOutput(this IServiceCollection services, string providerName)
    {
        KafkaStreamOptions Options(IServiceProvider sp) => sp.GetRequiredService<IOptionsMonitor<KafkaStreamOptions>>().Get(providerName);
        return services
            .AddSingleton(sp => new KafkaOutput(Options(sp), sp.GetRequiredService<ILogger<KafkaOutput>>()))
            .AddSingleton(sp => new KafkaRecordLookup(Options(sp)));
    }
}
