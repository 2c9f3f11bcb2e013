using OrleansStreams.Grains;

namespace OrleansStreams.Silo.DevMode;

/// <summary>Logs the running totals of the cluster's busiest URLs, every <c>Reporter:Interval</c>.</summary>
internal sealed partial class RunningTotalsReporter(
    IGrainFactory grains,
    IConfiguration config,
    ILogger<RunningTotalsReporter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = config.GetValue("Reporter:Interval", TimeSpan.FromSeconds(5));
        var top = config.GetValue("Reporter:Top", 5);
        if (interval <= TimeSpan.Zero || top < 1)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var entry in await grains.GetGrain<IUrlIndexGrain>(0).TopAsync(top))
                {
                    LogRunningTotal(entry.Url, entry.Total);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Running total for {Url}: {Total}")]
    private partial void LogRunningTotal(string url, long total);
}
