using Microsoft.Extensions.Logging;

namespace OrleansStreams.Grains.Dispatch;

/// <summary>What a route reports back about a batch.</summary>
internal sealed record RouteResult(List<(long Offset, string Error)> Failures, List<long> Late)
{
    public static readonly RouteResult Empty = new([], []);
}

/// <summary>How a dispatcher retries: processing errors a bounded number of times, infrastructure faults until they pass.</summary>
internal sealed record RetryPolicy(int MaxRetries, TimeSpan BaseDelay, ILogger Logger)
{
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(5);

    public TimeSpan Delay(int attempt) =>
        TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, BaseDelay.Ticks * (1L << Math.Min(attempt, 20))));
}

/// <summary>
/// One kind of target of a partition's records (URL grains, user grains, dead-letter shards): groups records by
/// target key, sends each group in offset order, and remembers which activation took them since the last
/// commit. When a target answers from another activation, its unflushed records were lost with the old one:
/// they are sent again, in offset order, before anything newer.
/// </summary>
internal sealed partial class Route<T>(
    string name,
    Func<T, string> keyOf,
    Func<string, ISink> resolve,
    Func<ISink, string, Guid, Positioned<T>[], Task<SinkReceipt>> apply)
{
    private readonly Dictionary<string, Guid> _touched = new(StringComparer.Ordinal);
    private readonly List<Positioned<T>> _sent = [];

    public string Name => name;

    /// <summary>
    /// Sends the records; returns those whose processing kept failing after the retries (with why), and those
    /// the targets found late.
    /// </summary>
    public async Task<RouteResult> ApplyAsync(string source, IReadOnlyList<Positioned<T>> items, RetryPolicy retry)
    {
        if (items.Count == 0)
        {
            return RouteResult.Empty;
        }

        var results = await Task.WhenAll(items
            .GroupBy(item => keyOf(item.Event), StringComparer.Ordinal)
            .Select(group => SendGroupAsync(source, group.Key, [.. group], retry)));
        var failures = results.SelectMany(r => r.Failures).ToList();
        var failed = failures.Select(f => f.Offset).ToHashSet();
        _sent.AddRange(failed.Count == 0 ? items : items.Where(i => !failed.Contains(i.Offset)));
        return new RouteResult(failures, [.. results.SelectMany(r => r.Late)]);
    }

    /// <summary>Persists every target touched since the last commit.</summary>
    public Task FlushAsync(string source, RetryPolicy retry) =>
        Task.WhenAll(_touched.ToArray().Select(entry => WithInfrastructureRetries(retry, async () =>
        {
            var receipt = await resolve(entry.Key).FlushAsync(_touched[entry.Key]);
            while (!receipt.Accepted)
            {
                LogResend(retry.Logger, name, entry.Key);
                receipt = await apply(resolve(entry.Key), source, receipt.Activation, Resend(entry.Key, []));
                if (receipt.Accepted)
                {
                    _touched[entry.Key] = receipt.Activation;
                    receipt = await resolve(entry.Key).FlushAsync(receipt.Activation);
                }
            }
        })));

    /// <summary>Forgets what was sent: called once it is all durably committed.</summary>
    public void Clear()
    {
        _touched.Clear();
        _sent.Clear();
    }

    private async Task<RouteResult> SendGroupAsync(string source, string key, Positioned<T>[] items, RetryPolicy retry)
    {
        var failures = new List<(long, string)>();
        var late = new List<long>();
        var pending = items;
        var attempt = 0;
        while (pending.Length > 0)
        {
            try
            {
                await WithInfrastructureRetries(retry, () => SendOnceAsync(source, key, pending, late));
                break;
            }
            catch (RecordProcessingException ex)
            {
                if (attempt < retry.MaxRetries)
                {
                    LogRetry(retry.Logger, name, key, ex.Offset, attempt + 1, ex.Error);
                    await Task.Delay(retry.Delay(attempt++));
                    continue;
                }

                // Everything before the failing record was applied; skip it and go on with the rest.
                failures.Add((ex.Offset, ex.Error));
                pending = [.. pending.Where(p => p.Offset > ex.Offset)];
                attempt = 0;
            }
        }

        return new RouteResult(failures, late);
    }

    private async Task SendOnceAsync(string source, string key, Positioned<T>[] items, List<long> late)
    {
        var grain = resolve(key);
        var receipt = await apply(grain, source, _touched.GetValueOrDefault(key), items);
        while (!receipt.Accepted)
        {
            receipt = await apply(grain, source, receipt.Activation, Resend(key, items));
        }

        _touched[key] = receipt.Activation;
        if (receipt.Late is { Length: > 0 } lateOffsets)
        {
            // Only this call's records: resent ones were reported when first sent.
            var first = items[0].Offset;
            late.AddRange(lateOffsets.Where(o => o >= first));
        }
    }

    private Positioned<T>[] Resend(string key, Positioned<T>[] items) =>
        [.. _sent.Where(s => string.Equals(keyOf(s.Event), key, StringComparison.Ordinal)), .. items];

    /// <summary>Retries faults of the infrastructure (storage, silos, timeouts) with backoff until they pass.</summary>
    private async Task WithInfrastructureRetries(RetryPolicy retry, Func<Task> action)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await action();
                return;
            }
            catch (Exception ex) when (ex is not RecordProcessingException and not OutOfMemoryException)
            {
                LogInfrastructureFault(retry.Logger, ex, name, attempt + 1);
                await Task.Delay(retry.Delay(attempt));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: {Key} lost unflushed work with its activation; resending it")]
    private static partial void LogResend(ILogger logger, string route, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: processing of {Key}@{Offset} failed (attempt {Attempt}): {Error}")]
    private static partial void LogRetry(ILogger logger, string route, string key, long offset, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: infrastructure fault (attempt {Attempt}); retrying")]
    private static partial void LogInfrastructureFault(ILogger logger, Exception exception, string route, int attempt);
}
