namespace OrleansStreams.Grains.Core;

/// <summary>
/// Deduplication of events a producer sent twice (same <c>event_id</c>) within a bounded horizon of event time:
/// ids of events older than the newest seen minus the horizon are forgotten, so memory stays bounded.
/// </summary>
public static class EventIds
{
    /// <summary>Records <paramref name="id"/>; false if it was seen already (a duplicate).</summary>
    public static bool TryAdd(Dictionary<string, long> seen, string id, long eventMs, long horizonMs)
    {
        ArgumentNullException.ThrowIfNull(seen);
        if (!seen.TryAdd(id, eventMs))
        {
            return false;
        }

        // Prune now and then (amortised): when the set has doubled since it was last pruned.
        if (seen.Count >= 64 && (seen.Count & (seen.Count - 1)) == 0)
        {
            var newest = seen.Values.Max();
            foreach (var old in seen.Where(kv => kv.Value < newest - horizonMs).Select(kv => kv.Key).ToList())
            {
                seen.Remove(old);
            }
        }

        return true;
    }
}
