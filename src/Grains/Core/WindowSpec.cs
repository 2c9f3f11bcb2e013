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

    /// <summary>Starts of every window holding <paramref name="eventMs"/>, earliest first (enumerated without allocating).</summary>
    public WindowStarts StartsFor(long eventMs) =>
        new((FloorDiv(eventMs - SizeMs, HopMs) + 1) * HopMs, FloorDiv(eventMs, HopMs) * HopMs, HopMs);

    private static long FloorDiv(long a, long b) => (a / b) - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);
}

/// <summary>Window starts from <paramref name="first"/> to <paramref name="last"/>, a hop apart.</summary>
public readonly struct WindowStarts(long first, long last, long hop) : IEnumerable<long>
{
    public Enumerator GetEnumerator() => new(first, last, hop);

    IEnumerator<long> IEnumerable<long>.GetEnumerator() => GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public struct Enumerator(long first, long last, long hop) : IEnumerator<long>
    {
        private long _next = first;

        public long Current { get; private set; }

        readonly object System.Collections.IEnumerator.Current => Current;

        public bool MoveNext()
        {
            if (_next > last)
            {
                return false;
            }

            Current = _next;
            _next += hop;
            return true;
        }

        public void Reset() => throw new NotSupportedException();

        public readonly void Dispose()
        {
        }
    }
}
