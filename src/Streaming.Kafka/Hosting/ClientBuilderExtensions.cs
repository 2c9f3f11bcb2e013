using Orleans.Hosting;

namespace OrleansStreams.Streaming.Kafka;

public static class ClientBuilderExtensions
{
    /// <summary>Adds a Kafka persistent stream provider to a cluster client.</summary>
    public static IClientBuilder AddKafkaStreams(this IClientBuilder builder, string name, Action<KafkaStreamOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(configureOptions);
        return builder.AddKafkaStreams(name, b => b.ConfigureKafka(ob => ob.Configure(configureOptions)));
    }

    /// <summary>Adds a Kafka persistent stream provider to a cluster client, configured through its configurator.</summary>
    public static IClientBuilder AddKafkaStreams(this IClientBuilder builder, string name, Action<ClusterClientKafkaStreamConfigurator>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var configurator = new ClusterClientKafkaStreamConfigurator(name, builder);
        configure?.Invoke(configurator);
        return builder;
    }
}
