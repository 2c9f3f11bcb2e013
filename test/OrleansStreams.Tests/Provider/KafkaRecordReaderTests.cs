using System.Text;
using Confluent.Kafka;
using OrleansStreams.Streaming.Kafka;
using OrleansStreams.Tests.Infrastructure;

namespace OrleansStreams.Tests.Provider;

/// <summary>The provider's reader of records, straight from librdkafka, against what Confluent's consumer reads.</summary>
public sealed class KafkaRecordReaderTests
{
    private const string Topic = "reader-fields";

    [Fact]
    public async Task every_field_of_every_record_reads_as_confluents_consumer_reads_it()
    {
        using var kafka = TestKafka.Start(extraTopics: Topic);
        var produced = new[]
        {
            new Message<byte[]?, byte[]?>
            {
                Key = "user-1"u8.ToArray(),
                Value = "{\"user_id\":\"user-1\"}"u8.ToArray(),
                Timestamp = new Timestamp(1_700_000_000_123, TimestampType.CreateTime),
                Headers = new Headers { { "routes", "url,user"u8.ToArray() }, { "empty", [] }, { "routes", "user"u8.ToArray() } },
            },
            new Message<byte[]?, byte[]?> { Key = null, Value = null, Timestamp = new Timestamp(1_700_000_000_456, TimestampType.CreateTime) },
            new Message<byte[]?, byte[]?> { Key = [], Value = [0xff, 0x00, 0xfe], Timestamp = new Timestamp(1_700_000_000_789, TimestampType.CreateTime) },
        };
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            foreach (var message in produced)
            {
                await producer.ProduceAsync(new TopicPartition(Topic, 2), message);
            }
        }

        var options = new KafkaStreamOptions { BootstrapServers = kafka.BootstrapServers, ConsumerGroupId = "reader-test" };
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(KafkaClientConfigs.Consumer(options)).Build();
        consumer.Assign(new TopicPartitionOffset(Topic, 2, Offset.Beginning));
        using var reader = KafkaRecordReader.For(consumer);
        Assert.NotNull(reader);
        var records = new List<KafkaRecord>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (records.Count < produced.Length && DateTime.UtcNow < deadline)
        {
            if (reader.TryRead(Topic, fetchedAtMs: 42, out var record, out var error))
            {
                Assert.Null(error);
                records.Add(record!);
            }
            else
            {
                await Task.Delay(10);
            }
        }

        using var confluent = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = "reader-test-confluent" }).Build();
        confluent.Assign(new TopicPartitionOffset(Topic, 2, Offset.Beginning));
        var expected = Enumerable.Range(0, produced.Length).Select(_ => confluent.Consume(TimeSpan.FromSeconds(30))).ToList();

        Assert.Equal(produced.Length, records.Count);
        for (var i = 0; i < produced.Length; i++)
        {
            var (record, result) = (records[i], expected[i]);
            Assert.Equal((Topic, 2, result.Offset.Value), (record.Topic, record.Partition, record.Offset));
            Assert.Equal(result.Message.Key, record.Key);
            Assert.Equal(result.Message.Value, record.Value);
            Assert.Equal(result.Message.Timestamp.UnixTimestampMs, record.TimestampMs);
            Assert.Equal(
                result.Message.Headers?.Select(h => (h.Key, Hex(h.GetValueBytes()))) ?? [],
                record.Headers?.Select(h => (h.Name, Hex(h.Value))) ?? []);
            Assert.Equal(42, record.FetchedAtMs);
        }

        // What the fields are, not only that both readers agree on them.
        Assert.Equal("user", Encoding.UTF8.GetString(records[0].GetHeader("routes")!));
        Assert.Equal(1_700_000_000_123, records[0].TimestampMs);
        Assert.Null(records[1].Key);
        Assert.Null(records[1].Value);
        Assert.Null(records[1].Headers);
        Assert.Equal([0xff, 0x00, 0xfe], records[2].Value);
        Assert.Empty(records[2].Key!);
    }

    private static string Hex(byte[]? bytes) => bytes is null ? "null" : Convert.ToHexString(bytes);

    [Fact]
    public void nothing_ready_reads_as_no_record_and_no_error()
    {
        using var kafka = TestKafka.Start(extraTopics: Topic);
        var options = new KafkaStreamOptions { BootstrapServers = kafka.BootstrapServers, ConsumerGroupId = "reader-test-empty" };
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(KafkaClientConfigs.Consumer(options)).Build();
        consumer.Assign(new TopicPartitionOffset(Topic, 0, Offset.Beginning));
        using var reader = KafkaRecordReader.For(consumer)!;

        Assert.False(reader.TryRead(Topic, 0, out var record, out var error));
        Assert.Null(record);
        Assert.Null(error);
    }
}
