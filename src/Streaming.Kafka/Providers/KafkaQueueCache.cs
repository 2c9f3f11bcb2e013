using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// The batches read from one partition that its consumers have not all passed yet, in the order they were read.
/// A cursor keeps every batch from its position on, and the last <paramref name="deliveryWindow"/> batches it
/// handed out: those of the delivery in flight, which the pulling agent asks for again when that delivery fails.
/// Batches ahead of the slowest cursor fill the cache; a full cache pauses reading (<see cref="IsUnderPressure"/>).
/// A cursor asked to start at a batch the cache no longer holds starts at the oldest batch it holds instead of
/// failing: the consumer sees the gap in offsets and asks for a rewind, so a purged batch costs a re-read, never
/// a stalled queue.
/// </summary>
internal sealed partial class KafkaQueueCache(QueueId queue, int capacity, int deliveryWindow, ILogger logger) : IQueueCache
{
    private readonly List<IBatchContainer> _items = [];
    private readonly HashSet<KafkaQueueCacheCursor> _cursors = [];

    /// <summary>The token of the newest batch purged so far (that of its last record).</summary>
    private StreamSequenceToken? _newestPurged;

    /// <summary>The position of the oldest batch held; every batch ever added has the next position.</summary>
    private long First { get; set; }

    /// <summary>The position the next batch added will have.</summary>
    private long End => First + _items.Count;

    /// <summary>How many batches are held.</summary>
    public int Size => _items.Count;

    public int GetMaxAddCount() => Math.Max(1, capacity / 10);

    /// <summary>Whether one more read could put more than the capacity ahead of the slowest cursor.</summary>
    public bool IsUnderPressure() => End - KeptFrom(behind: 0) + GetMaxAddCount() > capacity;

    public void AddToCache(IList<IBatchContainer> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        _items.AddRange(messages);
    }

    public bool TryPurgeFromCache([MaybeNullWhen(false)] out IList<IBatchContainer> purgedItems)
    {
        var keepFrom = KeptFrom(deliveryWindow);
        var count = (int)(keepFrom - First);
        if (count <= 0)
        {
            purgedItems = null;
            return false;
        }

        purgedItems = _items.GetRange(0, count);
        _newestPurged = purgedItems[^1].SequenceToken;
        _items.RemoveRange(0, count);
        First = keepFrom;
        return true;
    }

    /// <summary>
    /// A cursor at the first batch of the stream that ends at or after <paramref name="token"/>, or at the newest
    /// batch held when there is no token. A token beyond what is held waits for it.
    /// </summary>
    public IQueueCacheCursor GetCacheCursor(StreamId streamId, StreamSequenceToken? token)
    {
        if (token is null)
        {
            return Open(streamId, Math.Max(First, End - 1), from: null);
        }

        if (_newestPurged is not null && token.Older(_newestPurged) && _items.Count > 0)
        {
            LogResumedAtOldest(queue, token, _items[0].SequenceToken);
        }

        var position = First;
        while (position < End && ItemAt(position).SequenceToken.Older(token))
        {
            position++;
        }

        return Open(streamId, position, token);
    }

    public QueueCacheCursorResult<IQueueCacheCursor> TryGetCacheCursorAtPosition(StreamId streamId, StreamSubscriptionStartPosition startPosition) =>
        QueueCacheCursorResult<IQueueCacheCursor>.FromCursor(startPosition switch
        {
            StreamSubscriptionStartPosition.EarliestAvailable => Open(streamId, First, from: null),
            StreamSubscriptionStartPosition.Latest => Open(streamId, End, from: null),
            _ => throw new ArgumentOutOfRangeException(nameof(startPosition), startPosition, "The subscription start position is not defined."),
        });

    /// <summary>The batch at <paramref name="position"/>, if it is held.</summary>
    internal bool TryGet(long position, [MaybeNullWhen(false)] out IBatchContainer item)
    {
        if (position < First || position >= End)
        {
            item = null;
            return false;
        }

        item = ItemAt(position);
        return true;
    }

    internal void Close(KafkaQueueCacheCursor cursor) => _cursors.Remove(cursor);

    /// <summary>The oldest position some cursor needs, counting <paramref name="behind"/> batches behind each; the end when no cursor is open.</summary>
    private long KeptFrom(int behind)
    {
        var from = End;
        foreach (var cursor in _cursors)
        {
            from = Math.Min(from, Math.Max(First, cursor.Position - behind));
        }

        return from;
    }

    private IBatchContainer ItemAt(long position) => _items[(int)(position - First)];

    private KafkaQueueCacheCursor Open(StreamId streamId, long position, StreamSequenceToken? from)
    {
        var cursor = new KafkaQueueCacheCursor(this, streamId, position, from);
        _cursors.Add(cursor);
        return cursor;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue {Queue}: the cache no longer holds {Requested}; the cursor starts at the oldest batch held, {Oldest}, and the consumer is left to ask for what it missed")]
    private partial void LogResumedAtOldest(QueueId queue, StreamSequenceToken requested, StreamSequenceToken oldest);
}
