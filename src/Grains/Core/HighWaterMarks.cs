namespace OrleansStreams.Grains.Core;

/// <summary>
/// Exactly-once application of partition-ordered records: per source partition, the highest offset applied.
/// A record at or below it has been applied already.
/// </summary>
public static class HighWaterMarks
{
    /// <summary>Whether <paramref name="offset"/> of <paramref name="source"/> has not been applied yet.</summary>
    public static bool IsNew(Dictionary<string, long> marks, string source, long offset)
    {
        ArgumentNullException.ThrowIfNull(marks);
        return !marks.TryGetValue(source, out var mark) || offset > mark;
    }

    /// <summary>Advances the mark of <paramref name="source"/> to <paramref name="offset"/> if it is new.</summary>
    public static bool TryAdvance(Dictionary<string, long> marks, string source, long offset)
    {
        if (!IsNew(marks, source, offset))
        {
            return false;
        }

        marks[source] = offset;
        return true;
    }
}
