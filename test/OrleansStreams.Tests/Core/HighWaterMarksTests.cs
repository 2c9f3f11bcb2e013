using OrleansStreams.Grains.Core;

namespace OrleansStreams.Tests.Core;

public sealed class HighWaterMarksTests
{
    [Fact]
    public void each_offset_of_a_source_is_accepted_once_in_order()
    {
        var marks = new Dictionary<string, long>();
        Assert.True(HighWaterMarks.TryAdvance(marks, "pageviews/0", 0));
        Assert.True(HighWaterMarks.TryAdvance(marks, "pageviews/0", 5));
        Assert.False(HighWaterMarks.TryAdvance(marks, "pageviews/0", 5));
        Assert.False(HighWaterMarks.TryAdvance(marks, "pageviews/0", 3));
        Assert.True(HighWaterMarks.TryAdvance(marks, "pageviews/0", 6));
    }

    [Fact]
    public void sources_are_independent()
    {
        var marks = new Dictionary<string, long>();
        Assert.True(HighWaterMarks.TryAdvance(marks, "pageviews/0", 10));
        Assert.True(HighWaterMarks.TryAdvance(marks, "pageviews/1", 0));
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
                    if (HighWaterMarks.TryAdvance(marks, "s", o))
                    {
                        applied.Add(o);
                    }
                }

                delivered = Math.Max(delivered, upTo);
            }

            Assert.Equal(Enumerable.Range(0, length).Select(i => (long)i), applied);
        }
    }
}
