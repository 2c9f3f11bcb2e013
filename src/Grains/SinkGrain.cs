using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Runtime;
using OrleansStreams.Grains.Core;
using OrleansStreams.Grains.Dispatch;

namespace OrleansStreams.Grains;

/// <summary>State every sink keeps: with its own data, one high-water mark per source partition.</summary>
[GenerateSerializer, Alias("OrleansStreams.SinkState")]
public class SinkState
{
    [Id(0)]
    public Dictionary<string, long> HighWaterMarks { get; set; } = [];

    /// <summary>
    /// Event ids applied recently, with their event time (epoch ms): a second record with one of them is the same event.
    /// Stored packed (<see cref="PackedRecentEventIds"/>).
    /// </summary>
    [field: NonSerialized]
    public Dictionary<string, long> RecentEventIds { get; set; } = [];

    /// <summary>How earlier versions stored <see cref="RecentEventIds"/>: still read, never written.</summary>
    [Id(1)]
    public Dictionary<string, long>? StoredRecentEventIds
    {
        get => null;
        set => RecentEventIds = value ?? RecentEventIds;
    }

    /// <summary><see cref="RecentEventIds"/> as stored: written packed (<see cref="EventIdFormat"/>), none when empty.</summary>
    [Id(2)]
    public byte[]? PackedRecentEventIds
    {
        get => RecentEventIds.Count == 0 ? null : EventIdFormat.Write(RecentEventIds);
        set => RecentEventIds = value is null ? RecentEventIds : EventIdFormat.Read(value);
    }
}

