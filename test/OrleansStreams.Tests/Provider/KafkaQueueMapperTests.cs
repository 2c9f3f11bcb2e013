using Orleans.Runtime;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Tests.Provider;

public sealed class KafkaQueueMapperTests
{
    private readonly KafkaQueueMapper _mapper = new("kafka", [("pageviews", 8), ("clicks", 4)]);

    [Fact]
    public void every_partition_has_its_own_queue()
    {
        var queues = _mapper.GetAllQueues().ToList();
        Assert.Equal(12, queues.Count);
        Assert.Equal(12, queues.Distinct().Count());
        Assert.Equal(12, queues.Select(_mapper.PartitionOf).Distinct().Count());
    }

    [Fact]
    public void a_partition_stream_maps_to_its_partition_queue()
    {
        for (var p = 0; p < 8; p++)
        {
            var queue = _mapper.GetQueueForStream(KafkaQueueMapper.StreamFor("pageviews", p));
            Assert.Equal(new Confluent.Kafka.TopicPartition("pageviews", p), _mapper.PartitionOf(queue));
        }
    }

    [Fact]
    public void streams_outside_the_topics_are_refused_with_a_clear_error()
    {
        Assert.Throws<ArgumentException>(() => _mapper.GetQueueForStream(KafkaQueueMapper.StreamFor("pageviews", 8)));
        Assert.Throws<ArgumentException>(() => _mapper.GetQueueForStream(StreamId.Create("pageviews", "user-1")));
        Assert.Throws<ArgumentException>(() => _mapper.GetQueueForStream(KafkaQueueMapper.StreamFor("other", 0)));
    }

    [Fact]
    public void queues_are_spread_over_the_whole_ring()
    {
        var hashes = _mapper.GetAllQueues().Select(q => q.GetUniformHashCode()).Order().ToList();
        Assert.Equal(0u, hashes[0]);
        Assert.True(hashes[^1] > uint.MaxValue / 12 * 10);
    }
}
