using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Runtime;
using OrleansStreams.Grains.Core;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Grains;

[GenerateSerializer, Alias("OrleansStreams.WatermarkState")]
public sealed class WatermarkState
{
    [Id(0)]
    public Dictionary<int, PartitionProgress> Partitions { get; set; } = [];

    [Id(1)]
    public long? Watermark { get; set; }
}

/// <summary>
/// Combines the partitions' event-time progress of one topic into its watermark; persisted (in the background,
/// every few seconds) so a restart keeps it. It never waits for storage: a report handled late would make every
/// other partition look idle.
/// </summary>
internal sealed partial class WatermarkGrain(
    [PersistentState("watermark", GrainStorage.Name)] IPersistentState<WatermarkState> state,
    IOptions<WindowOptions> options,
    KafkaProviderStats kafka,
    TimeProvider time,
    ILogger<WatermarkGrain> logger) : Grain, IWatermarkGrain
{
    private static readonly TimeSpan WriteEvery = TimeSpan.FromSeconds(5);
    private WatermarkTracker _tracker = null!;
    private DateTime _lastWrite;
    private Task? _writing;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        // Every partition of the topic counts from the start, not only those that have reported.
        var topic = this.GetPrimaryKeyString();
        var partitions = kafka.Topics.FirstOrDefault(t => t.Topic == topic).Partitions;
        _tracker = new WatermarkTracker((long)options.Value.OutOfOrderness.TotalMilliseconds, (long)options.Value.IdleTimeout.TotalMilliseconds, now, partitions);
        foreach (var (partition, progress) in state.State.Partitions)
        {
            // After a restart every partition starts active again: its reports resume within the idle timeout.
            _tracker.Restore(partition, progress with { LastSeenMs = now });
        }

        return base.OnActivateAsync(cancellationToken);
    }

    public Task<long?> ReportAsync(int partition, long maxEventMs)
    {
        _tracker.Observe(partition, maxEventMs, time.GetUtcNow().ToUnixTimeMilliseconds());
        var watermark = Current();
        if (_writing is not { IsCompleted: false } && time.GetUtcNow().UtcDateTime - _lastWrite > WriteEvery)
        {
            state.State.Partitions = new Dictionary<int, PartitionProgress>(_tracker.Partitions);
            state.State.Watermark = watermark;
            _lastWrite = time.GetUtcNow().UtcDateTime;
            _writing = WriteAsync();
        }

        return Task.FromResult(watermark);
    }

    public Task KeepActiveAsync(int partition)
    {
        _tracker.KeepActive(partition, time.GetUtcNow().ToUnixTimeMilliseconds());
        return Task.CompletedTask;
    }

    public Task<WatermarkReading> GetAsync() =>
        Task.FromResult(new WatermarkReading(Current(), _tracker.Active(time.GetUtcNow().ToUnixTimeMilliseconds())));

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_writing is { } writing)
        {
            await writing;
        }

        await base.OnDeactivateAsync(reason, cancellationToken);
    }

    private async Task WriteAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Kept in memory; the next report after the interval writes again.
            LogWriteFailed(ex, this.GetPrimaryKeyString());
        }
    }

    private long? Current()
    {
        var computed = _tracker.Current(time.GetUtcNow().ToUnixTimeMilliseconds());
        return (computed, state.State.Watermark) switch
        {
            ({ } c, { } s) => Math.Max(c, s),
            (null, var s) => s,
            (var c, null) => c,
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not persist the watermark of {Topic}; it is kept in memory and written again later")]
    private partial void LogWriteFailed(Exception exception, string topic);
}
