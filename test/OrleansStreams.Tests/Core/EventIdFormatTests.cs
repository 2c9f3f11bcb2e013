using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using OrleansStreams.Grains;
using OrleansStreams.Grains.Core;

namespace OrleansStreams.Tests.Core;

public sealed class EventIdFormatTests
{
    /// <summary>
    /// A user's state as versions before the packed event ids stored it: three views, a high-water mark of 41 for
    /// pageviews/0, and two event ids.
    /// </summary>
    private const string StoredBeforePacking =
        "2020010341177061676576696577732F3000A5E0210105414D763A30643566326134652D376231632D346135652D396633652D326336623864316130653437002000B4F2E7C5400B633A652D370020FAB4F2E7C5E0E8000D010121C001C101C10101014119010000000000000080000000E0010121E021E0E0";

    private static Serializer Serializer() => new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    [Fact]
    public void ids_read_back_as_written_uuids_of_any_prefix_packed_and_others_as_they_are()
    {
        var ids = new Dictionary<string, long>
        {
            ["v:0d5f2a4e-7b1c-4a5e-9f3e-2c6b8d1a0e47"] = 1_700_000_000_000,
            ["c:0d5f2a4e-7b1c-4a5e-9f3e-2c6b8d1a0e47"] = 1_699_999_999_000,
            ["5e1c3b1a-0f6e-4d2c-8b7a-9c8d7e6f5a4b"] = 1_700_000_000_001,
            ["v:5E1C3B1A-0F6E-4D2C-8B7A-9C8D7E6F5A4B"] = 5,        // upper case: kept as text, exactly
            ["v:5e1c3b1a0f6e4d2c8b7a9c8d7e6f5a4b"] = -7,           // no hyphens: kept as text
            ["e-7"] = 1_700_000_000_500,
            ["ü-1"] = 0,
            [string.Empty] = 1,
        };
        var packed = EventIdFormat.Write(ids);

        Assert.Equal(ids, EventIdFormat.Read(packed));
        Assert.Equal(ids.OrderBy(i => i.Key, StringComparer.Ordinal), EventIdFormat.Read(packed).OrderBy(i => i.Key, StringComparer.Ordinal));
        Assert.Empty(EventIdFormat.Read(EventIdFormat.Write([])));
    }

    [Fact]
    public void thousands_of_uuid_ids_take_about_a_third_of_their_text()
    {
        var ids = Enumerable.Range(0, 5_000).ToDictionary(i => "v:" + Guid.NewGuid(), i => 1_700_000_000_000L + (i * 10));
        var packed = EventIdFormat.Write(ids);

        Assert.Equal(ids, EventIdFormat.Read(packed));
        Assert.InRange(packed.Length, 5_000 * 19, 5_000 * 22);
    }

    [Fact]
    public void a_state_stored_before_ids_were_packed_reads_back_and_is_stored_packed_from_then_on()
    {
        var serializer = Serializer();
        var old = Assert.IsType<UserState>(serializer.Deserialize<UserState>(Convert.FromHexString(StoredBeforePacking)));

        Assert.Equal(3, old.Views);
        Assert.Equal(41, old.HighWaterMarks["pageviews/0"]);
        var expected = new Dictionary<string, long>
        {
            ["v:0d5f2a4e-7b1c-4a5e-9f3e-2c6b8d1a0e47"] = 1_700_000_000_000,
            ["c:e-7"] = 1_700_000_000_500,
        };
        Assert.Equal(expected, old.RecentEventIds);

        var again = Assert.IsType<UserState>(serializer.Deserialize<UserState>(serializer.SerializeToArray(old)));
        Assert.Equal(expected, again.RecentEventIds);
        Assert.Null(again.StoredRecentEventIds);
        Assert.Equal(expected, EventIdFormat.Read(again.PackedRecentEventIds!));
        Assert.Empty(Assert.IsType<UserState>(serializer.Deserialize<UserState>(serializer.SerializeToArray(new UserState()))).RecentEventIds);
    }
}
