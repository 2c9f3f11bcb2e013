using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Streams;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Tests.Provider;

/// <summary>
/// The provider's stream cache, driven the way Orleans' pulling agent drives it: add what was read, purge before
/// each read, check the pressure, refresh an idle cursor at the first new token, move the cursor.
/// </summary>
public sealed class KafkaQueueCacheTests
{
    private static readonly Orleans.Runtime.StreamId Stream = KafkaQueueMapper.StreamFor("pageviews", 0);
    private static readonly Orleans.Runtime.StreamId OtherStream = KafkaQueueMapper.StreamFor("clicks", 0);

    [Fact]
    public void records_read_again_after_a_rewind_are_delivered_even_while_the_cache_holds_later_offsets()
    {
        var cache = NewCache();
        var read = Add(cache, Batch(generation: 0, from: 10, count: 10), Batch(generation: 0, from: 20, count: 10));
        var cursor = cache.GetCacheCursor(Stream, read[0].SequenceToken);
        Assert.Equal([10L, 20L], Drain(cursor));

        // Rewound to offset 5: the cache still holds offsets 10..29 when 5..29 arrive again.
        var reread = Add(cache, Batch(generation: 1, from: 5, count: 10), Batch(generation: 1, from: 15, count: 15));
        cursor.Refresh(reread[0].SequenceToken);

        Assert.Equal([5L, 15L], Drain(cursor));
    }

    [Fact]
    public void a_consumer_handed_over_from_another_silo_gets_the_rest_of_a_batch_that_starts_before_its_token()
    {
        // The silo that died had delivered up to offset 3634 in batches cut where its reads ended. The silo taking
        // over reads again from the durable offset, 1824, and its first read brings everything up to 3759 in one batch.
        var deliveredElsewhere = Batch(0, 3500, 135);
        var cache = NewCache();
        Add(cache, Batch(0, 1824, 1936));

        var cursor = cache.GetCacheCursor(Stream, deliveredElsewhere.SequenceToken);

        // As the pulling agent does after a handshake: batches with a token at or before the consumer's count as
        // delivered, the first newer one is delivered.
        Assert.True(Next(cursor));
        var next = (KafkaBatchContainer)cursor.GetCurrent(out _)!;
        Assert.True(next.SequenceToken.Newer(deliveredElsewhere.SequenceToken));
        Assert.Equal(3759L, next.Records[^1].Offset);
    }

