using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Streams;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// Configures a Kafka stream provider on a silo. Its streams are the partitions, consumed through implicit
/// subscriptions: the pub-sub defaults to <see cref="StreamPubSubType.ImplicitOnly"/>, so a partition's first records
/// reach their subscriber without a rendezvous grain to activate and persist first. Call
/// <c>ConfigureStreamPubSub(StreamPubSubType.ExplicitGrainBasedAndImplicit)</c> to allow explicit subscriptions too.
/// A partition whose fetched records are all read is looked at again after <see cref="DefaultIdlePollInterval"/>
/// (the pulling agent's <see cref="StreamPullingAgentOptions.GetQueueMsgsTimerPeriod"/>; <c>ConfigurePullingAgent</c>
/// sets another): a record fetched meanwhile waits for that look, so it bounds what a record waits at a pipeline that
/// keeps up. While records are there, the agent reads on without waiting.
/// </summary>
public sealed class SiloKafkaStreamConfigurator : SiloPersistentStreamConfigurator
{
    /// <summary>
    /// How long a partition with nothing left to read waits before it is read again: a fifth of Orleans' default. In
    /// the bench at 10,000 records/s it cut the median time from produce to effect from 121–130 ms to 71–72 ms.
    /// </summary>
    public static readonly TimeSpan DefaultIdlePollInterval = TimeSpan.FromMilliseconds(20);

    public SiloKafkaStreamConfigurator(string name, Action<Action<IServiceCollection>> configureServicesDelegate)
        : base(name, configureServicesDelegate, KafkaAdapterFactory.Create)
    {
        this.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly);
        this.ConfigurePullingAgent(ob => ob.Configure(options => options.GetQueueMsgsTimerPeriod = DefaultIdlePollInterval));
        ConfigureDelegate(services => services
            .AddKafkaProviderStats()
            .ConfigureNamedOptionForLogging<KafkaStreamOptions>(name)
            .AddTransient<IConfigurationValidator>(sp => new KafkaStreamOptionsValidator(sp.GetRequiredService<IOptionsMonitor<KafkaStreamOptions>>().Get(name), name)));
    }

    public SiloKafkaStreamConfigurator ConfigureKafka(Action<OptionsBuilder<KafkaStreamOptions>> configureOptions)
    {
        this.Configure(configureOptions);
        return this;
    }
}

/// <summary>Configures a Kafka stream provider on a cluster client (produce path), with the silo's pub-sub default.</summary>
public sealed class ClusterClientKafkaStreamConfigurator : ClusterClientPersistentStreamConfigurator
{
    public ClusterClientKafkaStreamConfigurator(string name, IClientBuilder builder)
        : base(name, builder, KafkaAdapterFactory.Create)
    {
        this.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly);
        builder.ConfigureServices(services => services
            .AddKafkaProviderStats()
            .ConfigureNamedOptionForLogging<KafkaStreamOptions>(name)
            .AddTransient<IConfigurationValidator>(sp => new KafkaStreamOptionsValidator(sp.GetRequiredService<IOptionsMonitor<KafkaStreamOptions>>().Get(name), name)));
    }

    public ClusterClientKafkaStreamConfigurator ConfigureKafka(Action<OptionsBuilder<KafkaStreamOptions>> configureOptions)
    {
        this.Configure(configureOptions);
        return this;
    }
}

internal static class KafkaProviderStatsRegistration
{
    public static IServiceCollection AddKafkaProviderStats(this IServiceCollection services)
    {
        services.TryAddSingleton<KafkaProviderStats>();
        return services;
    }
}
