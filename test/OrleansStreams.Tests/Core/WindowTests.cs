using OrleansStreams.Grains.Core;

namespace OrleansStreams.Tests.Core;

public sealed class WindowSpecTests
{
    private static readonly WindowSpec Minute = WindowSpec.Tumbling(TimeSpan.FromMinutes(1));

    [Theory]
    [InlineData(0, 0)]
    [InlineData(59_999, 0)]
    [InlineData(60_000, 60_000)]
    [InlineData(60_001, 60_000)]
    [InlineData(-1, -60_000)]
    public void tumbling_window_is_half_open_start_inclusive_end_exclusive(long eventMs, long start) =>
        Assert.Equal([start], Minute.StartsFor(eventMs));

    [Fact]
    public void hopping_window_counts_a_record_in_every_window_that_holds_it()
    {
        var spec = WindowSpec.Hopping(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(20));
        Assert.Equal([0L, 20_000L, 40_000L], spec.StartsFor(59_999));
        Assert.Equal([20_000L, 40_000L, 60_000L], spec.StartsFor(60_000));
        Assert.Equal([-40_000L, -20_000L, 0L], spec.StartsFor(19_999));
    }

    [Fact]
    public void every_window_returned_holds_the_event_and_no_other_does()
    {
        var random = new Random(5);
        for (var i = 0; i < 2_000; i++)
        {
            var size = random.Next(1, 100) * 1000L;
            var hop = Math.Max(1, size / random.Next(1, 6));
            var spec = new WindowSpec(size, hop);
            var t = random.NextInt64(-1_000_000, 1_000_000);
            var starts = spec.StartsFor(t).ToList();
            Assert.All(starts, s => Assert.True(s <= t && t < s + size && s % hop == 0));
            var lowest = ((t - size) / hop) - 2;
            var expected = Enumerable.Range(0, (int)(size / hop) + 5).Select(k => (lowest + k) * hop).Where(s => s <= t && t < s + size).ToList();
            Assert.Equal(expected, starts);
        }
    }

    [Fact]
    public void hop_larger_than_size_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new WindowSpec(1000, 2000));
}

public sealed class WatermarkTrackerTests
{
    private const long Ooo = 10_000;
    private const long Idle = 30_000;

    [Fact]
    public void no_watermark_before_any_record() =>
        Assert.Null(new WatermarkTracker(Ooo, Idle).Current(1_000));

    [Fact]
    public void pipeline_watermark_is_the_minimum_over_active_partitions_minus_out_of_orderness()
    {
        var tracker = new WatermarkTracker(Ooo, Idle, startedAtMs: 0);
        tracker.Observe(0, 100_000, nowMs: 50_000);
        tracker.Observe(1, 70_000, nowMs: 50_000);
        Assert.Equal(60_000, tracker.Current(51_000));
    }

    [Fact]
    public void an_idle_partition_stops_holding_the_watermark_back()
    {
        var tracker = new WatermarkTracker(Ooo, Idle, startedAtMs: 0);
        tracker.Observe(0, 70_000, nowMs: 40_000);
        tracker.Observe(1, 200_000, nowMs: 40_000);
        Assert.Equal(60_000, tracker.Current(41_000));
        tracker.Observe(1, 300_000, nowMs: 80_000);
        Assert.Equal(290_000, tracker.Current(80_001));
    }

    [Fact]
    public void when_every_partition_is_idle_event_time_advances_with_the_wall_clock()
    {
        var tracker = new WatermarkTracker(Ooo, Idle, startedAtMs: 0);
        tracker.Observe(0, 100_000, nowMs: 40_000);
        Assert.Equal(90_000, tracker.Current(60_000));
        Assert.Equal(90_000, tracker.Current(40_000 + Idle));
        Assert.Equal(90_000 + 5_000, tracker.Current(40_000 + Idle + 5_000));
    }

