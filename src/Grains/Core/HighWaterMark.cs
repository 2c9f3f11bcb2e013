namespace OrleansStreams.Grains.Core;

/// <summary>
/// Exactly-once application of partition-ordered records: per source partition, the highest offset applied.
/// A record at or below it has been applied already. A batch of one source's records reads the mark once,
/// advances it as each record is applied, and stores it back once.
/// </summary>
public sealed class HighWaterMark
{
    private readonly Dictionary<string, long> _marks;
    private readonly string _source;
    private readonly long _loaded;

    public HighWaterMark(Dictionary<string, long> marks, string source)
    {
        ArgumentNullException.ThrowIfNull(marks);
        _marks = marks;
        _source = source;
        _loaded = Value = marks.TryGetValue(source, out var mark) ? mark : -1;
    }

    /// <summary>The highest offset applied; -1 when none is.</summary>
    public long Value { get; private set; }

    /// <summary>Whether <paramref name="offset"/> has not been applied yet.</summary>
    public bool IsNew(long offset) => offset > Value;

    /// <summary>Notes <paramref name="offset"/>, a new one, as applied.</summary>
    public void Advance(long offset) => Value = Math.Max(Value, offset);

    /// <summary>Writes the mark back to the marks it was read from, if it moved.</summary>
    public void Store()
    {
        if (Value != _loaded)
        {
            _marks[_source] = Value;
        }
    }
}
