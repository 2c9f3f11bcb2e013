namespace OrleansStreams.Grains.Core;

/// <summary>
/// Tumbling (hop = size) or hopping windows over event time, half-open <c>[start, start + size)</c>, aligned to
/// the epoch: window starts are multiples of the hop.
/// </summary>
public sealed record WindowSpec
{
    public WindowSpec(long sizeMs, long hopMs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sizeMs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hopMs, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hopMs, sizeMs);
        SizeMs = sizeMs;
        HopMs = hopMs;
    }

    public long SizeMs { get; }

    public long HopMs { get; }

    public static WindowSpec Tumbling(TimeSpan size) => new((long)size.TotalMilliseconds, (long)size.TotalMilliseconds);

    public static WindowSpec Hopping(TimeSpan size, TimeSpan hop) => new((long)size.TotalMilliseconds, (long)hop.TotalMilliseconds);

    /// <summary>Starts of every window holding <paramref name="eventMs"/>, earliest first.</summary>
    public IEnumerable<long> StartsFor(long eventMs)
    {
        var last = FloorDiv(eventMs, HopMs) * HopMs;
        var first = (FloorDiv(eventMs - SizeMs, HopMs) + 1) * HopMs;
        for (var start = first; start <= last; start += HopMs)
        {
            yield return start;
        }
    }

    private static long FloorDiv(long a, long b) => (a / b) - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);
}
