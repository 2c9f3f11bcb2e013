namespace OrleansStreams.Grains.Core;

/// <summary>A closed window's count; times in epoch milliseconds.</summary>
public readonly record struct ClosedWindow(long StartMs, long EndMs, long Count);

/// <summary>
/// Counts of one key per event-time window. A window is closed once the watermark passes its end plus grace;
/// a record belonging to an already closed window is late: it is not counted there (it still counts in windows
/// that are open). Closed windows are kept for queries until the watermark passes their end plus retention.
/// </summary>
public sealed class WindowCounts(WindowSpec spec, long graceMs, long retentionMs, WindowCountsState state)
{
    public WindowCountsState State => state;

    /// <summary>Counts an event; returns true if it is late for at least one of its windows.</summary>
    public bool Add(long eventMs)
    {
        var late = false;
        foreach (var start in spec.StartsFor(eventMs))
        {
            if (IsClosed(start))
            {
                late = true;
                continue;
            }

            state.Open[start] = state.Open.GetValueOrDefault(start) + 1;
        }

        return late;
    }

    /// <summary>Closes every open window whose end plus grace the watermark has passed, earliest first.</summary>
    public List<ClosedWindow> Advance(long watermarkMs)
    {
        var closed = new List<ClosedWindow>();
        if (watermarkMs <= state.Watermark)
        {
            return closed;
        }

        state.Watermark = watermarkMs;
        foreach (var start in state.Open.Keys.Where(IsClosed).Order().ToList())
        {
            var window = new ClosedWindow(start, start + spec.SizeMs, state.Open[start]);
            state.Open.Remove(start);
            state.Closed.Add(window);
            closed.Add(window);
        }

        state.Closed.RemoveAll(w => w.EndMs + retentionMs <= watermarkMs);
        return closed;
    }

    /// <summary>The last <paramref name="last"/> closed windows, latest first.</summary>
    public IEnumerable<ClosedWindow> RecentClosed(int last) =>
        state.Closed.OrderByDescending(w => w.StartMs).Take(last);

    /// <summary>Open windows, earliest first.</summary>
    public IEnumerable<ClosedWindow> Open() =>
        state.Open.OrderBy(kv => kv.Key).Select(kv => new ClosedWindow(kv.Key, kv.Key + spec.SizeMs, kv.Value));

    private bool IsClosed(long start) => start + spec.SizeMs + graceMs <= state.Watermark;
}

/// <summary>What <see cref="WindowCounts"/> keeps durable: counts of open windows by start, closed windows, and the watermark they were closed at.</summary>
public sealed class WindowCountsState
{
    public Dictionary<long, long> Open { get; set; } = [];

    public List<ClosedWindow> Closed { get; set; } = [];

    public long Watermark { get; set; } = long.MinValue;
}
