using OrleansStreams.Grains.Core;

namespace OrleansStreams.Tests.Core;

public sealed class HighWaterMarkTests
{
    [Fact]
    public void each_offset_of_a_source_is_accepted_once_in_order()
    {
        var marks = new Dictionary<string, long>();
        Assert.True(TryAdvance(marks, "pageviews/0", 0));
        Assert.True(TryAdvance(marks, "pageviews/0", 5));
        Assert.False(TryAdvance(marks, "pageviews/0", 5));
        Assert.False(TryAdvance(marks, "pageviews/0", 3));
        Assert.True(TryAdvance(marks, "pageviews/0", 6));
    }

    [Fact]
    public void a_mark_read_once_is_stored_once_and_only_if_it_moved()
    {
        var marks = new Dictionary<string, long> { ["pageviews/0"] = 7 };
        var mark = new HighWaterMark(marks, "pageviews/0");
        Assert.False(mark.IsNew(7));
        mark.Advance(8);
        mark.Advance(9);
        Assert.Equal(7, marks["pageviews/0"]);
        mark.Store();
        Assert.Equal(9, marks["pageviews/0"]);

        var untouched = new HighWaterMark(marks, "pageviews/1");
        Assert.Equal(-1, untouched.Value);
        untouched.Store();
        Assert.False(marks.ContainsKey("pageviews/1"));
    }

    [Fact]
    public void sources_are_independent()
    {
        var marks = new Dictionary<string, long>();
        Assert.True(TryAdvance(marks, "pageviews/0", 10));
        Assert.True(TryAdvance(marks, "pageviews/1", 0));
        Assert.Equal(10, marks["pageviews/0"]);
        Assert.Equal(0, marks["pageviews/1"]);
    }

    [Fact]
    public void replaying_any_prefix_of_a_sequence_applies_nothing_twice()
    {
        var random = new Random(3);
        for (var run = 0; run < 200; run++)
        {
            var marks = new Dictionary<string, long>();
            var applied = new List<long>();
            var length = random.Next(1, 50);
            var delivered = 0;
            while (delivered < length)
            {
                // read again from any offset already reached (a rewind or a restart), never skipping ahead
                var from = random.Next(0, delivered + 1);
                var upTo = random.Next(delivered, length + 1);
                for (long o = from; o < upTo; o++)
                {
                    if (TryAdvance(marks, "s", o))
                    {
                        applied.Add(o);
                    }
                }

                delivered = Math.Max(delivered, upTo);
            }

            Assert.Equal(Enumerable.Range(0, length).Select(i => (long)i), applied);
        }
    }

    /// <summary>One record at a time, as a batch of one.</summary>
    private static bool TryAdvance(Dictionary<string, long> marks, string source, long offset)
    {
        var mark = new HighWaterMark(marks, source);
        if (!mark.IsNew(offset))
        {
            return false;
        }

        mark.Advance(offset);
        mark.Store();
        return true;
    }
}
