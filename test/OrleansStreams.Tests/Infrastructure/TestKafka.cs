using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka.Embedded;

namespace OrleansStreams.Tests.Infrastructure;

/// <summary>An embedded Kafka of a test's own, with the product's topics (and any extra ones) created.</summary>
public static class TestKafka
{
    public const int Partitions = 8;

    public static EmbeddedKafkaCluster Start(int brokers = 1, params string[] extraTopics)
    {
        var kafka = EmbeddedKafkaCluster.Start(brokers);
        foreach (var topic in Topics.All.Concat(extraTopics))
        {
            kafka.CreateTopic(topic, Partitions);
        }

        return kafka;
    }
}
