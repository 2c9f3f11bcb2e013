using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Silo.Hosting;

/// <summary>Where grain state and checkpoints live (configuration section <c>Storage</c>).</summary>
public enum StorageKind
{
    Memory,
    AzureTable,
}

/// <summary>How silos find each other (configuration section <c>Clustering</c>).</summary>
public enum ClusteringKind
{
    Localhost,
    AzureTable,
}

/// <summary>Reads the product's settings from configuration; a value that cannot be read names its key.</summary>
public static class SiloSettings
{
    public static StorageKind Storage(IConfiguration config) => Enum(config, "Storage:Provider", StorageKind.Memory);

    public static ClusteringKind Clustering(IConfiguration config) => Enum(config, "Clustering:Provider", ClusteringKind.Localhost);

    public static string StorageConnectionString(IConfiguration config) =>
        config["Storage:ConnectionString"] is { Length: > 0 } value ? value : "UseDevelopmentStorage=true";

    /// <summary>
    /// Connections to the table service per silo for grain state and checkpoints (<c>Storage:MaxConnections</c>).
    /// Requests beyond them wait in the silo: a table service sent thousands of writes at once answers them all
    /// late, and the SDK's timeouts and retries make it worse. State transactions wait before their writes are
    /// taken, so that the writes queued meanwhile join them.
    /// </summary>
    public static int StorageMaxConnections(IConfiguration config) => AtLeastOne(config, "Storage:MaxConnections", 16);

    public static string ClusteringConnectionString(IConfiguration config) =>
        config["Clustering:ConnectionString"] is { Length: > 0 } value ? value : StorageConnectionString(config);

    /// <summary>True when no Kafka is configured: dev mode starts the embedded one.</summary>
    public static bool UsesEmbeddedKafka(IConfiguration config) => string.IsNullOrWhiteSpace(config["Kafka:BootstrapServers"]);

    /// <summary>
    /// How many of a partition's record batches (each up to <c>Kafka:MaxBatchSize</c> records) one delivery to its
    /// dispatcher may carry (<c>Kafka:BatchesPerDelivery</c>). While a partition catches up, larger deliveries
    /// mean fewer, larger grain calls per record.
    /// </summary>
    public static int BatchesPerDelivery(IConfiguration config) => AtLeastOne(config, "Kafka:BatchesPerDelivery", 16);

    /// <summary>
    /// How long a partition whose fetched records are all read waits before it is read again
    /// (<c>Kafka:IdlePollInterval</c>); while records are there they are read without waiting.
    /// </summary>
    public static TimeSpan IdlePollInterval(IConfiguration config)
    {
        const string key = "Kafka:IdlePollInterval";
        var value = config.GetValue(key, SiloKafkaStreamConfigurator.DefaultIdlePollInterval);
        return value > TimeSpan.Zero ? value : throw new Orleans.Runtime.OrleansConfigurationException($"Setting {key} must be above zero (was {value}).");
    }

    public static int PartitionCount(IConfiguration config) => config.GetValue("Kafka:PartitionCount", 8);

    /// <summary>
    /// How often the dashboard samples its counters (<c>Dashboard:CounterUpdateInterval</c>, at least a second, as the
    /// dashboard requires). Each sample walks every activation of the silo: with hundreds of thousands of grains a
    /// longer interval saves a few percent of the CPU.
    /// </summary>
    public static TimeSpan DashboardCounterInterval(IConfiguration config)
    {
        const string key = "Dashboard:CounterUpdateInterval";
        var value = config.GetValue(key, TimeSpan.FromSeconds(1));
        return value >= TimeSpan.FromSeconds(1) ? value : throw new Orleans.Runtime.OrleansConfigurationException($"Setting {key} must be at least 00:00:01 (was {value}).");
    }

    /// <summary>Binds section <c>Kafka</c>; <c>Kafka:Producer</c> and <c>Kafka:Consumer</c> take librdkafka property names.</summary>
    public static void BindKafka(IConfiguration config, KafkaStreamOptions options)
    {
        var kafka = config.GetSection("Kafka");
        options.BootstrapServers = kafka["BootstrapServers"] ?? string.Empty;
        options.PartitionCount = PartitionCount(config);
        options.ReplicationFactor = kafka.GetValue(nameof(KafkaStreamOptions.ReplicationFactor), options.ReplicationFactor);
        options.CreateTopics = kafka.GetValue(nameof(KafkaStreamOptions.CreateTopics), options.CreateTopics);
        options.MaxBatchSize = kafka.GetValue(nameof(KafkaStreamOptions.MaxBatchSize), options.MaxBatchSize);
        options.CacheSize = kafka.GetValue(nameof(KafkaStreamOptions.CacheSize), options.CacheSize);
        options.ConsumerGroupId = kafka[nameof(KafkaStreamOptions.ConsumerGroupId)] ?? options.ConsumerGroupId;
        options.Topics = [.. Topics.Inputs];
        options.OutputTopics = [.. Topics.Outputs];
        CopyClientSettings(kafka.GetSection("Producer"), options.Producer);
        CopyClientSettings(kafka.GetSection("Consumer"), options.Consumer);
    }

    public static ProcessingOptions BindProcessing(IConfiguration config, ProcessingOptions options)
    {
        config.GetSection(ProcessingOptions.Section).Bind(options);
        return options;
    }

    private static void CopyClientSettings(IConfigurationSection section, ClientConfig target)
    {
        foreach (var (key, value) in section.AsEnumerable(makePathsRelative: true))
        {
            if (value is not null)
            {
                target.Set(key, value);
            }
        }
    }

    private static int AtLeastOne(IConfiguration config, string key, int fallback)
    {
        var value = config.GetValue(key, fallback);
        return value >= 1 ? value : throw new Orleans.Runtime.OrleansConfigurationException($"Setting {key} must be at least 1 (was {value}).");
    }

    private static T Enum<T>(IConfiguration config, string key, T fallback)
        where T : struct, System.Enum
    {
        var value = config[key];
        if (string.IsNullOrWhiteSpace(value))
        {
            return fallback;
        }

        return System.Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && System.Enum.IsDefined(parsed)
            ? parsed
            : throw new Orleans.Runtime.OrleansConfigurationException(
                $"Setting {key} is '{value}'; it must be one of: {string.Join(", ", System.Enum.GetNames<T>())}.");
    }
}
