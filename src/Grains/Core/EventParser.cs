using System.Text;
using System.Text.Json;

namespace OrleansStreams.Grains.Core;

/// <summary>Why a record could not be processed; the names are the dead-letter contract's reasons.</summary>
public enum FailureReason
{
    Malformed,
    Invalid,
    ProcessingError,
    Late,
}

/// <summary>
/// Reads the JSON input contract: <c>{"user_id": str, "url": str, "&lt;time&gt;": float, "event_id"?: str}</c>, UTF-8.
/// Unknown fields (a Faust producer's <c>__faust</c> among them) are ignored.
/// </summary>
public static class EventParser
{
    /// <summary>Latest accepted event time: 9999-12-31T23:59:59Z in epoch seconds.</summary>
    public const double MaxEventTime = 253_402_300_799;

    private const string Incomplete = "value is not a complete JSON object (it ends early)";
    private static readonly byte[] UserIdName = "user_id"u8.ToArray();
    private static readonly byte[] UrlName = "url"u8.ToArray();
    private static readonly byte[] EventIdName = "event_id"u8.ToArray();
    private static readonly byte[] ViewTimeName = "view_time"u8.ToArray();
    private static readonly byte[] ClickTimeName = "click_time"u8.ToArray();

    public static bool TryParsePageView(ReadOnlySpan<byte> value, out PageView view, out string error)
    {
        if (TryParse(value, ViewTimeName, out var fields, out error))
        {
            view = new PageView(fields.UserId, fields.Url, fields.Time, fields.EventId);
            return true;
        }

        view = null!;
        return false;
    }

    public static bool TryParseClick(ReadOnlySpan<byte> value, out ClickEvent click, out string error)
    {
        if (TryParse(value, ClickTimeName, out var fields, out error))
        {
            click = new ClickEvent(fields.UserId, fields.Url, fields.Time, fields.EventId);
            return true;
        }

        click = null!;
        return false;
    }

    private static bool TryParse(ReadOnlySpan<byte> value, byte[] timeName, out Fields fields, out string error)
    {
        fields = default;
        string? userId = null, url = null, eventId = null;
        double? time = null;
        try
        {
            // Not the final block: a value that ends early makes Read() return false instead of throwing (an exception
            // per malformed record is costly, and they come in bursts).
            var reader = new Utf8JsonReader(value, isFinalBlock: false, new JsonReaderState(new JsonReaderOptions { MaxDepth = 16 }));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "value is not a JSON object";
                return false;
            }

            while (true)
            {
                if (!reader.Read())
                {
                    error = Incomplete;
                    return false;
                }

                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    break;
                }

                var property = reader.ValueTextEquals(UserIdName) ? UserIdName
                    : reader.ValueTextEquals(UrlName) ? UrlName
                    : reader.ValueTextEquals(EventIdName) ? EventIdName
                    : reader.ValueTextEquals(timeName) ? timeName
                    : null;
                if (!reader.Read() || (property is null && !reader.TrySkip()))
                {
                    error = Incomplete;
                    return false;
                }

                if (property == UserIdName)
                {
                    userId = ReadString(ref reader, "user_id");
                }
                else if (property == UrlName)
                {
                    url = ReadString(ref reader, "url");
                }
                else if (property == EventIdName)
                {
                    eventId = reader.TokenType == JsonTokenType.Null ? null : ReadString(ref reader, "event_id");
                }
                else if (property == timeName)
                {
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var t))
                    {
                        throw new FormatException($"{Encoding.UTF8.GetString(timeName)} must be a number");
                    }

                    time = t;
                }
            }

            if (reader.Read())
            {
                error = "value is not a single JSON object";
                return false;
            }
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or ArgumentException)
        {
            error = ex.Message;
            return false;
        }

        var timeField = Encoding.UTF8.GetString(timeName);
        error = (userId, url, time) switch
        {
            (null or "", _, _) => "user_id is missing or empty",
            (_, null or "", _) => "url is missing or empty",
            (_, _, null) => $"{timeField} is missing",
            (_, _, { } t) when !double.IsFinite(t) || t < 0 || t > MaxEventTime => $"{timeField} {t} is outside 0..{MaxEventTime}",
            _ => string.Empty,
        };
        if (error.Length > 0)
        {
            return false;
        }

        fields = new Fields(userId!, url!, time!.Value, eventId);
        return true;
    }

    /// <summary>A string value; plain ASCII ones (ids, URLs: the same few over and over) from a cache instead of allocated anew.</summary>
    private static string ReadString(ref Utf8JsonReader reader, string name) =>
        reader.TokenType != JsonTokenType.String ? throw new FormatException($"{name} must be a string, not {reader.TokenType}")
        : !reader.ValueIsEscaped && Ascii.IsValid(reader.ValueSpan) ? AsciiStrings.Get(reader.ValueSpan)
        : reader.GetString()!;

    private readonly record struct Fields(string UserId, string Url, double Time, string? EventId);
}
