namespace OrleansStreams.Grains.Core;

/// <summary>Progress of one partition: the largest event time seen and when (wall clock) it last had records.</summary>
public readonly record struct PartitionProgress(long MaxEventMs, long LastSeenMs);

/// <summary>
/// The pipeline watermark. A partition's watermark is its largest event time minus the allowed
/// out-of-orderness; the pipeline's is the minimum over active partitions. A partition with no records for
/// longer than the idle timeout stops holding it back; when every partition is idle, event time advances with
/// the wall clock from where each partition stopped, so the last windows close when the stream goes quiet.
/// The watermark never goes back.
/// </summary>
public sealed class WatermarkTracker(long outOfOrdernessMs, long idleTimeoutMs, long startedAtMs = 0)
{
    private readonly Dictionary<int, PartitionProgress> _partitions = [];
    private long? _watermark;

    public IReadOnlyDictionary<int, PartitionProgress> Partitions => _partitions;

    /// <summary>Records that <paramref name="partition"/> has seen event times up to <paramref name="maxEventMs"/> at wall-clock <paramref name="nowMs"/>.</summary>
    public void Observe(int partition, long maxEventMs, long nowMs)
    {
        var max = _partitions.TryGetValue(partition, out var known) ? Math.Max(known.MaxEventMs, maxEventMs) : maxEventMs;
        _partitions[partition] = new PartitionProgress(max, nowMs);
    }

    /// <summary>Restores a partition's progress (after a restart).</summary>
    public void Restore(int partition, PartitionProgress progress) => _partitions[partition] = progress;

    /// <summary>The pipeline watermark at wall-clock <paramref name="nowMs"/>, or null before any record.</summary>
    public long? Current(long nowMs)
    {
        if (_partitions.Count == 0)
        {
            return _watermark;
        }

        // Right after a start, no partition counts as idle: their reports may simply not have arrived yet.
        var idleCounts = nowMs - startedAtMs >= idleTimeoutMs;
        long? activeMin = null;
        long idleMax = long.MinValue;
        foreach (var progress in _partitions.Values)
        {
            var own = progress.MaxEventMs - outOfOrdernessMs;
            var quiet = nowMs - progress.LastSeenMs;
            if (idleCounts && quiet > idleTimeoutMs)
            {
                idleMax = Math.Max(idleMax, own + (quiet - idleTimeoutMs));
            }
            else
            {
                activeMin = activeMin is { } m ? Math.Min(m, own) : own;
            }
        }

        var candidate = activeMin ?? idleMax;
        _watermark = _watermark is { } previous ? Math.Max(previous, candidate) : candidate;
        return _watermark;
    }
}
