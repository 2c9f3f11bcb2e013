using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// One consumer's place in a <see cref="KafkaQueueCache"/>: the position of the next batch to hand out. A cursor
/// opened at a token beyond what is held skips the batches that end before that token as they arrive.
/// </summary>
internal sealed class KafkaQueueCacheCursor(KafkaQueueCache cache, StreamId streamId, long position, StreamSequenceToken? from) : IQueueCacheCursor
{
    private StreamSequenceToken? _from = from;
    private IBatchContainer? _current;

    /// <summary>The position of the next batch to hand out; the cache keeps every batch from here on.</summary>
    public long Position { get; private set; } = position;

    public IBatchContainer? GetCurrent(out Exception? exception)
    {
        exception = null;
        return _current;
    }

    /// <summary>Never a cache miss: a cursor behind what the cache holds moves on to the oldest batch held.</summary>
    public QueueCacheCursorMoveResult MoveNextWithResult() =>
        MoveNext() ? QueueCacheCursorMoveResult.Success : QueueCacheCursorMoveResult.NoData;

    public bool MoveNext()
    {
        _current = null;
        while (cache.TryGet(Position, out var item))
        {
            Position++;
            if (!Skips(item))
            {
                _from = null;
                _current = item;
                return true;
            }
        }

        return false;
    }

    /// <summary>New batches were added: a cursor still waiting for its token passes those before it, so the cache need not keep them.</summary>
    public void Refresh(StreamSequenceToken token)
    {
        while (_from is not null && cache.TryGet(Position, out var item) && Skips(item))
        {
            Position++;
        }
    }

    /// <summary>
    /// Nothing to record: the receiver acknowledges nothing from the cache, and what a consumer has not made durable
    /// is read again from its checkpoint.
    /// </summary>
    public void RecordDeliveryFailure()
    {
    }

    public void Dispose()
    {
        _current = null;
        cache.Close(this);
    }

    private bool Skips(IBatchContainer item) =>
        !item.StreamId.Equals(streamId) || (_from is not null && item.SequenceToken.Older(_from));
}