    [Fact]
    public void a_batch_counts_as_delivered_through_its_last_record()
    {
        var batch = Batch(generation: 2, from: 100, count: 50);

        Assert.Equal(Token(2, 149), batch.SequenceToken);
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

    [Fact]
    public void batches_a_cursor_has_not_passed_are_kept_and_those_every_cursor_passed_are_purged()
    {
        var cache = NewCache();
        Add(cache, Batch(0, 0, 10), Batch(0, 10, 10), Batch(0, 20, 10));
        var cursor = cache.GetCacheCursor(Stream, Token(0, 0));
        Assert.True(Next(cursor));
        Assert.True(Next(cursor));

        Assert.True(cache.TryPurgeFromCache(out var purged));
        Assert.Equal([0L, 10L], purged.Select(FirstOffset));
        Assert.Equal(1, cache.Size);

        // An idle cursor (its consumer busy elsewhere) keeps what it has not received.
        Assert.False(cache.TryPurgeFromCache(out _));
        Assert.Equal([20L], Drain(cursor));
        Assert.True(cache.TryPurgeFromCache(out purged));
        Assert.Equal([20L], purged.Select(FirstOffset));
        Assert.Equal(0, cache.Size);
    }

    [Fact]
    public void the_batches_of_the_delivery_in_flight_stay_for_the_agent_to_ask_for_again()
    {
        // The agent hands a consumer up to two batches per delivery here; when a delivery fails it opens a
        // cursor at the failed batch's token.
        var cache = NewCache(deliveryWindow: 2);
        var read = Add(cache, Batch(0, 0, 10), Batch(0, 10, 10), Batch(0, 20, 10));
        var cursor = cache.GetCacheCursor(Stream, read[0].SequenceToken);
        Assert.Equal([0L, 10L, 20L], Drain(cursor));

        Assert.True(cache.TryPurgeFromCache(out var purged));
        Assert.Equal([0L], purged.Select(FirstOffset));
        Assert.False(cache.IsUnderPressure());

        Assert.Equal([10L, 20L], Drain(cache.GetCacheCursor(Stream, read[1].SequenceToken)));
    }

    [Fact]
    public void a_full_cache_pauses_reading_until_its_consumer_catches_up()
    {
        var cache = NewCache(capacity: 20);
        var cursor = cache.GetCacheCursor(Stream, null);
        Assert.Equal(2, cache.GetMaxAddCount());
        // A read adds at most two batches: with 19 held, one more read could overflow.
        for (var i = 0; i < 19; i++)
        {
            Assert.False(cache.IsUnderPressure());
            Add(cache, Batch(0, i * 10, 10));
        }

        Assert.True(cache.IsUnderPressure());
        Assert.Equal(19, Drain(cursor).Count);
        Assert.True(cache.TryPurgeFromCache(out _));
        Assert.False(cache.IsUnderPressure());
    }

    [Fact]
    public void a_cursor_asked_for_a_purged_batch_starts_at_the_oldest_batch_held()
    {
        var cache = NewCache();
        Add(cache, Batch(0, 0, 10), Batch(0, 10, 10));
        Assert.True(cache.TryPurgeFromCache(out _));
        Add(cache, Batch(0, 20, 10), Batch(0, 30, 10));

        var cursor = cache.GetCacheCursor(Stream, Token(0, 5));

        // The consumer sees offset 20 where it expected 5: the gap it asks a rewind for.
        Assert.Equal([20L, 30L], Drain(cursor));
    }

    [Fact]
    public void an_idle_cursor_waiting_for_a_purged_token_takes_the_next_batches_when_they_arrive()
    {
        // The stall this cache exists for: a cursor opened at offset 2145 while the cache was empty, then offsets
        // from 2283 on arrive after 2145..2282 were purged. Orleans' own cache throws on every refresh from then on.
        var cache = NewCache();
        Add(cache, Batch(0, 2145, 138));
        Assert.True(cache.TryPurgeFromCache(out _));
        var cursor = cache.GetCacheCursor(Stream, Token(0, 2145));
        Assert.False(Next(cursor));

        var read = Add(cache, Batch(0, 2283, 100), Batch(0, 2383, 100));
        cursor.Refresh(read[0].SequenceToken);

        Assert.Equal([2283L, 2383L], Drain(cursor));
    }

    [Fact]
    public void a_cursor_waiting_for_a_later_token_skips_the_batches_read_before_it_and_lets_them_go()
    {
        var cache = NewCache();
        var cursor = cache.GetCacheCursor(Stream, Token(generation: 1, offset: 0));
        var read = Add(cache, Batch(0, 50, 10), Batch(0, 60, 10), Batch(1, 0, 10));
        cursor.Refresh(read[0].SequenceToken);

        Assert.True(cache.TryPurgeFromCache(out var purged));
        Assert.Equal([50L, 60L], purged.Select(FirstOffset));
        Assert.Equal([0L], Drain(cursor));
    }

    [Fact]
    public void a_cursor_takes_only_its_own_stream()
    {
        var cache = NewCache();
        Add(cache, Batch(0, 0, 10), Batch(0, 0, 10, OtherStream), Batch(0, 10, 10));

        Assert.Equal([0L, 10L], Drain(cache.GetCacheCursor(Stream, Token(0, 0))));
    }

    [Fact]
    public void start_positions_are_the_oldest_batch_held_the_newest_and_what_comes_next()
    {
        var cache = NewCache();
        Add(cache, Batch(0, 0, 10), Batch(0, 10, 10));
        var earliest = cache.TryGetCacheCursorAtPosition(Stream, StreamSubscriptionStartPosition.EarliestAvailable).Cursor!;
        var latest = cache.TryGetCacheCursorAtPosition(Stream, StreamSubscriptionStartPosition.Latest).Cursor!;
        var newest = cache.GetCacheCursor(Stream, null);
        Add(cache, Batch(0, 20, 10));

        Assert.Equal([0L, 10L, 20L], Drain(earliest));
        Assert.Equal([10L, 20L], Drain(newest));
        Assert.Equal([20L], Drain(latest));
    }

    [Fact]
    public void a_disposed_cursor_keeps_nothing()
    {
        var cache = NewCache();
        Add(cache, Batch(0, 0, 10));
        var cursor = cache.GetCacheCursor(Stream, Token(0, 0));
        Assert.False(cache.TryPurgeFromCache(out _));

        cursor.Dispose();

        Assert.True(cache.TryPurgeFromCache(out _));
        Assert.Equal(0, cache.Size);
    }

    private static KafkaQueueCache NewCache(int capacity = 100, int deliveryWindow = 0) =>
        new(QueueId.GetQueueId("pageviews", 0, 0), capacity, deliveryWindow, NullLogger.Instance);

    private static List<IBatchContainer> Add(KafkaQueueCache cache, params IBatchContainer[] batches)
    {
        var list = batches.ToList();
        cache.AddToCache(list);
        return list;
    }

    private static List<long> Drain(IQueueCacheCursor cursor)
    {
        var firstOffsets = new List<long>();
        while (Next(cursor))
        {
            firstOffsets.Add(FirstOffset(cursor.GetCurrent(out _)!));
        }

        return firstOffsets;
    }

    private static bool Next(IQueueCacheCursor cursor) => cursor.MoveNextWithResult().Kind == QueueCacheCursorMoveResultKind.Success;

    private static long FirstOffset(IBatchContainer batch) => ((KafkaBatchContainer)batch).Records[0].Offset;

    private static KafkaSequenceToken Token(int generation, long offset) => new(partition: 0, offset, generation);

    private static KafkaBatchContainer Batch(int generation, long from, int count) => Batch(generation, from, count, Stream);

    private static KafkaBatchContainer Batch(int generation, long from, int count, Orleans.Runtime.StreamId stream) =>
        new(stream, from, [.. Enumerable.Range(0, count).Select(i => new KafkaRecord("pageviews", 0, from + i, null, [1], 0))], generation);
}
