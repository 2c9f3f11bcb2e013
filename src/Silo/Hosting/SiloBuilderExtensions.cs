using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using OrleansStreams.Grains;
using OrleansStreams.Grains.Dispatch;
using OrleansStreams.Silo.Storage;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Silo.Hosting;

public static class SiloBuilderExtensions
{
    /// <summary>
    /// Everything a silo of the product needs but clustering: grain storage, the Kafka stream provider and the
    /// processing settings, all read from <paramref name="config"/>.
    /// </summary>
    public static ISiloBuilder AddOrleansStreams(this ISiloBuilder silo, IConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(config);

        var maxConnections = SiloSettings.StorageMaxConnections(config);
        switch (SiloSettings.Storage(config))
        {
            case StorageKind.AzureTable:
                var connectionString = SiloSettings.StorageConnectionString(config);

                // One storage, one connection pool (the limit is per silo) and one set of table partitions for the
                // grains' state and the partitions' checkpoints: their writes share transactions.
                var transport = new HttpClientTransport(new SocketsHttpHandler { MaxConnectionsPerServer = maxConnections });
                var table = StateTable(connectionString, transport);
                silo.Services.AddSingleton(sp => new TableBatchGrainStorage(
                    table,
                    sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId,
                    TableBatchGrainStorage.DefaultPartitions,
                    maxConnections,
                    new OrleansGrainStorageSerializer(sp.GetRequiredService<Serializer>()),
                    sp.GetRequiredService<IActivatorProvider>(),
                    sp.GetRequiredService<ILogger<TableBatchGrainStorage>>()));
                silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<TableBatchGrainStorage>());
                foreach (var name in new[] { GrainStorage.Name, KafkaCheckpoints.StorageName })
                {
                    // As IGrainStorage: registered as a lifecycle participant once above, not once per name.
                    silo.Services.AddGrainStorage<IGrainStorage>(name, (sp, _) => sp.GetRequiredService<TableBatchGrainStorage>());
                }

                break;
            default:
                silo.AddMemoryGrainStorage(GrainStorage.Name, options => options.NumStorageGrains = 64);
                silo.Services.AddSingleton<VolatileGrainState>();
                silo.AddMemoryGrainStorage(KafkaCheckpoints.StorageName);
                BinaryState(silo, GrainStorage.Name);
                BinaryState(silo, KafkaCheckpoints.StorageName);
                break;
        }

        var batchesPerDelivery = SiloSettings.BatchesPerDelivery(config);
        var idlePollInterval = SiloSettings.IdlePollInterval(config);
        silo.AddKafkaStreams(Topics.StreamProvider, kafka => kafka
            .ConfigureKafka(ob => ob.Configure(options => SiloSettings.BindKafka(config, options)))
            .ConfigurePullingAgent(ob => ob.Configure(options =>
            {
                options.BatchContainerBatchSize = batchesPerDelivery;
                options.GetQueueMsgsTimerPeriod = idlePollInterval;
            })));

