using Microsoft.Extensions.Logging;

namespace OrleansStreams.Grains.Dispatch;

/// <summary>
/// How a dispatcher calls its targets, on every route: at most <paramref name="maxInFlight"/> calls outstanding
/// (<c>Processing:MaxCallsInFlight</c>), so a burst of many distinct keys waits for a slot here instead of flooding
/// the silos until calls time out; faults of the infrastructure (storage, silos, timeouts) are retried with backoff
/// until they pass, the slot given up while waiting, or until the silo is <paramref name="stopping"/>: then they cannot
/// pass, and what was not applied is read again after the restart. A record's processing error is the caller's to
/// handle, and so is a programming error (say, a call made from an activation that is gone): retrying it would only loop.
/// </summary>
internal sealed partial class TargetCalls(RetryPolicy retry, int maxInFlight, CancellationToken stopping = default)
{
    private readonly SemaphoreSlim _slots = new(maxInFlight, maxInFlight);

    public RetryPolicy Retry => retry;

    public async Task RunAsync(string route, Func<Task> call)
    {
        for (var attempt = 0; ; attempt++)
        {
            await _slots.WaitAsync();
            try
            {
                await call();
                return;
            }
            catch (Exception ex) when (IsInfrastructureFault(ex) && !stopping.IsCancellationRequested)
            {
                LogInfrastructureFault(retry.Logger, ex, route, attempt + 1);
            }
            finally
            {
                _slots.Release();
            }

            await Task.Delay(retry.Delay(attempt), stopping);
        }
    }

    private static bool IsInfrastructureFault(Exception ex) =>
        ex is not (RecordProcessingException or OutOfMemoryException or InvalidOperationException or ArgumentException or NullReferenceException or NotSupportedException);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: infrastructure fault (attempt {Attempt}); retrying")]
    private static partial void LogInfrastructureFault(ILogger logger, Exception exception, string route, int attempt);
}
