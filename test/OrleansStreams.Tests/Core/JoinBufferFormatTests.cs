using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using OrleansStreams.Grains;
using OrleansStreams.Grains.Core;

namespace OrleansStreams.Tests.Core;

public sealed class JoinBufferFormatTests
{
    private static JoinBufferState Buffer()
    {
        var state = new JoinBufferState
        {
            Watermark = 1_700_000_000_000,
            Views = [new("/a", 1_700_000_005_000), new("/b", 1_700_000_001_000, "view-7"), new("/a", 1_700_000_009_999), new("/ü", -5)],
            Clicks = [new("/a", 1_700_000_006_000, "click-1"), new("/c", 1_700_000_000_000)],
        };
        state.Matched.Add(state.Views[0]);
        state.Matched.Add(state.Views[1]);
        return state;
    }

    private static void AssertSame(JoinBufferState expected, JoinBufferState actual)
    {
        Assert.Equal(expected.Watermark, actual.Watermark);
        Assert.Equal(expected.Views, actual.Views);
        Assert.Equal(expected.Clicks, actual.Clicks);
        Assert.Equal(expected.Matched.OrderBy(v => v.TimeMs), actual.Matched.OrderBy(v => v.TimeMs));
    }

    [Fact]
    public void a_buffer_reads_back_as_written()
    {
        var state = Buffer();
        AssertSame(state, JoinBufferFormat.Read(JoinBufferFormat.Write(state)));
        AssertSame(new JoinBufferState(), JoinBufferFormat.Read(JoinBufferFormat.Write(new JoinBufferState())));

        // The next buffer written on the same thread has URLs of its own, in another order.
        var other = new JoinBufferState { Views = [new("/z", 7), new("/a", 8)], Clicks = [new("/y", 9), new("/z", 10)] };
        AssertSame(other, JoinBufferFormat.Read(JoinBufferFormat.Write(other)));
    }

    [Fact]
    public void a_buffer_of_over_a_megabyte_reads_back_as_written_and_so_does_a_small_one_after_it()
    {
        var large = new JoinBufferState { Watermark = 5 };
        for (var i = 0; i < 20_000; i++)
        {
            large.Views.Add(new($"/page/{i % 997}/ü", 1_700_000_000_000 + (i * 7 % 1_000), new string('e', 60) + i));
        }

        large.Matched.Add(large.Views[3]);
        var data = JoinBufferFormat.Write(large);
        Assert.True(data.Length > 1024 * 1024);
        AssertSame(large, JoinBufferFormat.Read(data));
        AssertSame(Buffer(), JoinBufferFormat.Read(JoinBufferFormat.Write(Buffer())));
    }

    [Fact]
    public void a_buffer_a_join_works_on_is_written_from_its_index_and_reads_back_as_written_until_its_lists_change_behind_its_back()
    {
        var state = new JoinBufferState();
        var join = new IntervalJoin(5_000, 10_000, state);
        for (var i = 0; i < 300; i++)
        {
            join.AddView(new($"/page/{i % 37}", 1_000_000 + (i * 100), i % 3 == 0 ? $"v-{i}" : null));
            if (i % 4 == 0)
            {
                join.AddClick(new($"/page/{(i * 7) % 41}", 1_000_000 + (i * 100) + 50));
            }
        }

        join.AddView(new("/page/1", 1_000_100)); // a duplicate: not added
        join.Advance(1_000_000 + 20_000);        // the oldest leave; the index is relinked
        Assert.NotNull(state.IndexUrls);
        AssertSame(state, JoinBufferFormat.Read(JoinBufferFormat.Write(state)));

        // Changed without the join, the lists no longer match its index: written by looking each URL up.
        state.Views.Add(new("/elsewhere", 2_000_000));
        AssertSame(state, JoinBufferFormat.Read(JoinBufferFormat.Write(state)));
        for (var i = 0; i < 2; i++)
        {
            state.Matched.Remove(state.Views[0]);
            state.Views.RemoveAt(0);
        }

        state.Views.Add(new("/again", 2_000_001));
        state.Views.Add(new("/again", 2_000_002));
        AssertSame(state, JoinBufferFormat.Read(JoinBufferFormat.Write(state)));
    }

    /// <summary>The buffer above as the first writer of format 1 wrote it (with <see cref="BinaryWriter"/>): states stored then.</summary>
    private const string StoredFormat1 =
        "010068E5CF8B01000004022F61022F62032FC3BC022F63040090EEABFEF9620101BF3E0306766965772D3700CE8C010002A7BCACFEF962000200E0FDABFEF9620207636C69636B2D3103DF5D00";

    [Fact]
    public void buffers_stored_by_earlier_versions_read_back_and_are_written_the_same_way()
    {
        AssertSame(Buffer(), JoinBufferFormat.Read(Convert.FromHexString(StoredFormat1)));
        Assert.Equal(StoredFormat1, Convert.ToHexString(JoinBufferFormat.Write(Buffer())));
    }

    [Fact]
    public void a_buffer_of_a_later_format_is_refused_with_its_version()
    {
        var data = JoinBufferFormat.Write(new JoinBufferState());
        data[0] = 9;
        Assert.Contains("version 9", Assert.Throws<InvalidDataException>(() => JoinBufferFormat.Read(data)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void user_state_round_trips_through_the_grain_serializer()
    {
        var serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();
        var state = new UserState { Views = 4, Join = Buffer() };
        var read = serializer.Deserialize<UserState>(serializer.SerializeToArray(state));
        Assert.NotNull(read);
        Assert.Equal(4, read.Views);
        AssertSame(state.Join, read.Join);
    }

    [Fact]
    public void a_buffer_written_by_an_earlier_version_is_still_read()
    {
        // Then every entry had an id (the event id, or URL and time), and the joined views were a set of ids.
        var earlier = new JoinBufferStateSurrogate
        {
            Views = [new("/a", 1_000, "/a@1"), new("/b", 2_000, "/b@2")],
            Matched = ["/b@2"],
            Clicks = [new("/b", 3_000, "/b@3")],
            Watermark = 500,
        };
        var state = new JoinBufferStateConverter().ConvertFromSurrogate(earlier);
        Assert.Equal(earlier.Views, state.Views);
        Assert.Equal(earlier.Clicks, state.Clicks);
        Assert.Equal(500, state.Watermark);
        Assert.Equal([new JoinEntry("/b", 2_000, "/b@2")], state.Matched);
    }
}
