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
/// </summary>
public sealed class SiloKafkaStreamConfigurator : SiloPersistentStreamConfigurator
{
    public SiloKafkaStreamConfigurator(string name, Action<Action<IServiceCollection>> configureServicesDelegate)
        : base(name, configureServicesDelegate, KafkaAdapterFactory.Create)
    {
        this.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly);
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
