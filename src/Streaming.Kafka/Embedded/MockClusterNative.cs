using System.Runtime.InteropServices;

namespace OrleansStreams.Streaming.Kafka.Embedded;

/// <summary>librdkafka's mock-cluster C API, bound to the very library file Confluent.Kafka loaded (<see cref="Librdkafka"/>).</summary>
internal static unsafe class MockClusterNative
{
    private static readonly Lazy<Api> Bound = new(Bind);

    public static Api Functions => Bound.Value;

    internal sealed class Api
    {
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
        if (Librdkafka.Handle == 0)
        {
            throw new InvalidOperationException("Could not find the librdkafka library Confluent.Kafka loaded; the embedded Kafka needs it.");
        }

        return new Api
        {
            ConfNew = (delegate* unmanaged<nint>)Librdkafka.Export("rd_kafka_conf_new"),
            ConfSet = (delegate* unmanaged<nint, byte*, byte*, byte*, nuint, int>)Librdkafka.Export("rd_kafka_conf_set"),
            New = (delegate* unmanaged<int, nint, byte*, nuint, nint>)Librdkafka.Export("rd_kafka_new"),
            Destroy = (delegate* unmanaged<nint, void>)Librdkafka.Export("rd_kafka_destroy"),
            ClusterNew = (delegate* unmanaged<nint, int, nint>)Librdkafka.Export("rd_kafka_mock_cluster_new"),
            ClusterDestroy = (delegate* unmanaged<nint, void>)Librdkafka.Export("rd_kafka_mock_cluster_destroy"),
            ClusterBootstraps = (delegate* unmanaged<nint, byte*>)Librdkafka.Export("rd_kafka_mock_cluster_bootstraps"),
            TopicCreate = (delegate* unmanaged<nint, byte*, int, int, int>)Librdkafka.Export("rd_kafka_mock_topic_create"),
            BrokerSetDown = (delegate* unmanaged<nint, int, int>)Librdkafka.Export("rd_kafka_mock_broker_set_down"),
            BrokerSetUp = (delegate* unmanaged<nint, int, int>)Librdkafka.Export("rd_kafka_mock_broker_set_up"),
        };
    }
}
