using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Providers.Streams.Common;
using Orleans.Streams;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Tests.Provider;

/// <summary>
/// A rewound partition's records go into the same stream cache as the records read before the rewind. These
/// tests drive Orleans' cache the way its pulling agent does: add what was read, refresh an idle cursor at the
/// first new token, move the cursor.
/// </summary>
public sealed class RewindCacheTests
{
    private static readonly Orleans.Runtime.StreamId Stream = KafkaQueueMapper.StreamFor("pageviews", 0);

    [Fact]
    public void records_read_again_after_a_rewind_are_delivered_even_while_the_cache_holds_later_offsets()
    {
        IQueueCache cache = new SimpleQueueCache(cacheSize: 100, NullLogger.Instance);
        var read = new List<IBatchContainer> { Batch(generation: 0, from: 10, count: 10), Batch(generation: 0, from: 20, count: 10) };
        cache.AddToCache(read);
        var cursor = cache.TryGetCacheCursor(Stream, read[0].SequenceToken).Cursor!;
        Assert.Equal([10L, 20L], Drain(cursor));

        // Rewound to offset 5: the cache still holds offsets 10..29 when 5..29 arrive again.
        var reread = new List<IBatchContainer> { Batch(generation: 1, from: 5, count: 10), Batch(generation: 1, from: 15, count: 15) };
        cache.AddToCache(reread);
        cursor.Refresh(reread[0].SequenceToken);

        Assert.Equal([5L, 15L], Drain(cursor));
    }

    [Fact]
    public void a_token_of_a_later_rewind_generation_is_newer_whatever_its_offset()
    {
        var before = new KafkaSequenceToken(partition: 0, offset: 900, rewindGeneration: 2);
        var after = new KafkaSequenceToken(partition: 0, offset: 0, rewindGeneration: 3);

        Assert.True(after.Newer(before));
        Assert.True(new KafkaSequenceToken(0, 901, 2).Newer(before));
        Assert.NotEqual(new KafkaSequenceToken(0, 900, 3), before);
        Assert.Equal(new KafkaSequenceToken(0, 900, 2), before);
    }

    private static List<long> Drain(IQueueCacheCursor cursor)
    {
        var firstOffsets = new List<long>();
        while (cursor.MoveNextWithResult().Kind == QueueCacheCursorMoveResultKind.Success)
        {
            firstOffsets.Add(((KafkaBatchContainer)cursor.GetCurrent(out _)!).Records[0].Offset);
        }

        return firstOffsets;
    }

    private static KafkaBatchContainer Batch(int generation, long from, int count) =>
        new(Stream, [.. Enumerable.Range(0, count).Select(i => new KafkaRecord("pageviews", 0, from + i, null, [1], 0))], generation);
}
