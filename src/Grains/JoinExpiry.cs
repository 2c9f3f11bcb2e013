using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;

namespace OrleansStreams.Grains;

/// <summary>
/// Wakes user grains once the join watermark (as this silo reads it) has passed their oldest buffered entry, so that
/// what no record can join any more leaves their buffers, and a left join emits it, also when no records arrive. Each
/// user kept a timer of its own before, ticking every 5 s while it buffered anything: with 200,000 users buffering a
/// view each while a backlog was read, that was 3.4 ticks per view, nearly all of which found nothing to expire.
/// </summary>
public sealed partial class JoinExpiry(IGrainFactory grains, WatermarkCache watermarks, ILogger<JoinExpiry> logger) : BackgroundService
{
    /// <summary>How often the watermark is looked at: as often as this silo reads it.</summary>
    private static readonly TimeSpan Check = TimeSpan.FromMilliseconds(500);

    /// <summary>Wakes in flight at once, so that a watermark that passes many users at once does not flood the silo.</summary>
    private const int WakesInFlight = 1000;

    private readonly Lock _lock = new();

    /// <summary>Users by the watermark they wait to be passed, earliest first; an entry its user no longer waits for is skipped.</summary>
    private readonly PriorityQueue<string, long> _queue = new();

    /// <summary>Per user, the watermark it waits to be passed.</summary>
    private readonly Dictionary<string, long> _waiting = new(StringComparer.Ordinal);

    /// <summary>
    /// Has <paramref name="userId"/> woken (<see cref="IUserGrain.ExpireAsync"/>) once the join watermark passes
    /// <paramref name="expiresAfter"/>, or sooner when it waits for an earlier one already; nothing for
    /// <see cref="long.MaxValue"/> (an empty buffer).
    /// </summary>
    public void WakeAfter(string userId, long expiresAfter)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (expiresAfter == long.MaxValue)
        {
            return;
        }

        lock (_lock)
        {
            if (_waiting.TryGetValue(userId, out var waiting) && waiting <= expiresAfter)
            {
                return;
            }

            _waiting[userId] = expiresAfter;
            _queue.Enqueue(userId, expiresAfter);
        }
    }

    /// <summary>Stops waking <paramref name="userId"/> for the watermark it waits for now.</summary>
    public void Forget(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        lock (_lock)
        {
            // Its entry in the queue is skipped when it comes up.
            _waiting.Remove(userId);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Check);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                while (watermarks.Join is { } watermark && TakeDue(watermark) is { Count: > 0 } due)
                {
                    await Task.WhenAll(due.Select(WakeAsync));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Up to <see cref="WakesInFlight"/> users whose watermark <paramref name="watermark"/> has passed, no longer waiting.</summary>
    private List<(string UserId, long ExpiresAfter)> TakeDue(long watermark)
    {
        var due = new List<(string, long)>();
        lock (_lock)
        {
            while (due.Count < WakesInFlight && _queue.TryPeek(out var userId, out var expiresAfter) && expiresAfter < watermark)
            {
                _queue.Dequeue();
                if (_waiting.TryGetValue(userId, out var waiting) && waiting == expiresAfter)
                {
                    _waiting.Remove(userId);
                    due.Add((userId, expiresAfter));
                }
            }
        }

        return due;
    }

    private async Task WakeAsync((string UserId, long ExpiresAfter) due)
    {
        try
        {
            // The user asks to be woken again if entries remain.
            await grains.GetKeyed<IUserGrain>(due.UserId).ExpireAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Its entries stay buffered until it is woken at the next check.
            LogWakeFailed(ex, due.UserId);
            WakeAfter(due.UserId, due.ExpiresAfter);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not wake {UserId} to expire its join buffer; trying again")]
    private partial void LogWakeFailed(Exception exception, string userId);
}