    [Fact]
    public void a_topic_is_active_while_a_partition_reports_or_expected_ones_may_still_come()
    {
        var tracker = new WatermarkTracker(Ooo, Idle, startedAtMs: 0, expectedPartitions: 2);
        Assert.True(tracker.Active(1_000));
        tracker.KeepActive(0, nowMs: 20_000);
        Assert.True(tracker.Active(20_000 + Idle));
        Assert.False(tracker.Active(20_000 + Idle + 1));
        tracker.Observe(1, 100_000, nowMs: 60_000);
        Assert.True(tracker.Active(60_000 + Idle));
    }

    [Fact]
    public void right_after_a_start_no_partition_counts_as_idle()
    {
        var tracker = new WatermarkTracker(Ooo, Idle, startedAtMs: 1_000_000);
        tracker.Restore(0, new PartitionProgress(50_000, 0));
        tracker.Observe(1, 500_000, nowMs: 1_000_100);
        Assert.Equal(40_000, tracker.Current(1_000_200));
    }

    [Fact]
    public void a_partition_that_has_not_reported_holds_the_watermark_back_until_the_idle_timeout()
    {
        var tracker = new WatermarkTracker(Ooo, Idle, startedAtMs: 0, expectedPartitions: 2);
        tracker.Observe(0, 100_000, nowMs: 1_000);
        Assert.Null(tracker.Current(2_000));
        tracker.Observe(0, 100_000, nowMs: Idle + 1_000);
        Assert.Equal(90_000, tracker.Current(Idle + 2_000));

        var complete = new WatermarkTracker(Ooo, Idle, startedAtMs: 0, expectedPartitions: 2);
        complete.Observe(0, 100_000, nowMs: 1_000);
        complete.Observe(1, 50_000, nowMs: 1_500);
        Assert.Equal(40_000, complete.Current(2_000));
    }

    [Fact]
    public void a_partition_kept_active_is_never_idle_however_long_its_batch_takes()
    {
        var tracker = new WatermarkTracker(Ooo, Idle, startedAtMs: 0);
        tracker.Observe(0, 100_000, nowMs: 0);
        tracker.Observe(1, 500_000, nowMs: 0);
        for (var now = Idle / 3; now <= 4 * Idle; now += Idle / 3)
        {
            tracker.KeepActive(0, now);
            tracker.Observe(1, 500_000 + now, now);
            Assert.Equal(90_000, tracker.Current(now + 1));
        }

        // Once it stops telling, it counts as idle like any quiet partition.
        tracker.Observe(1, 900_000, 6 * Idle);
        Assert.Equal(890_000, tracker.Current(6 * Idle + 1));
    }

    [Fact]
    public void a_partition_busy_with_its_first_records_holds_the_watermark_where_it_is()
    {
        var tracker = new WatermarkTracker(Ooo, Idle, startedAtMs: 0);
        tracker.Observe(0, 100_000, nowMs: 1_000);
        Assert.Equal(90_000, tracker.Current(1_000));
        tracker.KeepActive(1, nowMs: 2_000);
        tracker.Observe(0, 150_000, nowMs: 3_000);
        Assert.Equal(90_000, tracker.Current(3_000));
        tracker.Observe(1, 120_000, nowMs: 4_000);
        Assert.Equal(110_000, tracker.Current(4_000));

        // Busy but never reporting an event time: after the idle timeout it no longer holds anything back.
        var stuck = new WatermarkTracker(Ooo, Idle, startedAtMs: 0);
        stuck.KeepActive(1, nowMs: 0);
        stuck.Observe(0, 100_000, nowMs: Idle);
        Assert.Null(stuck.Current(Idle));
        Assert.Equal(90_000, stuck.Current(Idle + 1));
    }

    [Fact]
    public void the_watermark_never_goes_back()
    {
        var tracker = new WatermarkTracker(Ooo, Idle, startedAtMs: 0);
        tracker.Observe(0, 100_000, nowMs: 40_000);
        Assert.Equal(90_000, tracker.Current(40_000));
        tracker.Observe(1, 20_000, nowMs: 41_000);
        Assert.Equal(90_000, tracker.Current(41_000));
    }
}

