using System.Text;
using static OrleansStreams.Grains.Core.Packing;

namespace OrleansStreams.Grains.Core;

/// <summary>
/// The event ids a grain keeps (<see cref="SinkState.RecentEventIds"/>) as one compact byte array, for its state
/// writes: per id its event time as a difference from the one before, then the id, whose UUID (the usual kind, after
/// any prefix) takes its 16 bytes instead of 36 characters. Every write carries every id within the dedup horizon, so
/// a grain that receives many ids a second writes tens of thousands of them each commit interval.
/// </summary>
public static class EventIdFormat
{
    private const byte Version = 1;
    private const byte Text = 0;
    private const byte Uuid = 1;
    private const int UuidChars = 36;
    private const int UuidBytes = 16;

    public static byte[] Write(Dictionary<string, long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bound = 1 + MaxVarIntBytes;
        foreach (var id in ids.Keys)
        {
            bound += MaxVarIntBytes + 1 + MaxStringBytes(id) + UuidBytes;
        }

        var bytes = Rent(bound);
        var at = 0;
        bytes[at++] = Version;
        WriteVarInt(bytes, ref at, (ulong)ids.Count);
        var previous = 0L;
        foreach (var (id, timeMs) in ids)
        {
            WriteVarInt(bytes, ref at, (ulong)ZigZag(timeMs - previous));
            previous = timeMs;

            // A UUID as Guid.ToString() writes it (hyphens between groups, the hex digits in lower case) is stored as its
            // bytes, to be written back the same.
            var prefix = id.AsSpan(0, Math.Max(0, id.Length - UuidChars));
            var tail = id.AsSpan(prefix.Length);
            if (tail.Length == UuidChars && Guid.TryParseExact(tail, "D", out var uuid) && tail.IndexOfAnyInRange('A', 'F') < 0)
            {
                bytes[at++] = Uuid;
                WriteString(bytes, ref at, prefix);
                uuid.TryWriteBytes(bytes.AsSpan(at));
                at += UuidBytes;
            }
            else
            {
                bytes[at++] = Text;
                WriteString(bytes, ref at, id);
            }
        }

        return Finish(bytes, at);
    }

    public static Dictionary<string, long> Read(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var bytes = data.AsSpan();
        var at = 0;
        ReadVersion(bytes, ref at, Version, "Event ids");

        var count = (int)ReadVarInt(bytes, ref at);
        var ids = new Dictionary<string, long>(count, StringComparer.Ordinal);
        var previous = 0L;
        for (var i = 0; i < count; i++)
        {
            previous += UnZigZag((long)ReadVarInt(bytes, ref at));
            var kind = bytes[at++];
            if (kind != Uuid)
            {
                ids[ReadString(bytes, ref at)] = previous;
                continue;
            }

            var length = (int)ReadVarInt(bytes, ref at);
            var prefixStart = at;
            at += length;
            var uuid = new Guid(bytes.Slice(at, UuidBytes));
            at += UuidBytes;

            // The prefix and the UUID written into the one string allocated for the id.
            var id = string.Create(Encoding.UTF8.GetCharCount(bytes.Slice(prefixStart, length)) + UuidChars, (Data: data, Start: prefixStart, Length: length, Uuid: uuid), static (chars, s) =>
            {
                var prefix = Encoding.UTF8.GetChars(s.Data.AsSpan(s.Start, s.Length), chars);
                s.Uuid.TryFormat(chars[prefix..], out _, "D");
            });
            ids[id] = previous;
        }

        return ids;
    }
}
