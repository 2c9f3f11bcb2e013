using System.Runtime.InteropServices;
using System.Text;

namespace OrleansStreams.Grains.Core;

/// <summary>
/// A user's join buffer as one compact byte array, for its state writes: each URL once, then per entry the URL's
/// index, the time as a difference from the entry before, and flags (joined, has an event id). A buffer of a few
/// hundred entries costs a few bytes each to write, instead of a serialized object with two strings per entry.
/// </summary>
public static class JoinBufferFormat
{
    private const byte Version = 1;
    private const byte Matched = 1;
    private const byte HasEventId = 2;

    /// <summary>The URL table of the buffer being written, kept for the thread's next write.</summary>
    [ThreadStatic]
    private static Dictionary<string, int>? t_urls;

    /// <summary>The URL index of each entry of the buffer being written (views, then clicks), kept likewise.</summary>
    [ThreadStatic]
    private static List<int>? t_indexes;

    public static byte[] Write(JoinBufferState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var stream = new MemoryStream(16 + (4 * (state.Views.Count + state.Clicks.Count)));
        using var writer = new BinaryWriter(stream, Encoding.UTF8);
        writer.Write(Version);
        writer.Write(state.Watermark);

        // Each URL's index is its place in the table, which is written in order; each entry's index is looked up once.
        var urls = t_urls ??= new Dictionary<string, int>(StringComparer.Ordinal);
        var indexes = t_indexes ??= [];
        urls.Clear();
        indexes.Clear();
        var table = new List<string>();
        IndexUrls(state.Views);
        IndexUrls(state.Clicks);

        writer.Write7BitEncodedInt(table.Count);
        foreach (var url in table)
        {
            writer.Write(url);
        }

        WriteEntries(writer, state.Views, indexes, 0, state.Matched);
        WriteEntries(writer, state.Clicks, indexes, state.Views.Count, matched: null);
        writer.Flush();
        return stream.ToArray();

        void IndexUrls(List<JoinEntry> entries)
        {
            foreach (var entry in entries)
            {
                ref var index = ref CollectionsMarshal.GetValueRefOrAddDefault(urls, entry.Url, out var known);
                if (!known)
                {
                    index = table.Count;
                    table.Add(entry.Url);
                }

                indexes.Add(index);
            }
        }
    }

    public static JoinBufferState Read(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var reader = new BinaryReader(new MemoryStream(data, writable: false), Encoding.UTF8);
        var version = reader.ReadByte();
        if (version != Version)
        {
            throw new InvalidDataException($"Join buffer of format version {version}; this version reads {Version}.");
        }

        var state = new JoinBufferState { Watermark = reader.ReadInt64() };
        var urls = new string[reader.Read7BitEncodedInt()];
        for (var i = 0; i < urls.Length; i++)
        {
            urls[i] = reader.ReadString();
        }

        state.Views = ReadEntries(reader, urls, state.Matched);
        state.Clicks = ReadEntries(reader, urls, matched: null);
        return state;
    }

    private static void WriteEntries(BinaryWriter writer, List<JoinEntry> entries, List<int> urlIndexes, int first, HashSet<JoinEntry>? matched)
    {
        writer.Write7BitEncodedInt(entries.Count);
        var previous = 0L;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            writer.Write7BitEncodedInt(urlIndexes[first + i]);
            writer.Write7BitEncodedInt64(ZigZag(entry.TimeMs - previous));
            previous = entry.TimeMs;
            var flags = (byte)((matched?.Contains(entry) == true ? Matched : 0) | (entry.EventId is null ? 0 : HasEventId));
            writer.Write(flags);
            if (entry.EventId is { } eventId)
            {
                writer.Write(eventId);
            }
        }
    }

    private static List<JoinEntry> ReadEntries(BinaryReader reader, string[] urls, HashSet<JoinEntry>? matched)
    {
        var count = reader.Read7BitEncodedInt();
        var entries = new List<JoinEntry>(count);
        var previous = 0L;
        for (var i = 0; i < count; i++)
        {
            var url = urls[reader.Read7BitEncodedInt()];
            previous += UnZigZag(reader.Read7BitEncodedInt64());
            var flags = reader.ReadByte();
            var entry = new JoinEntry(url, previous, (flags & HasEventId) != 0 ? reader.ReadString() : null);
            entries.Add(entry);
            if ((flags & Matched) != 0)
            {
                matched?.Add(entry);
            }
        }

        return entries;
    }

    /// <summary>Small differences of either sign as small numbers: 0, -1, 1, -2, 2... as 0, 1, 2, 3, 4...</summary>
    private static long ZigZag(long value) => (value << 1) ^ (value >> 63);

    private static long UnZigZag(long value) => (long)((ulong)value >> 1) ^ -(value & 1);
}