public sealed class WindowCountsTests
{
    private const long Grace = 10_000;

    private static WindowCounts Minute(long retentionMs = 3_600_000) =>
        new(WindowSpec.Tumbling(TimeSpan.FromMinutes(1)), Grace, retentionMs, new WindowCountsState());

    [Fact]
    public void a_window_closes_once_the_watermark_passes_its_end_plus_grace()
    {
        var windows = Minute();
        Assert.False(windows.Add(0));
        Assert.False(windows.Add(59_999));
        Assert.False(windows.Add(60_000));
        Assert.Empty(windows.Advance(60_000 + Grace - 1));
        Assert.Equal([new ClosedWindow(0, 60_000, 2)], windows.Advance(60_000 + Grace));
        Assert.Equal([new ClosedWindow(60_000, 120_000, 1)], windows.Open());
    }

    [Fact]
    public void out_of_order_within_grace_still_counts()
    {
        var windows = Minute();
        windows.Add(30_000);
        windows.Advance(65_000);
        Assert.False(windows.Add(10_000));
        Assert.Equal([new ClosedWindow(0, 60_000, 2)], windows.Advance(70_000));
    }

    [Fact]
    public void a_record_for_a_closed_window_is_late_and_not_counted_there()
    {
        var windows = Minute();
        windows.Add(30_000);
        windows.Advance(70_000);
        Assert.True(windows.Add(59_999));
        Assert.Equal(1, Assert.Single(windows.RecentClosed(10)).Count);
        Assert.Empty(windows.Open());
    }

    [Fact]
    public void each_window_closes_exactly_once()
    {
        var windows = Minute();
        windows.Add(1);
        Assert.Single(windows.Advance(100_000));
        Assert.Empty(windows.Advance(100_000));
        Assert.Empty(windows.Advance(200_000));
    }

    [Fact]
    public void a_hopping_record_late_for_one_window_still_counts_in_the_open_ones()
    {
        var windows = new WindowCounts(WindowSpec.Hopping(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(30)), 0, 3_600_000, new WindowCountsState());
        windows.Advance(60_000); // closes [0, 60000)
        Assert.True(windows.Add(45_000)); // in [0,60000) (closed) and [30000,90000) (open)
        Assert.Equal([new ClosedWindow(30_000, 90_000, 1)], windows.Open());
    }

    [Fact]
    public void closed_windows_expire_after_retention()
    {
        var windows = Minute(retentionMs: 120_000);
        windows.Add(1);
        windows.Add(60_001);
        windows.Advance(130_000);
        Assert.Equal(2, windows.RecentClosed(10).Count());
        windows.Advance(180_000);
        Assert.Equal([new ClosedWindow(60_000, 120_000, 1)], windows.RecentClosed(10));
    }

    [Fact]
    public void random_streams_count_every_on_time_record_exactly_once()
    {
        var random = new Random(9);
        for (var run = 0; run < 100; run++)
        {
            var windows = Minute();
            var events = Enumerable.Range(0, 300).Select(i => (long)((i * 1000) + random.Next(-8_000, 8_000))).ToList();
            var max = long.MinValue;
            var counted = new Dictionary<long, long>();
            var closed = new List<ClosedWindow>();
            foreach (var e in events)
            {
                max = Math.Max(max, e);
                if (!windows.Add(e))
                {
                    var start = Math.DivRem(e, 60_000, out var rem) * 60_000 - (rem < 0 ? 60_000 : 0);
                    counted[start] = counted.GetValueOrDefault(start) + 1;
                }

                closed.AddRange(windows.Advance(max - 10_000));
            }

            closed.AddRange(windows.Advance(long.MaxValue / 2));
            Assert.Equal(counted.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value)), closed.Select(w => (w.StartMs, w.Count)));
        }
    }
}
