using Microsoft.Extensions.Options;
using Orleans.Dashboard;
using OrleansStreams.Grains;
using OrleansStreams.Silo.Api;
using OrleansStreams.Silo.DevMode;
using OrleansStreams.Silo.Hosting;
using OrleansStreams.Streaming.Kafka.Embedded;

namespace OrleansStreams.Silo;

/// <summary>Builds the silo host: Orleans, the Kafka provider, the HTTP API and, in dev mode, the embedded Kafka.</summary>
public static partial class OrleansStreamsApp
{
    /// <param name="configure">Changes to the host before it is built (tests add settings and log sinks).</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        var config = builder.Configuration;

        EmbeddedKafkaCluster? embedded = null;
        if (SiloSettings.UsesEmbeddedKafka(config))
        {
            embedded = EmbeddedKafkaCluster.Start();
            var partitions = Math.Max(1, SiloSettings.PartitionCount(config));
            foreach (var topic in Topics.All)
            {
                embedded.CreateTopic(topic, partitions);
            }

            config["Kafka:BootstrapServers"] = embedded.BootstrapServers;
        }

        var generator = new GeneratorOptions();
        config.GetSection(GeneratorOptions.Section).Bind(generator);
        var generatorOn = generator.Enabled ?? embedded is not null;

        var dashboardInterval = SiloSettings.DashboardCounterInterval(config);
        builder.UseOrleans(silo => silo.UseConfiguredClustering(config).AddOrleansStreams(config)
            .AddDashboard(dashboard => dashboard.CounterUpdateIntervalMs = (int)dashboardInterval.TotalMilliseconds));
        builder.Services.AddOrleansStreamsHealthChecks();
        builder.Services.AddApiErrors();
        if (embedded is not null)
        {
            // Made by a factory, so that the container disposes it (see below).
            builder.Services.AddSingleton(_ => embedded);
        }
        builder.Services.AddHostedService<RunningTotalsReporter>();
        if (generatorOn)
        {
            var errors = GeneratorOptions.Validate(generator).ToList();
            if (errors.Count > 0)
            {
                embedded?.Dispose();
                throw new Orleans.Runtime.OrleansConfigurationException(string.Join(" ", errors));
            }

            builder.Services.AddSingleton(Options.Create(generator));
            builder.Services.AddHostedService<DemoTrafficGenerator>();
        }

        var app = builder.Build();
        if (embedded is not null)
        {
            // Resolved before anything that uses it: the container disposes in reverse order of creation, so the
            // embedded Kafka stops after the producers and consumers it serves, not while they still talk to it.
            app.Services.GetRequiredService<EmbeddedKafkaCluster>();
        }

        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseApiKey(config["Security:ApiKey"]);
        app.MapOrleansStreamsApi();
        app.MapOrleansStreamsObservability();
        app.MapOrleansDashboard("/dashboard");
        app.MapGet("/", () => Results.Redirect("/api/urls/%2Fhome"));

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("OrleansStreams");
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            if (embedded is not null)
            {
                LogEmbeddedKafka(logger, embedded.BootstrapServers);
            }

            if (SiloSettings.Storage(config) == StorageKind.Memory)
            {
                LogMemoryState(logger);
            }

            LogHttp(logger, string.Join(", ", app.Urls));
        });
        return app;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Embedded Kafka (dev mode) at {BootstrapServers}: produce to topics pageviews and clicks, e.g. with kcat -b {BootstrapServers} -t pageviews -P")]
    private static partial void LogEmbeddedKafka(ILogger logger, string bootstrapServers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GRAIN STATE IS IN MEMORY: totals and offsets are lost when this silo stops. Set Storage:Provider=AzureTable for durable state.")]
    private static partial void LogMemoryState(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "HTTP API at {Urls}, e.g. GET /api/urls/%2Fhome")]
    private static partial void LogHttp(ILogger logger, string urls);
}
