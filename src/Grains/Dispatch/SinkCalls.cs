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
    /// <summary>
    /// Per sink (a grain reference equals another of the same grain) and kind with a call in flight, the parts waiting for
    /// it to end (a <c>List&lt;Waiting&lt;T&gt;&gt;</c>).
    /// </summary>
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
        lock (_inFlight)
        {
            if (_inFlight.TryGetValue(key, out var existing))
            {
                var waiting = new Waiting<T>(part);
                ((List<Waiting<T>>)existing).Add(waiting);
                return waiting.Receipt.Task;
            }

            _inFlight[key] = new List<Waiting<T>>();
        }

        return SendAloneAsync(key, part, send);
    }

    /// <summary>
    /// A part for a sink nobody was calling: its caller awaits the call itself, in its own context, as it would a call
    /// of its own; once the call has answered, whatever waited for it goes next.
    /// </summary>
    private async Task<SinkReceipt> SendAloneAsync<T>((ISink Sink, string Kind) key, SinkPart<T> part, Func<ISink, SinkPart<T>[], Task<SinkPartResult[]>> send)
    {
        SinkPartResult result;
        try
        {
            result = Checked(key, await send(key.Sink, [part]), parts: 1)[0];
        }
        finally
        {
            SendWaiting(key, send);
        }

        return result.Failed ? throw Failure(result) : result.Receipt;
    }

    /// <summary>Starts the call that carries what waited for the one that has just answered, or notes that nothing waits.</summary>
    private void SendWaiting<T>((ISink Sink, string Kind) key, Func<ISink, SinkPart<T>[], Task<SinkPartResult[]>> send)
    {
        List<Waiting<T>> parts;
        lock (_inFlight)
        {
            parts = (List<Waiting<T>>)_inFlight[key];
            if (parts.Count == 0)
            {
                _inFlight.Remove(key);
                return;
            }

            _inFlight[key] = new List<Waiting<T>>();
        }

        _ = SendSharedAsync(key, parts, send);
    }

    /// <summary>
    /// Sends parts that waited and hands each its result, once what waited meanwhile is on its way. It answers several
    /// dispatchers, so it goes on in none of their contexts.
    /// </summary>
    private async Task SendSharedAsync<T>((ISink Sink, string Kind) key, List<Waiting<T>> parts, Func<ISink, SinkPart<T>[], Task<SinkPartResult[]>> send)
    {
        SinkPartResult[]? results = null;
        Exception? failure = null;
        try
        {
            var sent = new SinkPart<T>[parts.Count];
            for (var i = 0; i < sent.Length; i++)
            {
                sent[i] = parts[i].Part;
            }

            results = Checked(key, await send(key.Sink, sent).ConfigureAwait(false), parts.Count);
        }
        catch (Exception ex)
        {
            // Whatever it was, every part's caller hears of it: none may wait for good.
            failure = ex;
        }

        SendWaiting(key, send);
        for (var i = 0; i < parts.Count; i++)
        {
            if (failure is not null)
            {
                parts[i].Receipt.TrySetException(failure);
            }
            else if (results![i].Failed)
            {
                parts[i].Receipt.TrySetException(Failure(results[i]));
            }
            else
            {
                parts[i].Receipt.TrySetResult(results[i].Receipt);
            }
        }
    }

    /// <summary>The results, once checked that the sink answered one per part.</summary>
    private static SinkPartResult[] Checked((ISink Sink, string Kind) key, SinkPartResult[] results, int parts) =>
        results.Length == parts ? results
        : throw new InvalidOperationException($"A sink ({key.Kind}) answered {results.Length} results for {parts} parts.");

    /// <summary>What the caller of a part that failed gets, as from a call of its own.</summary>
    private static RecordProcessingException Failure(SinkPartResult result) => new(result.FailedOffset, result.Error!);

    /// <summary>A part and its caller's receipt; the caller goes on in its own context, never in the sender's.</summary>
    private sealed class Waiting<T>(SinkPart<T> part)
    {
        public SinkPart<T> Part => part;

        public TaskCompletionSource<SinkReceipt> Receipt { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
