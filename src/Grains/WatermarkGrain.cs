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

/// <summary>Combines the partitions' event-time progress of one topic into its watermark; persisted so a restart keeps it.</summary>
internal sealed class WatermarkGrain(
    [PersistentState("watermark", GrainStorage.Name)] IPersistentState<WatermarkState> state,
    IOptions<WindowOptions> options,
    KafkaProviderStats kafka,
    TimeProvider time) : Grain, IWatermarkGrain
{
    private WatermarkTracker _tracker = null!;
    private DateTime _lastWrite;

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

    public async Task<long?> ReportAsync(int partition, long maxEventMs)
    {
        _tracker.Observe(partition, maxEventMs, time.GetUtcNow().ToUnixTimeMilliseconds());
        var watermark = Current();
        if (time.GetUtcNow().UtcDateTime - _lastWrite > TimeSpan.FromSeconds(5))
        {
            state.State.Partitions = new Dictionary<int, PartitionProgress>(_tracker.Partitions);
            state.State.Watermark = watermark;
            await state.WriteStateAsync();
            _lastWrite = time.GetUtcNow().UtcDateTime;
        }

        return watermark;
    }

    public Task KeepActiveAsync(int partition)
    {
        _tracker.KeepActive(partition, time.GetUtcNow().ToUnixTimeMilliseconds());
        return Task.CompletedTask;
    }

    public Task<long?> GetAsync() => Task.FromResult(Current());

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
}