/// <summary>
/// Applies partition-ordered records exactly once; data and high-water marks are always written together. It
/// persists by itself at most once per commit interval while records arrive (one write serves every partition
/// that fed it), and when a dispatcher flushes. A record whose processing throws is not marked applied.
/// </summary>
internal abstract partial class SinkGrain<TState>(IPersistentState<TState> state, IOptions<ProcessingOptions> processing, ILogger logger) : Grain, ISink
    where TState : SinkState, new()
{
    private readonly Guid _activation = Guid.NewGuid();
    private readonly long _writeEveryMs = (long)processing.Value.CommitInterval.TotalMilliseconds;
    private readonly long _dedupHorizonMs = (long)processing.Value.EventIdDedupHorizon.TotalMilliseconds;
    private long _version;
    private long _persistedVersion;
    private Dictionary<string, long> _persistedMarks = [];
    private long _lastWriteStartedMs = Environment.TickCount64;
    private long _lastWriteTookMs;
    private VolatileGrainState? _volatile;
    private Task? _writing;

    protected TState State => state.State;

    /// <summary>Backoff for work a grain retries on its own (built only when something failed).</summary>
    protected RetryPolicy Retry => new(processing.Value.MaxRetries, processing.Value.RetryBaseDelay, logger);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _volatile = ServiceProvider.GetService<VolatileGrainState>();
        _persistedMarks = new Dictionary<string, long>(State.HighWaterMarks, StringComparer.Ordinal);
        return base.OnActivateAsync(cancellationToken);
    }

    /// <summary>
    /// Persists what <paramref name="source"/> sent up to <paramref name="upTo"/>. The write starts at once, unless the
    /// last one started less time ago than it took (capped at a quarter of the commit interval): storage that answers
    /// slowly is busy, and the flushes of the other partitions that arrive meanwhile share the one write.
    /// </summary>
    public async Task<SinkReceipt> FlushAsync(string source, Guid expectedActivation, long upTo)
    {
        if (PersistedMark(source) < upTo)
        {
            await PersistAsync(Math.Min(_lastWriteTookMs, _writeEveryMs / 4));
        }

        return Receipt(source, accepted: expectedActivation == _activation);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        try
        {
            await WriteAsync(_version);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Nothing is lost: the dispatcher sees the new activation id and sends the unpersisted records again.
            LogWriteOnDeactivateFailed(ex, this.GetPrimaryKeyString());
        }

        await base.OnDeactivateAsync(reason, cancellationToken);
    }

    protected Task<SinkReceipt> ApplyAsync<T>(string source, Guid expectedActivation, Positioned<T>[] items, Action<T> apply) =>
        Task.FromResult(Apply(new SinkPart<T>(source, expectedActivation, items), item =>
        {
            apply(item);
            return false;
        }));

    /// <summary>
    /// Applies each part in turn, as if it had come in a call of its own: a part whose processing fails on a record
    /// fails alone (its result names the record), and the parts after it are applied.
    /// </summary>
    protected static SinkPartResult[] ApplyParts<T>(SinkPart<T>[] parts, Func<SinkPart<T>, SinkReceipt> apply)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var results = new SinkPartResult[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            try
            {
                results[i] = new SinkPartResult(apply(parts[i]));
            }
            catch (RecordProcessingException ex)
            {
                results[i] = new SinkPartResult(default, ex.Offset, ex.Error);
            }
        }

        return results;
    }

    /// <summary>
    /// Applies a part's new records; <paramref name="apply"/> tells whether a record was late. A record whose event id
    /// (from <paramref name="identify"/>: id and event time) was applied within the dedup horizon
    /// (<c>Processing:EventIdDedupHorizon</c>) is the same event produced twice: it is skipped. A record whose
    /// processing throws stops the part with a <see cref="RecordProcessingException"/>.
    /// </summary>
    protected SinkReceipt Apply<T>(SinkPart<T> part, Func<T, bool> apply, Func<T, (string? Id, long TimeMs)>? identify = null)
    {
        ArgumentNullException.ThrowIfNull(part);
        var (source, expectedActivation, items) = part;
        ArgumentNullException.ThrowIfNull(items);
        if (expectedActivation != Guid.Empty && expectedActivation != _activation)
        {
            return Receipt(source, accepted: false);
        }

        var mark = new HighWaterMark(state.State.HighWaterMarks, source);
        List<long>? late = null;
        try
        {
            foreach (var item in items)
            {
                if (!mark.IsNew(item.Offset))
                {
                    continue;
                }

                if (identify?.Invoke(item.Event) is ({ } eventId, var timeMs) && !EventIds.TryAdd(state.State.RecentEventIds, eventId, timeMs, _dedupHorizonMs))
                {
                    mark.Advance(item.Offset);
                    _version++;
                    continue;
                }

                try
                {
                    if (apply(item.Event))
                    {
                        (late ??= []).Add(item.Offset);
                    }
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    throw new RecordProcessingException(item.Offset, $"{ex.GetType().Name}: {ex.Message}");
                }

                mark.Advance(item.Offset);
                _version++;
            }
        }
        finally
        {
            // Also when a record threw: those before it stay applied.
            mark.Store();
        }

        if (_version != _persistedVersion && _writing is not { IsCompleted: false } && Environment.TickCount64 - _lastWriteStartedMs >= _writeEveryMs)
        {
            // Runs on in the background: records keep arriving while storage answers.
            _ = WriteInBackgroundAsync();
        }

        return Receipt(source, accepted: true) with { Late = late?.ToArray() };
    }

    /// <summary>
    /// Returns once everything applied so far is persisted (writing only if it is not yet). Like the writes that
    /// follow records, it writes at most once per commit interval: callers arriving within one share the write at
    /// its end, so a grain that many others deliver to costs storage one write per interval, not one per delivery.
    /// </summary>
    protected Task PersistAsync() => PersistAsync(_writeEveryMs);

    private async Task PersistAsync(long spacingMs)
    {
        var applied = _version;
        var wait = _lastWriteStartedMs + spacingMs - Environment.TickCount64;
        if (wait > 0 && _persistedVersion < applied)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(wait));
        }

        await WriteAsync(applied);
    }

    /// <summary>For changes a grain makes on its own (timers): persisted with the next write.</summary>
    protected void MarkDirty() => _version++;

    private SinkReceipt Receipt(string source, bool accepted) =>
        new(_activation, accepted, Persisted: PersistedMark(source));

    /// <summary>The highest offset of <paramref name="source"/> the last completed write holds (-1 for none).</summary>
    private long PersistedMark(string source) => _persistedMarks.GetValueOrDefault(source, -1);

    /// <summary>
    /// Returns once the state is persisted at least as of <paramref name="version"/>. One write at a time (the
    /// storage's ETag must come back before the next): a caller arriving during a write waits for it, and writes
    /// only if that write began before its version. A caller never waits for changes made after it came, so
    /// records arriving all the time cannot keep it waiting.
    /// </summary>
    private async Task WriteAsync(long version)
    {
        // State in silo memory stops with the silo: nothing to keep it in (the dispatchers resend what is unpersisted).
        while (_persistedVersion < version && _volatile?.Lost != true)
        {
            if (_writing is { IsCompleted: false } previous)
            {
                try
                {
                    await previous;
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // That write's own caller sees its failure; this one tries again.
                }

                continue;
            }

            // The state is serialized before the write first yields, so these are the version and marks written.
            var writing = _version;
            var marks = new Dictionary<string, long>(State.HighWaterMarks, StringComparer.Ordinal);
            _lastWriteStartedMs = Environment.TickCount64;
            var write = state.WriteStateAsync();
            _writing = write;
            await write;
            _lastWriteTookMs = Environment.TickCount64 - _lastWriteStartedMs;
            _persistedVersion = writing;
            _persistedMarks = marks;
        }
    }

    private async Task WriteInBackgroundAsync()
    {
        try
        {
            await WriteAsync(_version);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The next batch or flush tries again; the partitions' offsets wait for it.
            LogWriteFailed(ex, this.GetPrimaryKeyString());
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not persist {Key} while deactivating; its partition will resend")]
    private partial void LogWriteOnDeactivateFailed(Exception exception, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not persist {Key}; trying again with the next batch or flush")]
    private partial void LogWriteFailed(Exception exception, string key);
}
