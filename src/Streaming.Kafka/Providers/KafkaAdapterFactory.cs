using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>Builds the Kafka adapter, its queue mapper (one queue per partition) and its bounded cache.</summary>
public sealed class KafkaAdapterFactory : IQueueAdapterFactory, IDisposable
{
    private readonly string _providerName;
    private readonly KafkaStreamOptions _options;
    private readonly IServiceProvider _services;
    private readonly KafkaQueueMapper _mapper;
    private readonly IQueueAdapterCache _cache;
    private readonly SharedProducer _producer;

    private KafkaAdapterFactory(string providerName, KafkaStreamOptions options, StreamPullingAgentOptions agent, IServiceProvider services)
    {
        _providerName = providerName;
        _options = options;
        _services = services;
        var loggerFactory = services.GetRequiredService<ILoggerFactory>();
        var topics = KafkaTopics.Provision(providerName, options, loggerFactory.CreateLogger<KafkaAdapterFactory>());
        _mapper = new KafkaQueueMapper(providerName, topics);
        services.GetRequiredService<KafkaProviderStats>().Topics = topics;
        _cache = new KafkaQueueAdapterCache(options.CacheSize, Math.Max(1, agent.BatchContainerBatchSize), loggerFactory);
        _producer = new SharedProducer(KafkaClientConfigs.Producer(options), loggerFactory.CreateLogger<KafkaAdapterFactory>());
    }

    public static KafkaAdapterFactory Create(IServiceProvider services, string name)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.GetOptionsByName<KafkaStreamOptions>(name);
        new KafkaStreamOptionsValidator(options, name).ValidateConfiguration();
        return new KafkaAdapterFactory(name, options, services.GetOptionsByName<StreamPullingAgentOptions>(name), services);
    }

    public Task<IQueueAdapter> CreateAdapter() =>
        Task.FromResult<IQueueAdapter>(new KafkaAdapter(_providerName, _mapper, _options, _producer, _services));

    public IQueueAdapterCache GetQueueAdapterCache() => _cache;

    public IStreamQueueMapper GetStreamQueueMapper() => _mapper;

    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId) =>
        Task.FromResult<IStreamFailureHandler>(ActivatorUtilities.CreateInstance<KafkaStreamFailureHandler>(_services));

    public void Dispose() => _producer.Dispose();
}
