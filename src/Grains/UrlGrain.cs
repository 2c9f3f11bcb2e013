using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Runtime;
using OrleansStreams.Grains.Core;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Grains;

[GenerateSerializer, Alias("OrleansStreams.UrlState")]
public sealed class UrlState : SinkState
{
    /// <summary>Every view ever applied, late ones included.</summary>
    [Id(0)]
    public long Total { get; set; }

    [Id(1)]
    public WindowCountsState Windows { get; set; } = new();

    /// <summary>Closed windows whose result is persisted as closed but not yet confirmed in Kafka.</summary>
    [Id(2)]
    public List<ClosedWindow> Unemitted { get; set; } = [];

    [Id(3)]
    public long Conversions { get; set; }

    /// <summary>Keys of recent conversions (with their click time, epoch ms), so each counts once.</summary>
    [Id(4)]
    public Dictionary<string, long> ConversionKeys { get; set; } = [];
}

/// <summary>
/// Durable views of one URL (the key): the running total and event-time window counts. A timer closes windows
/// as the watermark passes them and emits each result once to <c>pageview-counts</c> and to the log.
/// </summary>
internal sealed partial class UrlGrain(
    [PersistentState("url", GrainStorage.Name)] IPersistentState<UrlState> state,
    IEnumerable<IPageViewHandler> handlers,
    IOptions<WindowOptions> windowOptions,
    IOptions<JoinOptions> joinOptions,
    IOptions<ProcessingOptions> processing,
    WatermarkCache watermark,
    KafkaOutput output,
    PipelineMetrics metrics,
    IHostApplicationLifetime lifetime,
    ILogger<UrlGrain> logger) : SinkGrain<UrlState>(state, processing, logger), IUrlGrain
{
    private static readonly TimeSpan CloseCheck = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan IndexReport = TimeSpan.FromSeconds(5);

    /// <summary>How often an active URL reports its total unchanged: the index lives in memory, and one that lost its activation (its silo died) learns it again.</summary>
    private static readonly TimeSpan IndexRefresh = TimeSpan.FromSeconds(30);

    private readonly IPageViewHandler[] _handlers = [.. handlers];
    private WindowCounts _windows = null!;
    private long _reportedTotal = -1;
    private DateTime _reportedAt;
    private Task? _emitting;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var options = windowOptions.Value;
        _windows = new WindowCounts(options.Spec, (long)options.Grace.TotalMilliseconds, (long)options.Retention.TotalMilliseconds, State.Windows);
        this.RegisterGrainTimer(CloseWindowsAsync, CloseCheck, CloseCheck);
        return base.OnActivateAsync(cancellationToken);
    }

    public Task<SinkPartResult[]> ApplyPageViewsAsync(SinkPart<PageView>[] parts) =>
        Task.FromResult(ApplyParts(parts, part => Apply(part, view =>
        {
            foreach (var handler in _handlers)
            {
                handler.Handle(view);
            }

            State.Total++;
            return _windows.Add(EventTime.ToMilliseconds(view.ViewTime));
        },
        view => (view.EventId, EventTime.ToMilliseconds(view.ViewTime)))));

    public async Task ApplyConversionsAsync(Conversion[] conversions)
    {
        ArgumentNullException.ThrowIfNull(conversions);
        var horizon = (long)joinOptions.Value.DedupHorizon.TotalMilliseconds;
        foreach (var conversion in conversions)
        {
            // The same bounded-horizon dedup as event ids: a conversion delivered again counts once.
            if (conversion.ClickTime is { } click && EventIds.TryAdd(State.ConversionKeys, conversion.Key, EventTime.ToMilliseconds(click), horizon))
            {
                State.Conversions++;
                MarkDirty();
            }
        }

        // Also for a delivery that added nothing: its first delivery's write may still be under way.
        await PersistAsync();
    }

    public Task<UrlConversions> GetConversionsAsync() =>
        Task.FromResult(new UrlConversions(this.GetPrimaryKeyString(), State.Total, State.Conversions));

    public Task<UrlTotals> GetTotalsAsync() => Task.FromResult(new UrlTotals(this.GetPrimaryKeyString(), State.Total));

    public Task<UrlWindows> GetWindowsAsync(int last)
    {
        var url = this.GetPrimaryKeyString();
        return Task.FromResult(new UrlWindows(
            url,
            [.. _windows.RecentClosed(Math.Max(0, last)).Select(w => ToResult(url, w))],
            [.. _windows.Open().Select(w => ToResult(url, w))]));
    }

    /// <summary>
    /// Reports the total to the URL index when it changed, and now and then when it did not, and closes the windows
    /// the watermark has passed. Their results leave the grain only once they are persisted as closed, so a restart
    /// never reopens one; a crash before Kafka confirms re-emits the same record (same key, same value).
    /// </summary>
    private async Task CloseWindowsAsync()
    {
        var sinceReport = DateTime.UtcNow - _reportedAt;
        // Not while the silo stops: the index is stopping too, and learns the total again from the next activation.
        if ((sinceReport >= IndexRefresh || (State.Total != _reportedTotal && sinceReport >= IndexReport))
            && !lifetime.ApplicationStopping.IsCancellationRequested)
        {
            _reportedTotal = State.Total;
            _reportedAt = DateTime.UtcNow;
            await GrainFactory.GetGrain<IUrlIndexGrain>(0).ReportAsync(this.GetPrimaryKeyString(), State.Total);
        }

        if (State.Windows.Open.Count > 0)
        {
            // A URL with open windows stays active so that its windows close even when its traffic stops.
            DelayDeactivation(TimeSpan.FromMinutes(5));
        }

        if (watermark.PageViews is { } current && current > State.Windows.Watermark)
        {
            var url = this.GetPrimaryKeyString();
            foreach (var window in _windows.Advance(current))
            {
                State.Unemitted.Add(window);
                metrics.WindowsClosed.Inc();
                LogWindowClosed(url, window.Count, Describe(windowOptions.Value.Size));
            }

            MarkDirty();
        }

        EmitSoon();
    }

    /// <summary>
    /// Emits closed windows in the background, one emission at a time: records keep being applied while storage
    /// and Kafka answer.
    /// </summary>
    private void EmitSoon()
    {
        if (State.Unemitted.Count > 0 && _emitting is not { IsCompleted: false })
        {
            _emitting = EmitAsync();
        }
    }

    private async Task EmitAsync()
    {
        var url = this.GetPrimaryKeyString();
        var emitting = State.Unemitted.ToArray();
        try
        {
            await PersistAsync();
            foreach (var window in emitting)
            {
                var result = ToResult(url, window);
                await output.ProduceAsync(Topics.PageViewCounts, Encoding.UTF8.GetBytes(ResultKey(result)), JsonSerializer.SerializeToUtf8Bytes(new WindowRecord(result)));
            }

            // Windows closed meanwhile come after these and wait for the next emission.
            State.Unemitted.RemoveRange(0, emitting.Length);
            MarkDirty();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Kept as unemitted: the next tick tries again.
            LogEmitFailed(ex, url);
        }
    }

    /// <summary>The record key of a window result: the same for every emission of it.</summary>
    internal static string ResultKey(WindowResult result) =>
        string.Create(CultureInfo.InvariantCulture, $"{result.Url}|{result.WindowStart:R}");

    private static WindowResult ToResult(string url, ClosedWindow window) =>
        new(url, EventTime.ToSeconds(window.StartMs), EventTime.ToSeconds(window.EndMs), window.Count);

    private static string Describe(TimeSpan size) => size switch
    {
        { TotalMinutes: 1 } => "minute",
        { TotalSeconds: 1 } => "second",
        { TotalHours: 1 } => "hour",
        _ when size.TotalMinutes >= 1 && size.TotalMinutes == Math.Floor(size.TotalMinutes) => $"{size.TotalMinutes:0} minutes",
        _ => $"{size.TotalSeconds:0.###} seconds",
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Window closed. {Url} had {Count} views in the last {Window}.")]
    private partial void LogWindowClosed(string url, long count, string window);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not emit the closed windows of {Url}; trying again")]
    private partial void LogEmitFailed(Exception exception, string url);

    /// <summary>The <c>pageview-counts</c> record.</summary>
    private sealed record WindowRecord(
        [property: System.Text.Json.Serialization.JsonPropertyName("url")] string Url,
        [property: System.Text.Json.Serialization.JsonPropertyName("window_start")] double WindowStart,
        [property: System.Text.Json.Serialization.JsonPropertyName("window_end")] double WindowEnd,
        [property: System.Text.Json.Serialization.JsonPropertyName("count")] long Count)
    {
        public WindowRecord(WindowResult result)
            : this(result.Url, result.WindowStart, result.WindowEnd, result.Count)
        {
        }
    }
}
