using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;

namespace OrleansStreams.Grains;

/// <summary>
/// The watermarks as this silo last read them, refreshed twice a second, so that thousands of URL
/// grains read it locally instead of each calling the watermark grain.
/// </summary>
public sealed partial class WatermarkCache(IGrainFactory grains, IOptions<WindowOptions> options, TimeProvider time, ILogger<WatermarkCache> logger) : BackgroundService
{
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();
    private long _pageViews = long.MinValue;
    private long _clicks = long.MinValue;
    private volatile bool _pageViewsActive = true;
    private volatile bool _clicksActive = true;

    /// <summary>The page-view watermark in epoch ms, or null before any record.</summary>
    public long? PageViews => Read(ref _pageViews);

    /// <summary>The click watermark in epoch ms, or null before any record.</summary>
    public long? Clicks => Read(ref _clicks);

    /// <summary>
    /// The join's watermark: the slower of the two streams. A stream with no watermark yet holds it back while
    /// some partition of it is active, and until the idle timeout has passed since this silo started; after that,
    /// the other stream's alone moves it.
    /// </summary>
    public long? Join => (PageViews, Clicks) switch
    {
        ({ } v, { } c) => Math.Min(v, c),
        (null, { } c) when !_pageViewsActive && StartupOver => c,
        ({ } v, null) when !_clicksActive && StartupOver => v,
        _ => null,
    };

    /// <summary>Whether the idle timeout has passed since this silo started.</summary>
    private bool StartupOver => time.GetUtcNow() - _startedAt >= options.Value.IdleTimeout;

    /// <summary>Sets a topic's watermark when a dispatcher learns it first.</summary>
    public void Offer(string topic, long? watermark)
    {
        if (watermark is not { } value)
        {
            return;
        }

        ref var field = ref topic == Topics.Clicks ? ref _clicks : ref _pageViews;
        long current;
        do
        {
            current = Interlocked.Read(ref field);
            if (value <= current)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref field, value, current) != current);
    }

    private static long? Read(ref long field)
    {
        var value = Interlocked.Read(ref field);
        return value == long.MinValue ? null : value;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var pageViews = await grains.GetGrain<IWatermarkGrain>(Topics.PageViews).GetAsync();
                    var clicks = await grains.GetGrain<IWatermarkGrain>(Topics.Clicks).GetAsync();
                    _pageViewsActive = pageViews.Active;
                    _clicksActive = clicks.Active;
                    Offer(Topics.PageViews, pageViews.Watermark);
                    Offer(Topics.Clicks, clicks.Watermark);
                }
                catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
                {
                    LogUnavailable(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Watermark not readable yet")]
    private partial void LogUnavailable(Exception exception);
}
