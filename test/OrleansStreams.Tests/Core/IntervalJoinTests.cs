using OrleansStreams.Grains.Core;

namespace OrleansStreams.Tests.Core;

public sealed class IntervalJoinTests
{
    private const long Within = 5_000;
    private const long Grace = 10_000;

    private static IntervalJoin NewJoin() => new(Within, Grace, new JoinBufferState());

    private static JoinEntry View(string url, double seconds, string? id = null) =>
        new(url, EventTime.ToMilliseconds(seconds), id);

    private static JoinEntry Click(string url, double seconds, string? id = null) =>
        new(url, EventTime.ToMilliseconds(seconds), id);

    [Fact]
    public void a_join_over_a_restored_buffer_knows_what_it_holds()
    {
        // As after a reactivation: the buffer comes back from storage, with entries left after an expiry.
        var before = NewJoin();
        before.AddView(View("/a", 1000));
        before.AddView(View("/b", 1001));
        before.AddClick(Click("/old", 900));
        before.Advance(EventTime.ToMilliseconds(916));
        var restored = new IntervalJoin(Within, Grace, before.State);

        Assert.True(restored.AddView(View("/a", 1000)).Duplicate);
        Assert.True(restored.AddClick(Click("/old", 900)).Late);
        Assert.Equal([View("/b", 1001)], restored.AddClick(Click("/b", 1003)).Matches.Select(m => m.View));
    }

    [Fact]
    public void click_before_view_does_not_match()
    {
        var join = NewJoin();
        Assert.Empty(join.AddClick(Click("/a", 999.999)).Matches);
        Assert.Empty(join.AddView(View("/a", 1000)).Matches);
    }

    [Fact]
    public void click_at_exactly_five_seconds_matches()
    {
        var join = NewJoin();
        join.AddView(View("/a", 1000));
        Assert.Single(join.AddClick(Click("/a", 1005)).Matches);
    }

    [Fact]
    public void click_at_five_seconds_and_one_millisecond_does_not_match()
    {
        var join = NewJoin();
        join.AddView(View("/a", 1000));
        Assert.Empty(join.AddClick(Click("/a", 1005.001)).Matches);
    }

    [Fact]
    public void click_at_the_same_instant_as_the_view_matches()
    {
        var join = NewJoin();
        join.AddView(View("/a", 1000));
        Assert.Single(join.AddClick(Click("/a", 1000)).Matches);
    }

    [Fact]
    public void two_views_then_one_click_make_two_conversions()
    {
        var join = NewJoin();
        join.AddView(View("/a", 1000));
        join.AddView(View("/a", 1002));
        var matches = join.AddClick(Click("/a", 1004)).Matches;
        Assert.Equal([1_000_000L, 1_002_000L], matches.Select(m => m.View.TimeMs));
    }

    [Fact]
    public void same_user_other_url_does_not_match()
    {
        var join = NewJoin();
        join.AddView(View("/a", 1000));
        Assert.Empty(join.AddClick(Click("/b", 1001)).Matches);
    }

    [Fact]
    public void other_user_same_url_does_not_match()
    {
        // Each user has a buffer of their own (one per user grain).
        var alice = NewJoin();
        var bob = NewJoin();
        alice.AddView(View("/a", 1000));
        Assert.Empty(bob.AddClick(Click("/a", 1001)).Matches);
    }

    [Fact]
    public void click_arriving_before_its_view_within_the_disorder_matches()
    {
        var join = NewJoin();
        join.Advance(995_000);
        Assert.Empty(join.AddClick(Click("/a", 1003)).Matches);
        var matches = join.AddView(View("/a", 1000)).Matches;
        Assert.Equal(new JoinMatch(View("/a", 1000), Click("/a", 1003)), Assert.Single(matches));
    }

    [Fact]
    public void duplicates_of_a_view_or_a_click_make_no_duplicate_conversion()
    {
        var join = NewJoin();
        join.AddView(View("/a", 1000, "view-1"));
        Assert.Single(join.AddClick(Click("/a", 1001, "click-1")).Matches);
        Assert.True(join.AddView(View("/a", 1000, "view-1")).Duplicate);
        Assert.Empty(join.AddView(View("/a", 1000, "view-1")).Matches);
        Assert.Empty(join.AddClick(Click("/a", 1001, "click-1")).Matches);
    }

    [Fact]
    public void without_event_ids_a_record_with_the_same_url_and_time_is_a_duplicate()
    {
        var join = NewJoin();
        join.AddView(View("/a", 1000));
        Assert.True(join.AddView(View("/a", 1000)).Duplicate);
        Assert.False(join.AddView(View("/a", 1000.001)).Duplicate);
        Assert.False(join.AddView(View("/a", 1000, "view-1")).Duplicate);
        Assert.False(join.AddView(View("/b", 1000)).Duplicate);
    }

