using Orleans.Hosting;

namespace OrleansStreams.Streaming.Kafka;

public static class SiloBuilderExtensions
{
    /// <summary>Adds a Kafka persistent stream provider: one queue per partition, rewindable, checkpointed.</summary>
    public static ISiloBuilder AddKafkaStreams(this ISiloBuilder builder, string name, Action<KafkaStreamOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(configureOptions);
        return builder.AddKafkaStreams(name, b => b.ConfigureKafka(ob => ob.Configure(configureOptions)));
    }

    /// <summary>Adds a Kafka persistent stream provider, configured through its configurator.</summary>
    public static ISiloBuilder AddKafkaStreams(this ISiloBuilder builder, string name, Action<SiloKafkaStreamConfigurator>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var configurator = new SiloKafkaStreamConfigurator(name, configureServices => builder.ConfigureServices(configureServices));
        configure?.Invoke(configurator);
        return builder;
    }
}
