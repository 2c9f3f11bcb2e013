namespace OrleansStreams.Grains.Core;

/// <summary>
/// Progress of one partition: the largest event time it has applied (<see cref="long.MinValue"/> while it has
/// applied none) and when (wall clock) it last reported.
/// </summary>
public readonly record struct PartitionProgress(long MaxEventMs, long LastSeenMs)
{
    public bool HasEventTime => MaxEventMs != long.MinValue;
}

/// <summary>
/// The pipeline watermark. A partition's watermark is its largest event time minus the allowed
/// out-of-orderness; the pipeline's is the minimum over active partitions. A partition that has not reported
/// for longer than the idle timeout stops holding it back; when every partition is idle, event time advances
/// with the wall clock from where each partition stopped, so the last windows close when the stream goes quiet.
/// A partition still applying its first records (<see cref="KeepActive"/>) holds the watermark where it is.
/// The watermark never goes back. With <c>expectedPartitions</c> known, a partition that has not reported yet
/// holds the watermark back like an active one until the idle timeout has passed since the start.
/// </summary>
public sealed class WatermarkTracker(long outOfOrdernessMs, long idleTimeoutMs, long startedAtMs = 0, int expectedPartitions = 0)
{
    private readonly Dictionary<int, PartitionProgress> _partitions = [];
    private long? _watermark;

    public IReadOnlyDictionary<int, PartitionProgress> Partitions => _partitions;

    /// <summary>Records that <paramref name="partition"/> has applied event times up to <paramref name="maxEventMs"/> at wall-clock <paramref name="nowMs"/>.</summary>
    public void Observe(int partition, long maxEventMs, long nowMs)
    {
        var max = _partitions.TryGetValue(partition, out var known) ? Math.Max(known.MaxEventMs, maxEventMs) : maxEventMs;
        _partitions[partition] = new PartitionProgress(max, nowMs);
    }

    /// <summary>
    /// Records that <paramref name="partition"/> is busy applying records at wall-clock <paramref name="nowMs"/>:
    /// however long that takes, it is not idle.
    /// </summary>
    public void KeepActive(int partition, long nowMs) =>
        _partitions[partition] = _partitions.TryGetValue(partition, out var known)
            ? known with { LastSeenMs = nowMs }
            : new PartitionProgress(long.MinValue, nowMs);

    /// <summary>Restores a partition's progress (after a restart).</summary>
    public void Restore(int partition, PartitionProgress progress) => _partitions[partition] = progress;

    /// <summary>
    /// Whether some partition is active at wall-clock <paramref name="nowMs"/>: it reported within the idle
    /// timeout, or, before the idle timeout has passed since the start, not every expected partition has reported.
    /// </summary>
    public bool Active(long nowMs) =>
        AwaitingExpected(nowMs) || _partitions.Values.Any(p => nowMs - p.LastSeenMs <= idleTimeoutMs);

    /// <summary>The pipeline watermark at wall-clock <paramref name="nowMs"/>, or null before any record.</summary>
    public long? Current(long nowMs)
    {
        // Right after a start, no partition counts as idle: their reports may simply not have arrived yet.
        var idleCounts = nowMs - startedAtMs >= idleTimeoutMs;
        if (_partitions.Count == 0 || AwaitingExpected(nowMs))
        {
            return _watermark;
        }

        long? activeMin = null;
        long? idleMax = null;
        foreach (var progress in _partitions.Values)
        {
            var quiet = nowMs - progress.LastSeenMs;
            var idle = idleCounts && quiet > idleTimeoutMs;
            if (!progress.HasEventTime)
            {
                if (idle)
                {
                    continue;
                }

                // Active without an event time yet: nothing may pass what it is about to apply.
                return _watermark;
            }

            var own = progress.MaxEventMs - outOfOrdernessMs;
            if (idle)
            {
                idleMax = Math.Max(idleMax ?? long.MinValue, own + (quiet - idleTimeoutMs));
            }
            else
            {
                activeMin = Math.Min(activeMin ?? long.MaxValue, own);
            }
        }

        if ((activeMin ?? idleMax) is not { } candidate)
        {
            return _watermark;
        }

        _watermark = _watermark is { } previous ? Math.Max(previous, candidate) : candidate;
        return _watermark;
    }

    /// <summary>Before the idle timeout has passed since the start, partitions that have not reported yet may still come.</summary>
    private bool AwaitingExpected(long nowMs) => nowMs - startedAtMs < idleTimeoutMs && _partitions.Count < expectedPartitions;
}
