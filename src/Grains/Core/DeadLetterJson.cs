using System.Text;
using System.Text.Json;

namespace OrleansStreams.Grains.Core;

/// <summary>
/// The <c>processing_failures</c> record: <c>{"reason", "error", "topic", "partition", "offset", "key", "payload",
/// "failed_at"}</c>. Key and payload are text when valid UTF-8, else base64 with <c>key_encoding</c> /
/// <c>payload_encoding</c> set to <c>"base64"</c>; a null value is <c>null</c>.
/// </summary>
public static class DeadLetterJson
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static byte[] Serialize(DeadLetter deadLetter)
    {
        ArgumentNullException.ThrowIfNull(deadLetter);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            Write(json, deadLetter, withId: false);
        }

        return buffer.ToArray();
    }

    /// <summary>A JSON array of dead letters, each with its <c>id</c>.</summary>
    public static byte[] SerializeList(IEnumerable<DeadLetter> deadLetters)
    {
        ArgumentNullException.ThrowIfNull(deadLetters);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var deadLetter in deadLetters)
            {
                Write(json, deadLetter, withId: true);
            }

            json.WriteEndArray();
        }

        return buffer.ToArray();
    }

    private static void Write(Utf8JsonWriter json, DeadLetter deadLetter, bool withId)
    {
            json.WriteStartObject();
            if (withId)
            {
                json.WriteString("id", deadLetter.Id);
            }

            json.WriteString("reason", deadLetter.Reason);
            json.WriteString("error", deadLetter.Error);
            json.WriteString("topic", deadLetter.Topic);
            json.WriteNumber("partition", deadLetter.Partition);
            json.WriteNumber("offset", deadLetter.Offset);
            WriteBytes(json, "key", deadLetter.Key);
            WriteBytes(json, "payload", deadLetter.Payload);
            json.WriteNumber("failed_at", deadLetter.FailedAt);
            if (deadLetter.Routes.Length > 0)
            {
                json.WriteStartArray("routes");
                foreach (var route in deadLetter.Routes)
                {
                    json.WriteStringValue(route);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
    }

    /// <summary>The original bytes of a key or payload field of a serialized dead letter.</summary>
    public static byte[]? ReadBytes(JsonElement record, string field)
    {
        var value = record.GetProperty(field);
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var base64 = record.TryGetProperty(field + "_encoding", out var encoding) && encoding.GetString() == "base64";
        return base64 ? Convert.FromBase64String(value.GetString()!) : Encoding.UTF8.GetBytes(value.GetString()!);
    }

    private static void WriteBytes(Utf8JsonWriter json, string name, byte[]? bytes)
    {
        if (bytes is null)
        {
            json.WriteNull(name);
            return;
        }

        string text;
        try
        {
            text = StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            json.WriteString(name, Convert.ToBase64String(bytes));
            json.WriteString(name + "_encoding", "base64");
            return;
        }

        json.WriteString(name, text);
    }
}
