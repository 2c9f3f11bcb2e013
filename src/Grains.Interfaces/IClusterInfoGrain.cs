using Orleans;

namespace OrleansStreams.Grains;

/// <summary>What a client needs to know about the cluster's Kafka: where it is and which partitions there are.</summary>
[Alias("OrleansStreams.IClusterInfoGrain")]
public interface IClusterInfoGrain : IGrainWithIntegerKey
{
    [Alias("GetKafka")]
    Task<KafkaInfo> GetKafkaAsync();
}

[GenerateSerializer, Immutable, Alias("OrleansStreams.KafkaInfo")]
public sealed record KafkaInfo([property: Id(0)] string BootstrapServers, [property: Id(1)] TopicInfo[] Topics);

[GenerateSerializer, Immutable, Alias("OrleansStreams.TopicInfo")]
public sealed record TopicInfo([property: Id(0)] string Topic, [property: Id(1)] int Partitions);
