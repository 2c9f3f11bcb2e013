using System.Runtime.InteropServices;

namespace OrleansStreams.Grains.Core;

/// <summary>
/// A buffered view or click: its URL, event time (epoch ms) and event id, if the record had one. The entry is its own
/// identity (for duplicates): two records with the same event id, or without one and with the same URL and time to
/// the millisecond, are the same record.
/// </summary>
public readonly record struct JoinEntry(string Url, long TimeMs, string? EventId = null);

/// <summary>A view followed by a click on the same URL within the join window.</summary>
public readonly record struct JoinMatch(JoinEntry View, JoinEntry Click);

/// <summary>What adding a record did: whether it was late (and so not joined), and the pairs it completed.</summary>
public readonly record struct JoinAdded(bool Late, bool Duplicate, IReadOnlyList<JoinMatch> Matches);

/// <summary>What the join keeps durable for one user.</summary>
public sealed class JoinBufferState
{
    public List<JoinEntry> Views { get; set; } = [];

    /// <summary>Buffered views that have joined at least once (for the left join).</summary>
    public HashSet<JoinEntry> Matched { get; set; } = [];

    public List<JoinEntry> Clicks { get; set; } = [];

    public long Watermark { get; set; } = long.MinValue;

    /// <summary>
    /// Set by the join working on this buffer (not stored): fills the table of URLs and each entry's place in it
    /// (views, then clicks) from the join's index by URL; false when that index no longer matches the lists.
    /// </summary>
    internal Func<List<string>, List<int>, bool>? IndexUrls { get; set; }
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
    private readonly (Side Views, Side Clicks) _sides = Index(state);
    private long _oldest = Oldest(state);

    public JoinBufferState State => state;

    public int Buffered => state.Views.Count + state.Clicks.Count;

    /// <summary>
    /// The watermark past which the oldest entry leaves the buffer: <see cref="Advance"/> to anything at or below it
    /// removes nothing (<see cref="long.MaxValue"/> when the buffer is empty).
    /// </summary>
    public long ExpiresAfter => _oldest == long.MaxValue ? long.MaxValue : _oldest + withinMs + graceMs;

    public JoinAdded AddView(JoinEntry view)
    {
        if (view.TimeMs + withinMs + graceMs < state.Watermark)
        {
            return new JoinAdded(Late: true, Duplicate: false, []);
        }

        if (!_sides.Views.TryAdd(view))
        {
            return new JoinAdded(Late: false, Duplicate: true, []);
        }

        List<JoinMatch>? matches = null;
        foreach (var click in _sides.Clicks.WithUrl(view.Url))
        {
            if (view.TimeMs <= click.TimeMs && click.TimeMs <= view.TimeMs + withinMs)
            {
                AddInTimeOrder(ref matches, new JoinMatch(view, click), static m => m.Click.TimeMs);
            }
        }

        _oldest = Math.Min(_oldest, view.TimeMs);
        if (matches is not null)
        {
            state.Matched.Add(view);
        }

        return new JoinAdded(Late: false, Duplicate: false, matches ?? (IReadOnlyList<JoinMatch>)[]);
    }

    public JoinAdded AddClick(JoinEntry click)
    {
        if (click.TimeMs + graceMs < state.Watermark)
        {
            return new JoinAdded(Late: true, Duplicate: false, []);
        }

        if (!_sides.Clicks.TryAdd(click))
        {
            return new JoinAdded(Late: false, Duplicate: true, []);
        }

        List<JoinMatch>? matches = null;
        foreach (var view in _sides.Views.WithUrl(click.Url))
        {
            if (view.TimeMs <= click.TimeMs && click.TimeMs <= view.TimeMs + withinMs)
            {
                AddInTimeOrder(ref matches, new JoinMatch(view, click), static m => m.View.TimeMs);
                state.Matched.Add(view);
            }
        }

        _oldest = Math.Min(_oldest, click.TimeMs);
        return new JoinAdded(Late: false, Duplicate: false, matches ?? (IReadOnlyList<JoinMatch>)[]);
    }

    /// <summary>Adds a match after every one not later than it: pairs come out ordered by the other side's time, ties in arrival order.</summary>
    private static void AddInTimeOrder(ref List<JoinMatch>? matches, JoinMatch match, Func<JoinMatch, long> timeOf)
    {
        matches ??= [];
        var at = matches.Count;
        while (at > 0 && timeOf(matches[at - 1]) > timeOf(match))
        {
            at--;
        }

        matches.Insert(at, match);
    }