        silo.Services.AddOptions<ProcessingOptions>().Configure(options => SiloSettings.BindProcessing(config, options));
        silo.Services.AddOptions<GrainCollectionOptions>().Configure<Microsoft.Extensions.Options.IOptions<ProcessingOptions>>(
            (collection, processing) => GrainLifetimes.Configure(collection, processing.Value));
        silo.Services.AddTransient<IConfigurationValidator>(sp => new ErrorListValidator(
            ProcessingOptions.Validate(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<ProcessingOptions>>().Value)));
        silo.Services.AddKafkaOutput(Topics.StreamProvider);
        silo.Services.AddSingleton<WatermarkCache>();
        silo.Services.AddHostedService(sp => sp.GetRequiredService<WatermarkCache>());
        silo.Services.AddSingleton(TimeProvider.System);
        silo.Services.AddSingleton<JoinBufferGauge>();
        silo.Services.AddSingleton<ConversionCourier>();
        silo.Services.AddSingleton<JoinExpiry>();
        silo.Services.AddSingleton<SinkCalls>();
        silo.Services.AddHostedService(sp => sp.GetRequiredService<JoinExpiry>());
        silo.Services.AddSingleton(sp => CreateMetrics(sp.GetRequiredService<KafkaProviderStats>(), sp.GetRequiredService<JoinBufferGauge>()));
        silo.Services.AddHostedService<OrleansMeterExporter>();
        silo.Services.AddOptions<JoinOptions>().Configure(options => config.GetSection(JoinOptions.Section).Bind(options));
        silo.Services.AddTransient<IConfigurationValidator>(sp => new ErrorListValidator(
            JoinOptions.Validate(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<JoinOptions>>().Value)));
        silo.Services.AddOptions<WindowOptions>().Configure(options => config.GetSection(WindowOptions.Section).Bind(options));
        silo.Services.AddTransient<IConfigurationValidator>(sp => new ErrorListValidator(
            WindowOptions.Validate(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<WindowOptions>>().Value)));
        return silo;
    }

    /// <summary>Clustering as configured: one silo on localhost (the default) or Azure Table.</summary>
    public static ISiloBuilder UseConfiguredClustering(this ISiloBuilder silo, IConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(config);
        var siloPort = config.GetValue("Orleans:SiloPort", EndpointOptions.DEFAULT_SILO_PORT);
        var gatewayPort = config.GetValue("Orleans:GatewayPort", EndpointOptions.DEFAULT_GATEWAY_PORT);
        var clusterId = config["Orleans:ClusterId"] ?? "orleansstreams";
        var serviceId = config["Orleans:ServiceId"] ?? "orleansstreams";

        switch (SiloSettings.Clustering(config))
        {
            case ClusteringKind.AzureTable:
                var connectionString = SiloSettings.ClusteringConnectionString(config);
                silo.UseAzureStorageClustering(options => options.TableServiceClient = new TableServiceClient(connectionString));
                // Advertise the host address; listen on every interface so local clients reach the gateway too.
                silo.ConfigureEndpoints(siloPort, gatewayPort, listenOnAnyHostAddress: true);
                silo.Configure<ClusterOptions>(options =>
                {
                    options.ClusterId = clusterId;
                    options.ServiceId = serviceId;
                });
                break;
            default:
                silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: serviceId, clusterId: clusterId);
                break;
        }

        if (config.GetValue("Orleans:KubernetesHosting", false))
        {
            // Silo name, endpoints and cluster identity from the pod; pods of silos that died are deleted.
            silo.UseKubernetesHosting();
        }

        return silo;
    }

    private static TableClient StateTable(string connectionString, HttpClientTransport transport)
    {
        try
        {
            return new TableServiceClient(connectionString, new TableClientOptions { Transport = transport }).GetTableClient(TableBatchGrainStorage.TableName);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new OrleansConfigurationException($"Storage:ConnectionString is not an Azure Storage connection string: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// In-memory grain state in Orleans' binary format (the table storage writes that format itself) instead of the
    /// default Newtonsoft JSON with type names: sinks are written every commit interval, and JSON serialization was
    /// the pipeline's largest cost.
    /// </summary>
    private static void BinaryState(ISiloBuilder silo, string name) =>
        silo.Services.AddOptions<MemoryGrainStorageOptions>(name).Configure<Serializer>((options, serializer) => options.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer));

    private static PipelineMetrics CreateMetrics(KafkaProviderStats kafka, JoinBufferGauge join)
    {
        var metrics = new PipelineMetrics();
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            foreach (var (partition, position) in kafka.Partitions)
            {
                if (position.Lag is { } lag)
                {
                    metrics.ConsumerLag.WithLabels(partition.Topic, partition.Partition.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)).Set(lag);
                }
            }

            metrics.JoinBuffered.Set(join.Value);
            metrics.DeliveryFailures.IncTo(kafka.DeliveryFailures);
        });
        return metrics;
    }

    /// <summary>Stops startup with the first problem an options class reports; each names its setting.</summary>
    private sealed class ErrorListValidator(IEnumerable<string> errors) : IConfigurationValidator
    {
        public void ValidateConfiguration()
        {
            foreach (var error in errors)
            {
                throw new OrleansConfigurationException(error);
            }
        }
    }
}
