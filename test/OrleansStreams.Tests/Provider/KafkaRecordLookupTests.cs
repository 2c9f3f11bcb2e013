using Confluent.Kafka;
using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka;
using OrleansStreams.Tests.Infrastructure;

namespace OrleansStreams.Tests.Provider;

/// <summary>Reading one record again by its position, against the embedded Kafka.</summary>
public sealed class KafkaRecordLookupTests
{
    [Fact]
    public async Task a_record_is_read_again_whole_by_its_offset()
    {
        using var kafka = TestKafka.Start();
        var options = new KafkaStreamOptions { BootstrapServers = kafka.BootstrapServers };
        using (var output = new KafkaOutput(options))
        {
            for (var i = 0; i < 3; i++)
            {
                await output.ProduceAsync(new TopicPartition(Topics.PageViews, 2), [(byte)i], [(byte)(10 + i), 0xFF], [new KafkaHeader("h", [(byte)(20 + i)])]);
            }
        }

        var record = (await new KafkaRecordLookup(options).ReadAsync(Topics.PageViews, 2, [1])).GetValueOrDefault(1);

        Assert.NotNull(record);
        Assert.Equal((Topics.PageViews, 2, 1L), (record.Topic, record.Partition, record.Offset));
        Assert.Equal([1], record.Key);
        Assert.Equal([11, 0xFF], record.Value);
        Assert.Equal([21], record.GetHeader("h"));
    }
}
