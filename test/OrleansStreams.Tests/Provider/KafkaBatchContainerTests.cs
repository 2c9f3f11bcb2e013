using System.Text;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Tests.Provider;

/// <summary>What each kind of subscriber sees of one run of records.</summary>
public sealed class KafkaBatchContainerTests
{
    private static readonly KafkaBatchContainer Batch = new(
        KafkaQueueMapper.StreamFor("pageviews", 3),
        readFrom: 40,
        [Record(40, "a"), Record(41, "b"), Record(42, "c")],
        rewindGeneration: 2);

    [Fact]
    public void a_subscriber_of_batch_containers_gets_the_run_whole_as_one_item_with_the_token_of_its_last_record()
    {
        var events = Batch.GetEvents<KafkaBatchContainer>().ToList();

        var (run, token) = Assert.Single(events);
        Assert.Same(Batch, run);
        Assert.Equal([40L, 41L, 42L], run.Records.Select(r => r.Offset));
        Assert.Equal(new KafkaSequenceToken(3, 42, 2), token);
        Assert.Equal(Batch.SequenceToken, token);
    }

    [Fact]
    public void a_subscriber_of_records_gets_each_record_with_its_own_token()
    {
        var events = Batch.GetEvents<KafkaRecord>().ToList();

        Assert.Equal([40L, 41L, 42L], events.Select(e => e.Item1.Offset));
        Assert.Equal([new KafkaSequenceToken(3, 40, 2), new KafkaSequenceToken(3, 41, 2), new KafkaSequenceToken(3, 42, 2)], events.Select(e => e.Item2));
    }

    [Fact]
    public void a_subscriber_of_strings_gets_the_values()
    {
        Assert.Equal(["a", "b", "c"], Batch.GetEvents<string>().Select(e => e.Item1));
    }

    private static KafkaRecord Record(long offset, string value) =>
        new("pageviews", 3, offset, null, Encoding.UTF8.GetBytes(value), 0);
}