    [Fact]
    public void the_pairs_one_record_completes_come_out_in_event_time_order()
    {
        var join = NewJoin();
        join.AddClick(Click("/a", 1004));
        join.AddClick(Click("/a", 1001));
        join.AddClick(Click("/a", 1003, "second-at-1003"));
        join.AddClick(Click("/a", 1003, "third-at-1003"));
        Assert.Equal(
            [(1_001_000L, null), (1_003_000L, "second-at-1003"), (1_003_000L, "third-at-1003"), (1_004_000L, null)],
            join.AddView(View("/a", 1000)).Matches.Select(m => (m.Click.TimeMs, m.Click.EventId)));

        join.AddView(View("/b", 1002));
        join.AddView(View("/b", 1000));
        Assert.Equal([1_000_000L, 1_002_000L], join.AddClick(Click("/b", 1003)).Matches.Select(m => m.View.TimeMs));
    }

    [Fact]
    public void every_matching_pair_joins_once()
    {
        var join = NewJoin();
        var matches = new List<JoinMatch>();
        matches.AddRange(join.AddView(View("/a", 1000)).Matches);
        matches.AddRange(join.AddClick(Click("/a", 1001)).Matches);
        matches.AddRange(join.AddView(View("/a", 999)).Matches);
        matches.AddRange(join.AddClick(Click("/a", 1004.5)).Matches);
        // (1000, 1001), (999, 1001), (1000, 1004.5); not (999, 1004.5): 5.5 s apart.
        Assert.Equal(
            [(999_000L, 1_001_000L), (1_000_000L, 1_001_000L), (1_000_000L, 1_004_500L)],
            matches.Select(m => (m.View.TimeMs, m.Click.TimeMs)).Order());
    }

    [Fact]
    public void entries_expire_once_the_watermark_passes_their_interval_plus_grace()
    {
        var join = NewJoin();
        join.AddView(View("/a", 1000));
        join.AddClick(Click("/a", 1001));
        Assert.Equal(2, join.Buffered);
        join.Advance(1_000_000 + Within + Grace);
        Assert.Equal(2, join.Buffered);
        join.Advance(1_001_000 + Within + Grace + 1);
        Assert.Equal(0, join.Buffered);
    }

    [Fact]
    public void an_older_entry_that_arrives_after_the_watermark_moved_still_expires_first()
    {
        var join = NewJoin();
        join.AddView(View("/a", 1010));
        Assert.Empty(join.Advance(1_000_000 + Within + Grace));
        join.AddClick(Click("/a", 1005));
        join.AddView(View("/b", 1000));
        Assert.Equal(["/b"], join.Advance(1_000_000 + Within + Grace + 1).Select(v => v.Url));
        Assert.Equal(2, join.Buffered);

        var restored = new IntervalJoin(Within, Grace, join.State);
        restored.Advance(1_005_000 + Within + Grace + 1);
        Assert.Equal(1, restored.Buffered);
    }

    [Fact]
    public void after_some_entries_expire_those_left_of_a_url_still_join_and_still_dedupe_in_arrival_order()
    {
        var join = NewJoin();
        join.AddView(View("/a", 1000));
        join.AddView(View("/b", 1020));
        join.AddView(View("/a", 1030));
        join.AddView(View("/a", 1031));
        join.AddView(View("/b", 1031));
        join.Advance(1_010_000 + Within + Grace);

        Assert.Equal(4, join.Buffered);
        Assert.True(join.AddView(View("/a", 1030)).Duplicate);
        Assert.True(join.AddView(View("/b", 1031)).Duplicate);
        Assert.False(join.AddView(View("/a", 1032)).Duplicate);
        Assert.Equal(
            [View("/a", 1030), View("/a", 1031), View("/a", 1032)],
            join.AddClick(Click("/a", 1033)).Matches.Select(m => m.View));
    }

    [Fact]
    public void a_view_past_its_interval_plus_grace_is_late_and_not_joined()
    {
        var join = NewJoin();
        join.AddClick(Click("/a", 1003));
        join.Advance(1_000_000 + Within + Grace + 1);
        var added = join.AddView(View("/a", 1000));
        Assert.True(added.Late);
        Assert.Empty(added.Matches);
    }

    [Fact]
    public void a_click_past_its_grace_is_late()
    {
        var join = NewJoin();
        join.Advance(1_000_000 + Grace + 1);
        Assert.True(join.AddClick(Click("/a", 1000)).Late);
    }

    [Fact]
    public void unmatched_views_are_returned_when_they_expire_for_the_left_join()
    {
        var join = NewJoin();
        join.AddView(View("/a", 1000));
        join.AddView(View("/b", 1000));
        join.AddClick(Click("/a", 1001));
        var unmatched = join.Advance(2_000_000);
        Assert.Equal(["/b"], unmatched.Select(v => v.Url));
        Assert.Empty(join.State.Matched);
    }

