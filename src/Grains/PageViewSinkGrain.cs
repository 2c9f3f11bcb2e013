using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using OrleansStreams.Grains.Core;

namespace OrleansStreams.Grains;

/// <summary>State every page-view sink keeps: with its counters, one high-water mark per source partition.</summary>
[GenerateSerializer, Alias("OrleansStreams.SinkState")]
public class SinkState
{
    [Id(0)]
    public Dictionary<string, long> HighWaterMarks { get; set; } = [];
}

/// <summary>
/// Applies partition-ordered page views exactly once and persists only when the partition's dispatcher flushes,
/// so that counters and their high-water marks are always written together.
/// </summary>
internal abstract partial class PageViewSinkGrain<TState>(IPersistentState<TState> state, ILogger logger) : Grain, IPageViewSink
    where TState : SinkState, new()
{
    private readonly Guid _activation = Guid.NewGuid();
    private bool _dirty;

    protected TState State => state.State;

    public Task<SinkReceipt> ApplyPageViewsAsync(string source, Guid expectedActivation, PositionedPageView[] views)
    {
        ArgumentNullException.ThrowIfNull(views);
        if (expectedActivation != Guid.Empty && expectedActivation != _activation)
        {
            return Task.FromResult(new SinkReceipt(_activation, Accepted: false));
        }

        foreach (var view in views)
        {
            if (HighWaterMarks.TryAdvance(state.State.HighWaterMarks, source, view.Offset))
            {
                Apply(view.View);
                _dirty = true;
            }
        }

        return Task.FromResult(new SinkReceipt(_activation, Accepted: true));
    }

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

    protected abstract void Apply(PageView view);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not persist {Key} while deactivating; its partition will resend")]
    private partial void LogFlushOnDeactivateFailed(Exception exception, string key);
}
