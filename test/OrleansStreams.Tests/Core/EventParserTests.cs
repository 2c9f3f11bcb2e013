using System.Text;
using OrleansStreams.Grains;
using OrleansStreams.Grains.Core;

namespace OrleansStreams.Tests.Core;

public sealed class EventParserTests
{
    [Fact]
    public void contract_page_view_is_read()
    {
        Assert.True(EventParser.TryParsePageView("""{"user_id": "u1", "url": "/home", "view_time": 1700000000.25}"""u8, out var view, out _));
        Assert.Equal(new PageView("u1", "/home", 1700000000.25), view);
    }

    [Fact]
    public void faust_producer_record_with_faust_field_is_accepted()
    {
        var faust = """{"user_id": "u1", "url": "/home", "view_time": 1700000000.0, "__faust": {"ns": "app.PageView"}}"""u8;
        Assert.True(EventParser.TryParsePageView(faust, out var view, out var error), error);
        Assert.Equal("/home", view.Url);
    }

    [Fact]
    public void unknown_fields_of_any_shape_are_ignored()
    {
        var json = """{"extra": [1, {"a": null}], "user_id": "u", "url": "/x", "nested": {"deep": [[]]}, "view_time": 5, "flag": true}"""u8;
        Assert.True(EventParser.TryParsePageView(json, out var view, out var error), error);
        Assert.Equal(new PageView("u", "/x", 5), view);
    }

    [Fact]
    public void event_id_is_kept_when_present()
    {
        Assert.True(EventParser.TryParsePageView("""{"user_id":"u","url":"/x","view_time":1,"event_id":"e-1"}"""u8, out var view, out _));
        Assert.Equal("e-1", view.EventId);
    }

    [Fact]
    public void click_is_read_with_click_time()
    {
        Assert.True(EventParser.TryParseClick("""{"user_id":"u","url":"/x","click_time":3.5}"""u8, out var click, out _));
        Assert.Equal(new ClickEvent("u", "/x", 3.5), click);
        Assert.False(EventParser.TryParseClick("""{"user_id":"u","url":"/x","view_time":3.5}"""u8, out _, out var error));
        Assert.Contains("click_time", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"url":"/x","view_time":1}""", "user_id")]
    [InlineData("""{"user_id":"","url":"/x","view_time":1}""", "user_id")]
    [InlineData("""{"user_id":"u","view_time":1}""", "url")]
    [InlineData("""{"user_id":"u","url":"/x"}""", "view_time")]
    [InlineData("""{"user_id":7,"url":"/x","view_time":1}""", "user_id")]
    [InlineData("""{"user_id":"u","url":"/x","view_time":"1"}""", "view_time")]
    [InlineData("""{"user_id":"u","url":"/x","view_time":-1}""", "view_time")]
    [InlineData("""{"user_id":"u","url":"/x","view_time":253402300800}""", "view_time")]
    [InlineData("""{"user_id":"u","url":"/x","view_time":1e400}""", "view_time")]
    [InlineData("""{}""", "user_id")]
    [InlineData("""[1,2]""", "object")]
    [InlineData("""{"user_id":"u","url":"/x","view_time":NaN}""", "")]
    [InlineData("""{"user_id":"u","url":"/x","view_ti""", "")]
    [InlineData("""{"user_id":"u","url":""", "ends early")]
    [InlineData("""{"user_id":"u","url":"/x","extra":{"a":[1,""", "ends early")]
    [InlineData("""{"user_id":"u","url":"/x","view_time":1""", "ends early")]
    [InlineData("""{"user_id":"u","url":"/x","view_time":1} {}""", "")]
    [InlineData("""not json""", "")]
    [InlineData("", "")]
    public void bad_values_are_rejected_with_a_reason(string json, string mentions)
    {
        Assert.False(EventParser.TryParsePageView(Encoding.UTF8.GetBytes(json), out _, out var error));
        Assert.False(string.IsNullOrWhiteSpace(error));
        Assert.Contains(mentions, error, StringComparison.Ordinal);
    }

    [Fact]
    public void every_value_is_read_as_it_is_whatever_was_read_before()
    {
        // Values repeat and collide in the parser's string cache: each must still come back exactly.
        var random = new Random(11);
        for (var i = 0; i < 20_000; i++)
        {
            var user = $"user-{random.Next(5_000)}";
            var url = random.Next(10) == 0 ? $"/p\u00e9/{i}" : $"/page/{random.Next(5_000)}";
            Assert.True(EventParser.TryParsePageView(Encoding.UTF8.GetBytes($$"""{"user_id":"{{user}}","url":"{{url}}","view_time":1}"""), out var view, out var error), error);
            Assert.Equal(user, view.UserId);
            Assert.Equal(url.Replace("\\u00e9", "\u00e9", StringComparison.Ordinal), view.Url);
        }
    }

    [Fact]
    public void invalid_utf8_is_rejected()
    {
        byte[] value = [.. """{"user_id":"""u8, (byte)'"', 0xC3, 0x28, (byte)'"', .. ""","url":"/x","view_time":1}"""u8];
        Assert.False(EventParser.TryParsePageView(value, out _, out var error));
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public void random_bytes_never_throw()
    {
        var random = new Random(7);
        for (var i = 0; i < 2_000; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            EventParser.TryParsePageView(bytes, out _, out _);
        }
    }
}
