using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;

namespace OrleansStreams.Grains;

/// <summary>
/// The page-view watermark as this silo last read it, refreshed twice a second, so that thousands of URL
/// grains read it locally instead of each calling the watermark grain.
/// </summary>
public sealed partial class WatermarkCache(IGrainFactory grains, ILogger<WatermarkCache> logger) : BackgroundService
{
    private long _watermark = long.MinValue;

    /// <summary>The page-view watermark in epoch ms, or null before any record.</summary>
    public long? PageViews
    {
        get
        {
            var value = Interlocked.Read(ref _watermark);
            return value == long.MinValue ? null : value;
        }
    }

    /// <summary>Sets the watermark when a dispatcher learns it first.</summary>
    public void Offer(long? watermark)
    {
        if (watermark is not { } value)
        {
            return;
        }

        long current;
        do
        {
            current = Interlocked.Read(ref _watermark);
            if (value <= current)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _watermark, value, current) != current);
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
                    Offer(await grains.GetGrain<IWatermarkGrain>(Topics.PageViews).GetAsync());
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
