namespace OrleansStreams.Grains.Dispatch;

/// <summary>
/// Shares the calls this silo's dispatchers make to a sink. While one call to a sink is in flight, the parts sent to
/// it meanwhile (by any partition's dispatcher, of the same kind) wait, and then go together in the next call, in the
/// order they came; a sink that nobody is calling gets a part at once, in a call of its own. A sink fed by many
/// partitions thus takes about one call per round trip instead of one per partition and delivery, and the cost of a
/// call (messages, scheduling, a task per side) is shared by its parts.
/// Each part keeps the contract of a call of its own: its caller gets the part's receipt, or the
/// <see cref="RecordProcessingException"/> of the part alone; a call that fails (a timeout, a silo gone) fails every
/// part in it, and each caller retries on its own, as it would have.
/// </summary>
public sealed class SinkCalls
{
    /// <summary>Per sink (a grain reference equals another of the same grain) and kind, the parts waiting for its call in flight.</summary>
    private readonly Dictionary<(ISink Sink, string Kind), object> _inFlight = [];

    /// <summary>A route's way of applying records (<see cref="ApplyAsync"/> for each part).</summary>
    public Func<ISink, string, Guid, Positioned<T>[], Task<SinkReceipt>> Sender<T>(string kind, Func<ISink, SinkPart<T>[], Task<SinkPartResult[]>> send) =>
        (sink, source, expected, items) => ApplyAsync(sink, kind, new SinkPart<T>(source, expected, items), send);

    /// <summary>
    /// Has <paramref name="sink"/> apply <paramref name="part"/>, in a call of its own or shared with other parts of the
    /// same <paramref name="kind"/> (what <paramref name="send"/> calls: one method of the sink's interface).
    /// </summary>
    public Task<SinkReceipt> ApplyAsync<T>(ISink sink, string kind, SinkPart<T> part, Func<ISink, SinkPart<T>[], Task<SinkPartResult[]>> send)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(part);
        ArgumentNullException.ThrowIfNull(send);
        var key = (sink, kind);
        var waiting = new Waiting<T>(part);
        Waiters<T> waiters;
        lock (_inFlight)
        {
            if (_inFlight.TryGetValue(key, out var existing))
            {
                ((Waiters<T>)existing).Parts.Add(waiting);
                return waiting.Receipt.Task;
            }

            _inFlight[key] = waiters = new Waiters<T>();
        }

        _ = SendAsync(key, waiters, [waiting], send);
        return waiting.Receipt.Task;
    }

    /// <summary>
    /// Sends <paramref name="parts"/> and hands each its result, then whatever queued meanwhile, until nothing has. The
    /// first call leaves from the caller's context, as a call of its own would; the ones after it from the thread
    /// pool, as they serve several dispatchers.
    /// </summary>
    private async Task SendAsync<T>((ISink Sink, string Kind) key, Waiters<T> waiters, List<Waiting<T>> parts, Func<ISink, SinkPart<T>[], Task<SinkPartResult[]>> send)
    {
        while (true)
        {
            try
            {
                var results = await send(key.Sink, [.. parts.Select(p => p.Part)]).ConfigureAwait(false);
                if (results.Length != parts.Count)
                {
                    throw new InvalidOperationException($"A sink ({key.Kind}) answered {results.Length} results for {parts.Count} parts.");
                }

                for (var i = 0; i < parts.Count; i++)
                {
                    if (results[i].Failed)
                    {
                        parts[i].Receipt.TrySetException(new RecordProcessingException(results[i].FailedOffset, results[i].Error!));
                    }
                    else
                    {
                        parts[i].Receipt.TrySetResult(results[i].Receipt);
                    }
                }
            }
            catch (Exception ex)
            {
                // Whatever it was, every part's caller hears of it: none may wait for good.
                foreach (var part in parts)
                {
                    part.Receipt.TrySetException(ex);
                }
            }

            lock (_inFlight)
            {
                if (waiters.Parts.Count == 0)
                {
                    _inFlight.Remove(key);
                    return;
                }

                (parts, waiters.Parts) = (waiters.Parts, []);
            }
        }
    }

    /// <summary>The parts waiting for the call in flight to a sink to end.</summary>
    private sealed class Waiters<T>
    {
        public List<Waiting<T>> Parts { get; set; } = [];
    }

    /// <summary>A part and its caller's receipt; the caller goes on in its own context, never in the sender's.</summary>
    private sealed class Waiting<T>(SinkPart<T> part)
    {
        public SinkPart<T> Part => part;

        public TaskCompletionSource<SinkReceipt> Receipt { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
