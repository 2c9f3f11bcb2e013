using System.Runtime.InteropServices;
using System.Text;

namespace OrleansStreams.Streaming.Kafka.Embedded;

/// <summary>
/// An in-process Kafka cluster (librdkafka's mock cluster) that speaks the real wire protocol on loopback TCP,
/// so any Kafka client, in this process or another, can use it. For dev mode and tests.
/// </summary>
public sealed unsafe class EmbeddedKafkaCluster : IDisposable
{
    private const int ProducerType = 0;
    private readonly Lock _lock = new();
    private nint _client;
    private nint _cluster;

    private EmbeddedKafkaCluster(nint client, nint cluster, int brokerCount)
    {
        _client = client;
        _cluster = cluster;
        BrokerCount = brokerCount;
        BootstrapServers = Marshal.PtrToStringUTF8((nint)MockClusterNative.Functions.ClusterBootstraps(cluster))
            ?? throw new InvalidOperationException("The embedded Kafka reported no bootstrap address.");
    }

    /// <summary>The cluster's bootstrap servers, e.g. <c>127.0.0.1:39017</c>.</summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers; their ids are 1..BrokerCount.</summary>
    public int BrokerCount { get; }

    /// <summary>Starts a cluster of <paramref name="brokers"/> brokers on loopback ports.</summary>
    public static EmbeddedKafkaCluster Start(int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        var api = MockClusterNative.Functions;
        var conf = api.ConfNew();
        var errors = stackalloc byte[512];
        Set(api, conf, "log_level", "3", errors);
        var client = api.New(ProducerType, conf, errors, 512);
        if (client == 0)
        {
            throw new InvalidOperationException($"Could not create the embedded Kafka's handle: {Marshal.PtrToStringUTF8((nint)errors)}");
        }

        var cluster = api.ClusterNew(client, brokers);
        if (cluster == 0)
        {
            api.Destroy(client);
            throw new InvalidOperationException("Could not start the embedded Kafka cluster.");
        }

        return new EmbeddedKafkaCluster(client, cluster, brokers);
    }

    /// <summary>Creates a topic. The embedded cluster has no CreateTopics API, so topics are made here.</summary>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        lock (_lock)
        {
            var cluster = Cluster;
            var name = Encoding.UTF8.GetBytes(topic + "\0");
            fixed (byte* namePtr = name)
            {
                var error = MockClusterNative.Functions.TopicCreate(cluster, namePtr, partitions, Math.Min(replicationFactor, BrokerCount));
                if (error != 0)
                {
                    throw new InvalidOperationException($"The embedded Kafka could not create topic '{topic}' (error {error}).");
                }
            }
        }
    }

    /// <summary>Takes a broker down: its connections close and it refuses new ones until <see cref="SetBrokerUp"/>.</summary>
    public void SetBrokerDown(int brokerId) => Check(MockClusterNative.Functions.BrokerSetDown(Cluster, brokerId), "take down", brokerId);

    /// <summary>Brings a broker back up.</summary>
    public void SetBrokerUp(int brokerId) => Check(MockClusterNative.Functions.BrokerSetUp(Cluster, brokerId), "bring up", brokerId);

    public void Dispose()
    {
        lock (_lock)
        {
            if (_cluster != 0)
            {
                MockClusterNative.Functions.ClusterDestroy(_cluster);
                _cluster = 0;
            }

            if (_client != 0)
            {
                MockClusterNative.Functions.Destroy(_client);
                _client = 0;
            }
        }
    }

    private nint Cluster => _cluster != 0 ? _cluster : throw new ObjectDisposedException(nameof(EmbeddedKafkaCluster));

    private static void Check(int error, string action, int brokerId)
    {
        if (error != 0)
        {
            throw new InvalidOperationException($"The embedded Kafka could not {action} broker {brokerId} (error {error}).");
        }
    }

    private static void Set(MockClusterNative.Api api, nint conf, string key, string value, byte* errors)
    {
        var keyBytes = Encoding.UTF8.GetBytes(key + "\0");
        var valueBytes = Encoding.UTF8.GetBytes(value + "\0");
        fixed (byte* k = keyBytes)
        fixed (byte* v = valueBytes)
        {
            if (api.ConfSet(conf, k, v, errors, 512) != 0)
            {
                throw new InvalidOperationException($"Embedded Kafka setting {key}={value} was refused: {Marshal.PtrToStringUTF8((nint)errors)}");
            }
        }
    }
}
