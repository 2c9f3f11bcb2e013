using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using OrleansStreams.Grains.Core;

namespace OrleansStreams.Grains;

/// <summary>State every sink keeps: with its own data, one high-water mark per source partition.</summary>
[GenerateSerializer, Alias("OrleansStreams.SinkState")]
public class SinkState
{
    [Id(0)]
    public Dictionary<string, long> HighWaterMarks { get; set; } = [];

    /// <summary>Event ids applied recently, with their event time (epoch ms): a second record with one of them is the same event.</summary>
    [Id(1)]
    public Dictionary<string, long> RecentEventIds { get; set; } = [];
}

/// <summary>
/// Applies partition-ordered records exactly once and persists when its dispatcher flushes, so that data and
/// high-water marks are always written together. A record whose processing throws is not marked applied.
/// </summary>
internal abstract partial class SinkGrain<TState>(IPersistentState<TState> state, ILogger logger) : Grain, ISink
    where TState : SinkState, new()
{
    /// <summary>
    /// A sink writes its state at most this often: flushes from the partitions' dispatchers that arrive in
    /// between share the next write (group commit), instead of one write per dispatcher and commit.
    /// </summary>
    internal static readonly TimeSpan MinWriteGap = TimeSpan.FromMilliseconds(50);

    private readonly Guid _activation = Guid.NewGuid();
    private long _version;
    private long _persisted;
    private long _lastWriteStarted;
    private Task? _writing;
    private Task? _nextWrite;

    protected TState State => state.State;

    private bool Dirty => _version != _persisted;

    public async Task<SinkReceipt> FlushAsync(Guid expectedActivation)
    {
        // Runs interleaved with applies (ISink.FlushAsync is AlwaysInterleave): waiting for the shared write
        // does not hold up records.
        var target = _version;
        while (_persisted < target)
        {
            if (_nextWrite is not { IsCompleted: false } next)
            {
                _nextWrite = next = WriteAfterGapAsync();
            }

            await next;
        }

        return new SinkReceipt(_activation, Accepted: expectedActivation == _activation);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (Dirty)
        {
            try
            {
                await WriteAsync();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Nothing is lost: the dispatcher sees the new activation id and sends the unflushed records again.
                LogFlushOnDeactivateFailed(ex, this.GetPrimaryKeyString());
            }
        }

        await base.OnDeactivateAsync(reason, cancellationToken);
    }

    protected Task<SinkReceipt> ApplyAsync<T>(string source, Guid expectedActivation, Positioned<T>[] items, Action<T> apply) =>
        ApplyAsync(source, expectedActivation, items, item =>
        {
            apply(item);
            return false;
        });

    /// <summary>
    /// Applies new records; <paramref name="apply"/> tells whether a record was late. A record whose event id
    /// (from <paramref name="identify"/>: id and event time) was applied within the dedup horizon is the same
    /// event produced twice: it is skipped.
    /// </summary>
    protected Task<SinkReceipt> ApplyAsync<T>(string source, Guid expectedActivation, Positioned<T>[] items, Func<T, bool> apply, Func<T, (string? Id, long TimeMs)>? identify = null, long dedupHorizonMs = 0)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (expectedActivation != Guid.Empty && expectedActivation != _activation)
        {
            return Task.FromResult(new SinkReceipt(_activation, Accepted: false));
        }

        List<long>? late = null;
        foreach (var item in items)
        {
            if (HighWaterMarks.IsNew(state.State.HighWaterMarks, source, item.Offset))
            {
                if (identify?.Invoke(item.Event) is ({ } eventId, var timeMs) && !EventIds.TryAdd(state.State.RecentEventIds, eventId, timeMs, dedupHorizonMs))
                {
                    state.State.HighWaterMarks[source] = item.Offset;
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

                state.State.HighWaterMarks[source] = item.Offset;
                _version++;
            }
        }

        return Task.FromResult(new SinkReceipt(_activation, Accepted: true, late?.ToArray()));
    }

    /// <summary>Persists now, for changes whose effects leave the grain right after (emitted results).</summary>
    protected Task WriteNowAsync() => WriteAsync();

    /// <summary>For changes a grain makes on its own (timers): persisted with the next flush or deactivation.</summary>
    protected void MarkDirty() => _version++;

    private async Task WriteAfterGapAsync()
    {
        var waitMs = _lastWriteStarted + (long)MinWriteGap.TotalMilliseconds - Environment.TickCount64;
        if (waitMs > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(waitMs));
        }
        else
        {
            // Always return to the caller first, so that it has stored this task as the next write.
            await Task.Yield();
        }

        // Flushes arriving from here on need what is applied after this write started: they wait for the next.
        _nextWrite = null;
        await WriteAsync();
    }

    /// <summary>One write at a time: the storage's ETag must come back before the next write.</summary>
    private async Task WriteAsync()
    {
        // The previous write's own continuation may not have run yet: a completed one no longer counts.
        while (_writing is { IsCompleted: false } previous)
        {
            try
            {
                await previous;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // That write's own callers see its failure; this one tries again.
            }
        }

        var version = _version;
        _lastWriteStarted = Environment.TickCount64;
        var write = state.WriteStateAsync();
        _writing = write;
        try
        {
            await write;
            _persisted = Math.Max(_persisted, version);
        }
        finally
        {
            if (ReferenceEquals(_writing, write))
            {
                _writing = null;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not persist {Key} while deactivating; its partition will resend")]
    private partial void LogFlushOnDeactivateFailed(Exception exception, string key);
}