    [Fact]
    public void random_arrival_orders_give_the_same_pairs_as_a_nested_loop()
    {
        var random = new Random(21);
        for (var run = 0; run < 200; run++)
        {
            var views = Enumerable.Range(0, 10).Select(i => View(random.Next(2) == 0 ? "/a" : "/b", 1000 + random.Next(0, 20), $"v{i}")).ToList();
            var clicks = Enumerable.Range(0, 10).Select(i => Click(random.Next(2) == 0 ? "/a" : "/b", 1000 + random.Next(0, 20), $"c{i}")).ToList();
            var expected = views.SelectMany(v => clicks.Where(c => c.Url == v.Url && v.TimeMs <= c.TimeMs && c.TimeMs <= v.TimeMs + Within).Select(c => (v.EventId!, c.EventId!)))
                .Order().ToList();

            var join = NewJoin();
            var actual = new List<(string, string)>();
            foreach (var (isView, entry) in views.Select(v => (true, v)).Concat(clicks.Select(c => (false, c))).OrderBy(_ => random.Next()))
            {
                var added = isView ? join.AddView(entry) : join.AddClick(entry);
                actual.AddRange(added.Matches.Select(m => (m.View.EventId!, m.Click.EventId!)));
            }

            Assert.Equal(expected, actual.Order().ToList());
        }
    }

    [Fact]
    public void with_the_watermark_moving_among_random_arrivals_pairs_duplicates_and_what_stays_buffered_are_those_of_a_nested_loop()
    {
        // A pair joins when both records were on time as they arrived: an entry leaves the buffer only once no record
        // that could join it is on time any more. What stays buffered is every record taken that the watermark has not
        // passed by its interval plus grace; a view that leaves unjoined is returned once.
        var random = new Random(7);
        for (var run = 0; run < 300; run++)
        {
            var join = NewJoin();
            var watermark = long.MinValue;
            var taken = new List<(bool IsView, JoinEntry Entry)>();
            var expectedPairs = new List<(string, string)>();
            var actualPairs = new List<(string, string)>();
            var leftUnjoined = new List<string>();
            for (var i = 0; i < 60; i++)
            {
                if (random.Next(4) == 0)
                {
                    watermark = Math.Max(watermark, 1_000_000 + (i * 1_000) + random.Next(-20_000, 5_000));
                    leftUnjoined.AddRange(join.Advance(watermark).Select(v => v.EventId!));
                    continue;
                }

                var isView = random.Next(3) > 0;
                var url = $"/{random.Next(4)}";
                var time = 1_000_000 + (i * 1_000) + random.Next(-25_000, 5_000);
                // Now and then a record comes again, with the event id of one taken before.
                var entry = random.Next(8) == 0 && taken.Count > 0 && taken[^1].IsView == isView
                    ? taken[^1].Entry
                    : new JoinEntry(url, time, $"{(isView ? 'v' : 'c')}{i}");
                var onTime = isView ? entry.TimeMs + Within + Grace >= watermark : entry.TimeMs + Grace >= watermark;
                var again = taken.Contains((isView, entry));
                var added = isView ? join.AddView(entry) : join.AddClick(entry);
                actualPairs.AddRange(added.Matches.Select(m => (m.View.EventId!, m.Click.EventId!)));

                Assert.Equal(!onTime, added.Late);
                Assert.Equal(onTime && again, added.Duplicate);
                if (!onTime || again)
                {
                    continue;
                }

                expectedPairs.AddRange(taken
                    .Where(t => t.IsView != isView && t.Entry.Url == entry.Url)
                    .Select(t => isView ? (View: entry, Click: t.Entry) : (View: t.Entry, Click: entry))
                    .Where(p => p.View.TimeMs <= p.Click.TimeMs && p.Click.TimeMs <= p.View.TimeMs + Within)
                    .Select(p => (p.View.EventId!, p.Click.EventId!)));
                taken.Add((isView, entry));
            }

            Assert.Equal(expectedPairs.Order(), actualPairs.Order());
            var buffered = taken.Where(t => t.Entry.TimeMs + Within + Grace >= watermark).ToList();
            Assert.Equal(buffered.Count, join.Buffered);
            Assert.Equal(buffered.Where(t => t.IsView).Select(t => t.Entry), join.State.Views);
            Assert.Equal(buffered.Where(t => !t.IsView).Select(t => t.Entry), join.State.Clicks);
            var joinedViews = expectedPairs.Select(p => p.Item1).ToHashSet();
            Assert.Equal(
                taken.Where(t => t.IsView && t.Entry.TimeMs + Within + Grace < watermark && !joinedViews.Contains(t.Entry.EventId!)).Select(t => t.Entry.EventId!).Order(),
                leftUnjoined.Order());
        }
    }
}
