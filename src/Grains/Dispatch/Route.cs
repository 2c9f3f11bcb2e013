using System.Globalization;
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

/// <summary>What a dispatcher's commit needs of each of its routes, whatever their records.</summary>
internal interface IRouteProgress
{
    /// <summary>
    /// Called once per commit. Has targets persist that received nothing since the last commit and hold records
    /// unpersisted, and those that still hold unpersisted records sent two commits ago; targets that keep receiving
    /// records persist and report it on their own. When the partition has gone <paramref name="quiet"/>, no target
    /// is receiving from it: all of them persist what they hold.
    /// </summary>
    Task FlushAsync(string source, TargetCalls calls, bool quiet);

    /// <summary>
    /// The lowest offset some target has not persisted yet, or <paramref name="next"/> when every record sent is
    /// persisted: every record below it is durable.
    /// </summary>
    long DurableBefore(long next);

    /// <summary>
    /// The target that holds the durable offset at <paramref name="durable"/> (it has not persisted that record), as
    /// a log names it: the route, its key, how far it applied and how far it persisted; null when none does.
    /// </summary>
    string? Holding(long durable);

    /// <summary>Forgets what is durable: targets with nothing unpersisted, and records below <paramref name="committed"/>.</summary>
    void Forget(long committed);
}

/// <summary>
/// One kind of target of a partition's records (URL grains, user grains, dead-letter shards): groups records by
/// target key, sends each group in offset order, and keeps per target which activation took them, the last
/// offset sent and the last one the target has persisted. When a target answers from another activation, its
/// unpersisted records were lost with the old one: they are sent again, in offset order, before anything newer.
/// </summary>
internal sealed partial class Route<T>(
    string name,
    Func<T, string> keyOf,
    Func<string, ISink> resolve,
    Func<ISink, string, Guid, Positioned<T>[], Task<SinkReceipt>> apply) : IRouteProgress
{
    private readonly Dictionary<string, Target> _targets = new(StringComparer.Ordinal);

    /// <summary>Every record a target has taken, in the order sent, until the durable offset passes it.</summary>
    private readonly List<Positioned<T>> _sent = [];

    /// <summary>
    /// Records a lost activation had applied whose processing kept failing when they were sent again to the new one:
    /// no longer kept for resending, they hold the durable offset until the dispatcher has dead-lettered them.
    /// </summary>
    private readonly List<(long Offset, string Error)> _failedResends = [];

    public string Name => name;

    /// <summary>What <see cref="_failedResends"/> holds, oldest first, for the dispatcher to dead-letter.</summary>
    public IReadOnlyList<(long Offset, string Error)> FailedResends => _failedResends;

    /// <summary>The first <paramref name="count"/> failed resends are dead-lettered: they hold nothing any more.</summary>
    public void DeadLettered(int count) => _failedResends.RemoveRange(0, count);

    /// <summary>
    /// Sends the records; returns those whose processing kept failing after the retries (with why), and those
    /// the targets found late.
    /// </summary>
    public async Task<RouteResult> ApplyAsync(string source, IReadOnlyList<Positioned<T>> items, TargetCalls calls)
    {
        if (items.Count == 0)
        {
            return RouteResult.Empty;
        }

        var results = await Task.WhenAll(items
            .GroupBy(item => keyOf(item.Event), StringComparer.Ordinal)
            .Select(group => SendGroupAsync(source, group.Key, [.. group], calls)));
        return new RouteResult([.. results.SelectMany(r => r.Failures)], [.. results.SelectMany(r => r.Late)]);
    }

    public Task FlushAsync(string source, TargetCalls calls, bool quiet)
    {
        var due = new List<(string Key, long UpTo)>();
        foreach (var (key, target) in _targets)
        {
            var upTo = quiet || target.Sent == target.SentLastCommit ? target.Sent : target.SentTwoCommitsAgo;
            if (target.Persisted < upTo)
            {
                due.Add((key, upTo));
            }

            target.SentTwoCommitsAgo = target.SentLastCommit;
            target.SentLastCommit = target.Sent;
        }

        return Task.WhenAll(due.Select(d => calls.RunAsync(name, async () =>
        {
            var receipt = await resolve(d.Key).FlushAsync(source, _targets[d.Key].Activation, d.UpTo);
            while (!receipt.Accepted)
            {
                LogResend(calls.Retry.Logger, name, d.Key);
                receipt = await ResendAsync(source, d.Key, receipt.Activation, [], calls.Retry);
                if (receipt.Accepted)
                {
                    receipt = await resolve(d.Key).FlushAsync(source, receipt.Activation, d.UpTo);
                }
            }

            Track(d.Key, receipt);
        })));
    }

    public long DurableBefore(long next)
    {
        foreach (var target in _targets.Values)
        {
            if (target.Unpersisted)
            {
                next = Math.Min(next, target.Persisted + 1);
            }
        }

        foreach (var (offset, _) in _failedResends)
        {
            next = Math.Min(next, offset);
        }

        return next;
    }

    public string? Holding(long durable)
    {
        foreach (var (key, target) in _targets)
        {
            if (target.Unpersisted && target.Persisted + 1 == durable)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{name} {key} (sent up to {target.Sent}, persisted up to {target.Persisted})");
            }
        }

        foreach (var (offset, _) in _failedResends)
        {
            if (offset == durable)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{name} record {offset}, which failed when sent again and waits to be dead-lettered");
            }
        }

        return null;
    }

    public void Forget(long committed)
    {
        foreach (var (key, target) in _targets)
        {
            if (!target.Unpersisted)
            {
                _targets.Remove(key);
            }
        }

        _sent.RemoveAll(s => s.Offset < committed);
    }

    private async Task<RouteResult> SendGroupAsync(string source, string key, Positioned<T>[] items, TargetCalls calls)
    {
        var failures = new List<(long, string)>();
        var late = new List<long>();
        var pending = items;
        var attempt = 0;
        while (pending.Length > 0)
        {
            try
            {
                await calls.RunAsync(name, () => SendOnceAsync(source, key, pending, late, calls.Retry));
                break;
            }
            catch (RecordProcessingException ex)
            {
                if (await BackedOffAsync(calls.Retry, key, ex, attempt++))
                {
                    continue;
                }

                // Everything before the failing record was applied, by an activation this route may not know yet (then
                // the next commit finds it out and resends them). Skip the failing one and go on with the rest.
                if (pending[0].Offset < ex.Offset)
                {
                    Took(TargetOf(key), [.. pending.Where(p => p.Offset < ex.Offset)]);
                }

                failures.Add((ex.Offset, ex.Error));
                pending = [.. pending.Where(p => p.Offset > ex.Offset)];
                attempt = 0;
            }
        }

        return new RouteResult(failures, late);
    }

    private async Task SendOnceAsync(string source, string key, Positioned<T>[] items, List<long> late, RetryPolicy retry)
    {
        var receipt = await apply(resolve(key), source, _targets.GetValueOrDefault(key)?.Activation ?? Guid.Empty, items);
        while (!receipt.Accepted)
        {
            receipt = await ResendAsync(source, key, receipt.Activation, items, retry);
        }

        Took(Track(key, receipt), items);
        if (receipt.Late is { Length: > 0 } lateOffsets)
        {
            // Only this call's records: resent ones were reported when first sent.
            var first = items[0].Offset;
            late.AddRange(lateOffsets.Where(o => o >= first));
        }
    }

    /// <summary>
    /// Sends the target's kept records, then <paramref name="items"/>, to <paramref name="activation"/>, which answered
    /// instead of the one that took them. The lost activation applied every kept record; one whose processing fails on
    /// the new one is retried like any record, then no longer kept but noted for the dispatcher to dead-letter, and the
    /// rest go on. A failure among <paramref name="items"/> is the caller's.
    /// </summary>
    private async Task<SinkReceipt> ResendAsync(string source, string key, Guid activation, Positioned<T>[] items, RetryPolicy retry)
    {
        for (var attempt = 0; ;)
        {
            try
            {
                return await apply(resolve(key), source, activation, Resend(key, items));
            }
            catch (RecordProcessingException ex) when (items.Length == 0 || ex.Offset < items[0].Offset)
            {
                if (await BackedOffAsync(retry, key, ex, attempt++))
                {
                    continue;
                }

                // A commit and a batch may both have resent it: noted once, by whichever left it out first.
                if (_sent.RemoveAll(s => s.Offset == ex.Offset) > 0)
                {
                    _failedResends.Add((ex.Offset, ex.Error));
                }

                attempt = 0;
            }
        }
    }

    /// <summary>
    /// After a record's processing failed on its <paramref name="attempt"/>th retry (0 for the first try): waits out
    /// the backoff and returns true while retries are left (<c>Processing:MaxRetries</c>), else false at once.
    /// </summary>
    private async Task<bool> BackedOffAsync(RetryPolicy retry, string key, RecordProcessingException ex, int attempt)
    {
        if (attempt >= retry.MaxRetries)
        {
            return false;
        }

        LogRetry(retry.Logger, name, key, ex.Offset, attempt + 1, ex.Error);
        await Task.Delay(retry.Delay(attempt));
        return true;
    }

    /// <summary>Notes which activation answered for the target, and what it has persisted.</summary>
    private Target Track(string key, SinkReceipt receipt)
    {
        var target = TargetOf(key);

        // Another activation persisted only what it reports; the same one never goes back.
        target.Persisted = target.Activation == receipt.Activation ? Math.Max(target.Persisted, receipt.Persisted) : receipt.Persisted;
        target.Activation = receipt.Activation;
        return target;
    }

    /// <summary>
    /// Notes records the target has applied: counted as sent, and kept for resending at once. A commit that runs
    /// alongside the rest of the batch and finds the target on a new activation resends what is kept; kept only once
    /// the batch was done, these would be in neither activation.
    /// </summary>
    private void Took(Target target, Positioned<T>[] items)
    {
        _sent.AddRange(items);
        target.Sent = Math.Max(target.Sent, items[^1].Offset);
    }

    private Target TargetOf(string key)
    {
        if (!_targets.TryGetValue(key, out var target))
        {
            _targets[key] = target = new Target();
        }

        return target;
    }

    private Positioned<T>[] Resend(string key, Positioned<T>[] items) =>
        [.. _sent.Where(s => string.Equals(keyOf(s.Event), key, StringComparison.Ordinal)), .. items];

    private sealed class Target
    {
        public Guid Activation { get; set; }

        /// <summary>The last offset the target applied.</summary>
        public long Sent { get; set; } = -1;

        /// <summary>The last offset the target reported persisted.</summary>
        public long Persisted { get; set; } = -1;

        /// <summary>What <see cref="Sent"/> was at the last commit: equal to it when nothing arrived since.</summary>
        public long SentLastCommit { get; set; } = -1;

        public long SentTwoCommitsAgo { get; set; } = -1;

        public bool Unpersisted => Sent > Persisted;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: {Key} lost unpersisted work with its activation; resending it")]
    private static partial void LogResend(ILogger logger, string route, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: processing of {Key}@{Offset} failed (attempt {Attempt}): {Error}")]
    private static partial void LogRetry(ILogger logger, string route, string key, long offset, int attempt, string error);
}
