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
    private readonly Guid _activation = Guid.NewGuid();
    private bool _dirty;

    protected TState State => state.State;

    public async Task<SinkReceipt> FlushAsync(Guid expectedActivation)
    {
        if (_dirty)
        {
            await state.WriteStateAsync();
            _dirty = false;
        }

        return new SinkReceipt(_activation, Accepted: expectedActivation == _activation);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_dirty)
        {
            try
            {
                await state.WriteStateAsync(cancellationToken);
                _dirty = false;
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
                    _dirty = true;
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
                _dirty = true;
            }
        }

        return Task.FromResult(new SinkReceipt(_activation, Accepted: true, late?.ToArray()));
    }

    /// <summary>Persists now, for changes whose effects leave the grain right after (emitted results).</summary>
    protected async Task WriteNowAsync()
    {
        await state.WriteStateAsync();
        _dirty = false;
    }

    /// <summary>For changes a grain makes on its own (timers): persisted with the next flush or deactivation.</summary>
    protected void MarkDirty() => _dirty = true;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not persist {Key} while deactivating; its partition will resend")]
    private partial void LogFlushOnDeactivateFailed(Exception exception, string key);
}
