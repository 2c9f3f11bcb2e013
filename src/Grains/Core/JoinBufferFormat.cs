using System.Buffers.Binary;
using System.Runtime.InteropServices;
using static OrleansStreams.Grains.Core.Packing;

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

    /// <summary>Each URL's place in the table of the buffer being written, kept for the thread's next write.</summary>
    [ThreadStatic]
    private static Dictionary<string, int>? t_urls;

    /// <summary>The URL index of each entry of the buffer being written (views, then clicks), kept likewise.</summary>
    [ThreadStatic]
    private static List<int>? t_indexes;

    /// <summary>The times of the joined views of the buffer being written, kept likewise.</summary>
    [ThreadStatic]
    private static HashSet<long>? t_matchedTimes;

    public static byte[] Write(JoinBufferState state)
    {
        ArgumentNullException.ThrowIfNull(state);

        // Each URL's index is its place in the table, which is written in order: read off the join's index by URL when a
        // join works on this buffer, else looked up once per entry.
        var indexes = t_indexes ??= [];
        var urls = t_urls ??= new Dictionary<string, int>(StringComparer.Ordinal);
        var table = new List<string>();
        if (state.IndexUrls?.Invoke(table, indexes) != true)
        {
            urls.Clear();
            indexes.Clear();
            table.Clear();
            IndexUrls(state.Views);
            IndexUrls(state.Clicks);
        }

        var bound = 1 + sizeof(long) + (3 * MaxVarIntBytes) + ((MaxVarIntBytes + MaxVarIntBytes + 1) * indexes.Count)
            + EventIdBytes(state.Views) + EventIdBytes(state.Clicks);
        foreach (var url in table)
        {
            bound += MaxStringBytes(url);
        }

        // Few views have joined: most are told apart from those by their time alone, without hashing the whole entry.
        var matchedTimes = t_matchedTimes ??= [];
        matchedTimes.Clear();
        foreach (var view in state.Matched)
        {
            matchedTimes.Add(view.TimeMs);
        }

        var bytes = Rent(bound);
        var at = 0;
        bytes[at++] = Version;
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(at), state.Watermark);
        at += sizeof(long);
        WriteVarInt(bytes, ref at, (ulong)table.Count);
        foreach (var url in table)
        {
            WriteString(bytes, ref at, url);
        }

        WriteEntries(bytes, ref at, state.Views, indexes, 0, state.Matched, matchedTimes);
        WriteEntries(bytes, ref at, state.Clicks, indexes, state.Views.Count, matched: null, matchedTimes);
        return Finish(bytes, at);

        static int EventIdBytes(List<JoinEntry> entries)
        {
            var bytes = 0;
            foreach (var entry in entries)
            {
                bytes += entry.EventId is { } id ? MaxStringBytes(id) : 0;
            }

            return bytes;
        }

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
        var bytes = data.AsSpan();
        var at = 0;
        ReadVersion(bytes, ref at, Version, "Join buffer");
        var state = new JoinBufferState { Watermark = BinaryPrimitives.ReadInt64LittleEndian(bytes[at..]) };
        at += sizeof(long);
        var urls = new string[ReadVarInt(bytes, ref at)];
        for (var i = 0; i < urls.Length; i++)
        {
            urls[i] = ReadString(bytes, ref at);
        }

        state.Views = ReadEntries(bytes, ref at, urls, state.Matched);
        state.Clicks = ReadEntries(bytes, ref at, urls, matched: null);
        return state;
    }

    private static void WriteEntries(byte[] bytes, ref int at, List<JoinEntry> entries, List<int> urlIndexes, int first, HashSet<JoinEntry>? matched, HashSet<long> matchedTimes)
    {
        WriteVarInt(bytes, ref at, (ulong)entries.Count);
        var previous = 0L;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            WriteVarInt(bytes, ref at, (ulong)urlIndexes[first + i]);
            WriteVarInt(bytes, ref at, (ulong)ZigZag(entry.TimeMs - previous));
            previous = entry.TimeMs;
            var joined = matched is not null && matchedTimes.Contains(entry.TimeMs) && matched.Contains(entry);
            bytes[at++] = (byte)((joined ? Matched : 0) | (entry.EventId is null ? 0 : HasEventId));
            if (entry.EventId is { } eventId)
            {
                WriteString(bytes, ref at, eventId);
            }
        }
    }

    private static List<JoinEntry> ReadEntries(ReadOnlySpan<byte> bytes, ref int at, string[] urls, HashSet<JoinEntry>? matched)
    {
        var count = (int)ReadVarInt(bytes, ref at);
        var entries = new List<JoinEntry>(count);
        var previous = 0L;
        for (var i = 0; i < count; i++)
        {
            var url = urls[ReadVarInt(bytes, ref at)];
            previous += UnZigZag((long)ReadVarInt(bytes, ref at));
            var flags = bytes[at++];
            var entry = new JoinEntry(url, previous, (flags & HasEventId) != 0 ? ReadString(bytes, ref at) : null);
            entries.Add(entry);
            if ((flags & Matched) != 0)
            {
                matched?.Add(entry);
            }
        }

        return entries;
    }
}