    /// <summary>
    /// Moves the watermark: views and clicks that no record still on time could join leave the buffer. Returns the
    /// views that leave without ever joining (for a left join). Cheap when nothing leaves, so it may be called
    /// whenever the watermark moves.
    /// </summary>
    public List<JoinEntry> Advance(long watermarkMs)
    {
        if (watermarkMs <= state.Watermark)
        {
            return [];
        }

        state.Watermark = watermarkMs;
        if (ExpiresAfter >= watermarkMs)
        {
            return [];
        }

        var unmatched = new List<JoinEntry>();
        var horizon = watermarkMs - withinMs - graceMs;
        var oldestView = _sides.Views.RemoveOlderThan(horizon, v =>
        {
            if (!state.Matched.Remove(v))
            {
                unmatched.Add(v);
            }
        });
        // A view that is not late may still match a click up to `within` before the watermark's horizon.
        _oldest = Math.Min(oldestView, _sides.Clicks.RemoveOlderThan(horizon, removed: null));
        return unmatched;
    }

    /// <summary>Indexes both sides by URL, and lets the buffer's writes read their URLs off that index.</summary>
    private static (Side Views, Side Clicks) Index(JoinBufferState state)
    {
        var views = new Side(state.Views);
        var clicks = new Side(state.Clicks);
        state.IndexUrls = (table, indexes) =>
        {
            table.Clear();
            indexes.Clear();
            return views.TryIndexUrls(table, indexes, other: null) && clicks.TryIndexUrls(table, indexes, other: views);
        };
        return (views, clicks);
    }

    /// <summary>The earliest event time in the buffer (<see cref="long.MaxValue"/> when it is empty).</summary>
    private static long Oldest(JoinBufferState state)
    {
        var oldest = long.MaxValue;
        foreach (var entry in state.Views)
        {
            oldest = Math.Min(oldest, entry.TimeMs);
        }

        foreach (var entry in state.Clicks)
        {
            oldest = Math.Min(oldest, entry.TimeMs);
        }

        return oldest;
    }

    /// <summary>
    /// One side of the buffer: its list in the state, and an index of that list by URL, so that adding a record costs
    /// what its URL holds, not the user's whole buffer. The entries of a URL form a chain in arrival order (each
    /// entry's position links to the next one's), so the index holds two positions per URL and one per entry, and
    /// allocates only for a URL the side does not hold yet. A duplicate has the same URL, so it is found on its URL's chain.
    /// </summary>
    private sealed class Side
    {
        private readonly List<JoinEntry> _entries;
        private readonly Dictionary<string, Chain> _byUrl = new(StringComparer.Ordinal);

        /// <summary>For the entry at each position, the position of the next entry with its URL, or -1.</summary>
        private readonly List<int> _next = [];

        public Side(List<JoinEntry> entries)
        {
            _entries = entries;
            for (var position = 0; position < _entries.Count; position++)
            {
                var entry = _entries[position];
                var url = Link(ref CollectionsMarshal.GetValueRefOrAddDefault(_byUrl, entry.Url, out _), entry.Url, position);
                if (!ReferenceEquals(url, entry.Url))
                {
                    _entries[position] = entry with { Url = url };
                }
            }
        }

        /// <summary>The entries with this URL, in arrival order.</summary>
        public ChainEnumerator WithUrl(string url) =>
            new(this, _byUrl.TryGetValue(url, out var chain) ? chain.First : -1);

        /// <summary>Adds the entry to the list and the index, unless an equal entry is there already.</summary>
        public bool TryAdd(JoinEntry entry)
        {
            ref var chain = ref CollectionsMarshal.GetValueRefOrAddDefault(_byUrl, entry.Url, out _);
            for (var at = chain?.First ?? -1; at >= 0; at = _next[at])
            {
                if (_entries[at] == entry)
                {
                    return false;
                }
            }

            var url = Link(ref chain, entry.Url, _entries.Count);
            _entries.Add(ReferenceEquals(url, entry.Url) ? entry : entry with { Url = url });
            return true;
        }

