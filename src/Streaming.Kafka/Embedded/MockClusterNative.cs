using System.Runtime.InteropServices;

namespace OrleansStreams.Streaming.Kafka.Embedded;

/// <summary>
/// librdkafka's mock-cluster C API, bound to the very library file Confluent.Kafka loaded (which file that is
/// depends on the platform: on Debian 12 the default build lacks libsasl2 and Confluent falls back to another).
/// </summary>
internal static unsafe class MockClusterNative
{
    private static readonly Lazy<Api> Bound = new(Bind);

    public static Api Functions => Bound.Value;

    internal sealed class Api
    {
        public required string LibraryPath { get; init; }
        public required delegate* unmanaged<nint> ConfNew { get; init; }
        public required delegate* unmanaged<nint, byte*, byte*, byte*, nuint, int> ConfSet { get; init; }
        public required delegate* unmanaged<int, nint, byte*, nuint, nint> New { get; init; }
        public required delegate* unmanaged<nint, void> Destroy { get; init; }
        public required delegate* unmanaged<nint, int, nint> ClusterNew { get; init; }
        public required delegate* unmanaged<nint, void> ClusterDestroy { get; init; }
        public required delegate* unmanaged<nint, byte*> ClusterBootstraps { get; init; }
        public required delegate* unmanaged<nint, byte*, int, int, int> TopicCreate { get; init; }
        public required delegate* unmanaged<nint, int, int> BrokerSetDown { get; init; }
        public required delegate* unmanaged<nint, int, int> BrokerSetUp { get; init; }
    }

    private static Api Bind()
    {
        Confluent.Kafka.Library.Load();
        var path = FindLoadedLibrary()
            ?? throw new InvalidOperationException("Could not find the librdkafka library Confluent.Kafka loaded; the embedded Kafka needs it.");
        var handle = NativeLibrary.Load(path);
        return new Api
        {
            LibraryPath = path,
            ConfNew = (delegate* unmanaged<nint>)NativeLibrary.GetExport(handle, "rd_kafka_conf_new"),
            ConfSet = (delegate* unmanaged<nint, byte*, byte*, byte*, nuint, int>)NativeLibrary.GetExport(handle, "rd_kafka_conf_set"),
            New = (delegate* unmanaged<int, nint, byte*, nuint, nint>)NativeLibrary.GetExport(handle, "rd_kafka_new"),
            Destroy = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(handle, "rd_kafka_destroy"),
            ClusterNew = (delegate* unmanaged<nint, int, nint>)NativeLibrary.GetExport(handle, "rd_kafka_mock_cluster_new"),
            ClusterDestroy = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(handle, "rd_kafka_mock_cluster_destroy"),
            ClusterBootstraps = (delegate* unmanaged<nint, byte*>)NativeLibrary.GetExport(handle, "rd_kafka_mock_cluster_bootstraps"),
            TopicCreate = (delegate* unmanaged<nint, byte*, int, int, int>)NativeLibrary.GetExport(handle, "rd_kafka_mock_topic_create"),
            BrokerSetDown = (delegate* unmanaged<nint, int, int>)NativeLibrary.GetExport(handle, "rd_kafka_mock_broker_set_down"),
            BrokerSetUp = (delegate* unmanaged<nint, int, int>)NativeLibrary.GetExport(handle, "rd_kafka_mock_broker_set_up"),
        };
    }

    /// <summary>The path of the librdkafka file mapped into this process.</summary>
    private static string? FindLoadedLibrary()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps))
        {
            return null;
        }

        foreach (var line in File.ReadLines(maps))
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
            {
                continue;
            }

            var path = line[slash..].Trim();
            if (Path.GetFileName(path).Contains("librdkafka", StringComparison.Ordinal) && path.EndsWith(".so", StringComparison.Ordinal))
            {
                return path;
            }
        }

        return null;
    }
}
