using Orleans.Hosting;
using Orleans.TestingHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansStreams.Silo.Hosting;
using OrleansStreams.Streaming.Kafka;
using OrleansStreams.Streaming.Kafka.Embedded;

namespace OrleansStreams.Tests.Infrastructure;

/// <summary>
/// An in-process Orleans test cluster wired exactly as the product's silo (<see cref="SiloBuilderExtensions.AddOrleansStreams"/>),
/// reading from an embedded Kafka of its own.
/// </summary>
public sealed class AppCluster : IAsyncDisposable
{
    private AppCluster(TestCluster cluster) => Cluster = cluster;

    public TestCluster Cluster { get; }

    public IGrainFactory Grains => Cluster.GrainFactory;

    /// <summary>The services of every running silo (in-process).</summary>
    public IEnumerable<IServiceProvider> SiloServices =>
        Cluster.Silos.OfType<InProcessSiloHandle>().Select(s => s.SiloHost.Services);

    public static async Task<AppCluster> StartAsync(EmbeddedKafkaCluster kafka, IDictionary<string, string>? settings = null, int silos = 1)
    {
        var builder = new TestClusterBuilder((short)silos);
        builder.Options.ClusterId = "test-" + Guid.NewGuid().ToString("N")[..8];
        if (settings?.TryGetValue("Orleans:ServiceId", out var serviceId) == true)
        {
            // Storage is keyed by service id: clusters that share one see each other's state.
            builder.Options.ServiceId = serviceId;
        }

        builder.Properties["Kafka:BootstrapServers"] = kafka.BootstrapServers;
        builder.Properties["Kafka:PartitionCount"] = "8";
        builder.Properties["Processing:CommitInterval"] = "00:00:00.500";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            builder.Properties[key] = value;
        }

        builder.AddSiloBuilderConfigurator<ProductSilo>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new AppCluster(cluster);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Cluster.StopAllSilosAsync();
        }
        finally
        {
            await Cluster.DisposeAsync();
        }
    }

    private sealed class ProductSilo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var config = siloBuilder.Configuration;
            siloBuilder.AddOrleansStreams(config);

            // The test host logs to files at Information: keep Orleans' per-placement resilience events out.
            siloBuilder.Services.AddLogging(logging => logging.AddFilter("Polly", LogLevel.Warning));
            if (config.GetValue("Test:FaultInjection", false))
            {
                siloBuilder.Services.AddSingleton<OrleansStreams.Grains.IPageViewHandler, DeadLetterQueue.FaultInjectingHandler>();
            }

            if (config["Test:ProviderTopic"] is { Length: > 0 } topic)
            {
                // A second Kafka provider on a topic of its own, for tests of the provider alone.
                siloBuilder.AddKafkaStreams(Provider.RecordingGrain.ProviderName, options =>
                {
                    options.BootstrapServers = config["Kafka:BootstrapServers"]!;
                    options.Topics = [topic];
                    options.MaxBatchSize = 100;
                });
            }
        }
    }
}