        /// <summary>
        /// Removes the entries older than <paramref name="horizon"/> (epoch ms), handing each to <paramref name="removed"/>,
        /// and keeps the index: the list closes up in place, and each URL's chain is walked once and relinked over the
        /// positions that stay, without hashing any URL again (as rebuilding the index would, for every entry, each
        /// time the watermark moves). Returns the earliest time of those that stay (<see cref="long.MaxValue"/> when
        /// none does).
        /// </summary>
        public long RemoveOlderThan(long horizon, Action<JoinEntry>? removed)
        {
            // Where each entry moves to, or -1 when it leaves.
            Span<int> moves = _entries.Count <= 256 ? stackalloc int[_entries.Count] : new int[_entries.Count];
            var kept = 0;
            var oldest = long.MaxValue;
            for (var position = 0; position < _entries.Count; position++)
            {
                var entry = _entries[position];
                if (entry.TimeMs < horizon)
                {
                    moves[position] = -1;
                    removed?.Invoke(entry);
                    continue;
                }

                moves[position] = kept;
                _entries[kept++] = entry;
                oldest = Math.Min(oldest, entry.TimeMs);
            }

            if (kept == _entries.Count)
            {
                return oldest;
            }

            _entries.RemoveRange(kept, _entries.Count - kept);
            Span<int> next = kept <= 256 ? stackalloc int[kept] : new int[kept];
            foreach (var (url, chain) in _byUrl)
            {
                var first = -1;
                var last = -1;
                for (var at = chain.First; at >= 0; at = _next[at])
                {
                    if (moves[at] < 0)
                    {
                        continue;
                    }

                    if (last >= 0)
                    {
                        next[last] = moves[at];
                    }
                    else
                    {
                        first = moves[at];
                    }

                    last = moves[at];
                }

                if (first < 0)
                {
                    // Removing during enumeration is allowed (since .NET Core 3.0), and leaves the enumeration whole.
                    _byUrl.Remove(url);
                    continue;
                }

                next[last] = -1;
                chain.First = first;
                chain.Last = last;
            }

            _next.Clear();
            _next.AddRange(next);
            return oldest;
        }

        /// <summary>
        /// Appends to <paramref name="indexes"/> each entry's place in <paramref name="table"/>, walking each URL's chain:
        /// a URL is looked up at most once (in <paramref name="other"/>'s index, whose URLs are in the table already),
        /// never once per entry. False when the chains do not cover every entry exactly once, each with its URL (the
        /// list was changed without this side).
        /// </summary>
        public bool TryIndexUrls(List<string> table, List<int> indexes, Side? other)
        {
            if (_next.Count != _entries.Count)
            {
                return false;
            }

            var first = indexes.Count;
            CollectionsMarshal.SetCount(indexes, first + _entries.Count);
            var slots = CollectionsMarshal.AsSpan(indexes)[first..];
            slots.Fill(-1);
            var covered = 0;
            foreach (var (url, chain) in _byUrl)
            {
                if (other is not null && other._byUrl.TryGetValue(url, out var same))
                {
                    chain.TableIndex = same.TableIndex;
                }
                else
                {
                    chain.TableIndex = table.Count;
                    table.Add(url);
                }

                for (var at = chain.First; at >= 0; at = _next[at])
                {
                    // The chain's own string, as every entry of it holds; the text is compared only for a list changed without this side.
                    if (slots[at] >= 0 || !(ReferenceEquals(_entries[at].Url, url) || string.Equals(_entries[at].Url, url, StringComparison.Ordinal)))
                    {
                        return false;
                    }

                    slots[at] = chain.TableIndex;
                    covered++;
                }
            }

            return covered == _entries.Count;
        }

        /// <summary>
        /// Puts the entry at <paramref name="position"/> (the newest) at the end of its URL's chain, or starts the chain;
        /// returns the chain's string of the URL, which every entry of the chain is to hold (one string per URL: walking a
        /// chain compares references, not text).
        /// </summary>
        private string Link(ref Chain? chain, string url, int position)
        {
            if (chain is null)
            {
                chain = new Chain { Url = url, First = position, Last = position };
            }
            else
            {
                _next[chain.Last] = position;
                chain.Last = position;
            }

            _next.Add(-1);
            return chain.Url;
        }

        /// <summary>The positions of a URL's first and last entries; a class, so that expiry relinks it in place.</summary>
        private sealed class Chain
        {
            public required string Url { get; init; }

            public int First { get; set; }

            public int Last { get; set; }

            /// <summary>The URL's place in the table of the buffer's last write.</summary>
            public int TableIndex { get; set; }
        }

        /// <summary>Walks one URL's chain.</summary>
        public struct ChainEnumerator(Side side, int first)
        {
            private int _next = first;

            public JoinEntry Current { get; private set; }

            public readonly ChainEnumerator GetEnumerator() => this;

            public bool MoveNext()
            {
                if (_next < 0)
                {
                    return false;
                }

                Current = side._entries[_next];
                _next = side._next[_next];
                return true;
            }
        }
    }
}
