using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansStreams.Grains.Dispatch;

/// <summary>
/// How many grain calls (applies and flushes) this silo's partition dispatchers may have outstanding at once
/// (<c>Processing:MaxCallsInFlight</c>), shared by all of them: a burst of many distinct keys waits for a slot here
/// instead of flooding the silos until calls time out, however many partitions the silo runs.
/// </summary>
public sealed class CallSlots(IOptions<ProcessingOptions> options)
{
    internal SemaphoreSlim Semaphore { get; } = new(options.Value.MaxCallsInFlight, options.Value.MaxCallsInFlight);
}

/// <summary>
/// How a dispatcher calls its targets, on every route: each call holds one of the silo's <see cref="CallSlots"/>,
/// and faults of the infrastructure (storage, silos, timeouts) are retried with backoff until they pass, the slot
/// given up while waiting. A record's processing error is the caller's to handle.
/// </summary>
internal sealed partial class TargetCalls(RetryPolicy retry, CallSlots slots)
{
    public RetryPolicy Retry => retry;

    public async Task RunAsync(string route, Func<Task> call)
    {
        for (var attempt = 0; ; attempt++)
        {
            await slots.Semaphore.WaitAsync();
            try
            {
                await call();
                return;
            }
            catch (Exception ex) when (ex is not RecordProcessingException and not OutOfMemoryException)
            {
                LogInfrastructureFault(retry.Logger, ex, route, attempt + 1);
            }
            finally
            {
                slots.Semaphore.Release();
            }

            await Task.Delay(retry.Delay(attempt));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: infrastructure fault (attempt {Attempt}); retrying")]
    private static partial void LogInfrastructureFault(ILogger logger, Exception exception, string route, int attempt);
}
