namespace OrleansStreams.Grains.Core;

/// <summary>A buffered view or click: its URL, event time (epoch ms) and identity (for duplicates).</summary>
public readonly record struct JoinEntry(string Url, long TimeMs, string Id);

/// <summary>A view followed by a click on the same URL within the join window.</summary>
public readonly record struct JoinMatch(JoinEntry View, JoinEntry Click);

/// <summary>What adding a record did: whether it was late (and so not joined), and the pairs it completed.</summary>
public readonly record struct JoinAdded(bool Late, bool Duplicate, IReadOnlyList<JoinMatch> Matches);

/// <summary>What the join keeps durable for one user.</summary>
public sealed class JoinBufferState
{
    public List<JoinEntry> Views { get; set; } = [];

    /// <summary>Ids of buffered views that have joined at least once (for the left join).</summary>
    public HashSet<string> Matched { get; set; } = [];

    public List<JoinEntry> Clicks { get; set; } = [];

    public long Watermark { get; set; } = long.MinValue;
}

/// <summary>
/// The interval join of views and clicks of one user (Kafka Streams' <c>JoinWindows</c>, Flink's interval join):
/// a view and a click on the same URL join when <c>view_time &lt;= click_time &lt;= view_time + within</c>, both
/// bounds inclusive, whatever order they arrive in; every matching pair joins once. Entries expire once the
/// watermark passes their interval plus grace, so memory stays bounded; a record that arrives after that is
/// late and is not joined.
/// </summary>
public sealed class IntervalJoin(long withinMs, long graceMs, JoinBufferState state)
{
    private readonly Side _views = new(state.Views);
    private readonly Side _clicks = new(state.Clicks);

    public JoinBufferState State => state;

    public int Buffered => state.Views.Count + state.Clicks.Count;

    public JoinAdded AddView(JoinEntry view)
    {
        if (view.TimeMs + withinMs + graceMs < state.Watermark)
        {
            return new JoinAdded(Late: true, Duplicate: false, []);
        }

        if (_views.Contains(view.Id))
        {
            return new JoinAdded(Late: false, Duplicate: true, []);
        }

        var matches = _clicks.WithUrl(view.Url)
            .Where(c => view.TimeMs <= c.TimeMs && c.TimeMs <= view.TimeMs + withinMs)
            .OrderBy(c => c.TimeMs)
            .Select(c => new JoinMatch(view, c))
            .ToList();
        state.Views.Add(view);
        _views.Add(view);
        if (matches.Count > 0)
        {
            state.Matched.Add(view.Id);
        }

        return new JoinAdded(Late: false, Duplicate: false, matches);
    }

    public JoinAdded AddClick(JoinEntry click)
    {
        if (click.TimeMs + graceMs < state.Watermark)
        {
            return new JoinAdded(Late: true, Duplicate: false, []);
        }

        if (_clicks.Contains(click.Id))
        {
            return new JoinAdded(Late: false, Duplicate: true, []);
        }

        var matches = _views.WithUrl(click.Url)
            .Where(v => v.TimeMs <= click.TimeMs && click.TimeMs <= v.TimeMs + withinMs)
            .OrderBy(v => v.TimeMs)
            .Select(v => new JoinMatch(v, click))
            .ToList();
        state.Clicks.Add(click);
        _clicks.Add(click);
        foreach (var match in matches)
        {
            state.Matched.Add(match.View.Id);
        }

        return new JoinAdded(Late: false, Duplicate: false, matches);
    }

    /// <summary>
    /// Moves the watermark: views and clicks that no record still on time could join leave the buffer. Returns the views that leave without ever joining (for a left join).
    /// </summary>
    public List<JoinEntry> Advance(long watermarkMs)
    {
        if (watermarkMs <= state.Watermark)
        {
            return [];
        }

        state.Watermark = watermarkMs;
        var unmatched = new List<JoinEntry>();
        state.Views.RemoveAll(v =>
        {
            if (v.TimeMs + withinMs + graceMs >= watermarkMs)
            {
                return false;
            }

            if (!state.Matched.Remove(v.Id))
            {
                unmatched.Add(v);
            }

            return true;
        });
        // A view that is not late may still match a click up to `within` before the watermark's horizon.
        state.Clicks.RemoveAll(c => c.TimeMs + withinMs + graceMs < watermarkMs);
        _views.Rebuild(state.Views);
        _clicks.Rebuild(state.Clicks);
        return unmatched;
    }

    /// <summary>
    /// One side of the buffer indexed in memory, in step with its list in the state: ids for duplicates and entries
    /// by URL for matching, so adding a record costs what its URL holds, not the user's whole buffer.
    /// </summary>
    private sealed class Side
    {
        private readonly HashSet<string> _ids = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<JoinEntry>> _byUrl = new(StringComparer.Ordinal);

        public Side(List<JoinEntry> entries) => Rebuild(entries);

        public bool Contains(string id) => _ids.Contains(id);

        public IReadOnlyList<JoinEntry> WithUrl(string url) => _byUrl.TryGetValue(url, out var entries) ? entries : [];

        public void Add(JoinEntry entry)
        {
            _ids.Add(entry.Id);
            if (!_byUrl.TryGetValue(entry.Url, out var entries))
            {
                _byUrl[entry.Url] = entries = [];
            }

            entries.Add(entry);
        }

        public void Rebuild(List<JoinEntry> entries)
        {
            _ids.Clear();
            _byUrl.Clear();
            foreach (var entry in entries)
            {
                Add(entry);
            }
        }
    }
}
