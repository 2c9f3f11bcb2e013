using Orleans;
using OrleansStreams.Grains.Core;

namespace OrleansStreams.Grains;

// The processing core is free of Orleans types; these surrogates carry its state in grain state and messages.

[GenerateSerializer, Immutable, Alias("OrleansStreams.ClosedWindow")]
internal readonly struct ClosedWindowSurrogate(long startMs, long endMs, long count)
{
    [Id(0)]
    public long StartMs { get; } = startMs;

    [Id(1)]
    public long EndMs { get; } = endMs;

    [Id(2)]
    public long Count { get; } = count;
}

[RegisterConverter]
internal sealed class ClosedWindowConverter : IConverter<ClosedWindow, ClosedWindowSurrogate>
{
    public ClosedWindow ConvertFromSurrogate(in ClosedWindowSurrogate surrogate) => new(surrogate.StartMs, surrogate.EndMs, surrogate.Count);

    public ClosedWindowSurrogate ConvertToSurrogate(in ClosedWindow value) => new(value.StartMs, value.EndMs, value.Count);
}

[GenerateSerializer, Alias("OrleansStreams.WindowCountsState")]
internal struct WindowCountsStateSurrogate
{
    [Id(0)]
    public Dictionary<long, long> Open;

    [Id(1)]
    public List<ClosedWindow> Closed;

    [Id(2)]
    public long Watermark;
}

[RegisterConverter]
internal sealed class WindowCountsStateConverter : IConverter<WindowCountsState, WindowCountsStateSurrogate>
{
    public WindowCountsState ConvertFromSurrogate(in WindowCountsStateSurrogate surrogate) =>
        new() { Open = surrogate.Open ?? [], Closed = surrogate.Closed ?? [], Watermark = surrogate.Watermark };

    public WindowCountsStateSurrogate ConvertToSurrogate(in WindowCountsState value) =>
        new() { Open = value.Open, Closed = value.Closed, Watermark = value.Watermark };
}

[GenerateSerializer, Immutable, Alias("OrleansStreams.PartitionProgress")]
internal readonly struct PartitionProgressSurrogate(long maxEventMs, long lastSeenMs)
{
    [Id(0)]
    public long MaxEventMs { get; } = maxEventMs;

    [Id(1)]
    public long LastSeenMs { get; } = lastSeenMs;
}

[RegisterConverter]
internal sealed class PartitionProgressConverter : IConverter<PartitionProgress, PartitionProgressSurrogate>
{
    public PartitionProgress ConvertFromSurrogate(in PartitionProgressSurrogate surrogate) => new(surrogate.MaxEventMs, surrogate.LastSeenMs);

    public PartitionProgressSurrogate ConvertToSurrogate(in PartitionProgress value) => new(value.MaxEventMs, value.LastSeenMs);
}

/// <summary>A join entry as earlier versions wrote each one (see <see cref="JoinBufferStateSurrogate"/>).</summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.JoinEntry")]
internal readonly struct JoinEntrySurrogate(string url, long timeMs, string? id)
{
    [Id(0)]
    public string Url { get; } = url;

    [Id(1)]
    public long TimeMs { get; } = timeMs;

    [Id(2)]
    public string? Id { get; } = id;
}

[RegisterConverter]
internal sealed class JoinEntryConverter : IConverter<JoinEntry, JoinEntrySurrogate>
{
    public JoinEntry ConvertFromSurrogate(in JoinEntrySurrogate surrogate) => new(surrogate.Url, surrogate.TimeMs, surrogate.Id);

    public JoinEntrySurrogate ConvertToSurrogate(in JoinEntry value) => new(value.Url, value.TimeMs, value.EventId);
}

/// <summary>
/// A join buffer in grain state: written packed (<see cref="JoinBufferFormat"/>); the other fields are how earlier
/// versions wrote it, and are still read.
/// </summary>
[GenerateSerializer, Alias("OrleansStreams.JoinBufferState")]
internal struct JoinBufferStateSurrogate
{
    [Id(0)]
    public List<JoinEntry>? Views;

    /// <summary>Earlier versions: the ids of the views that joined.</summary>
    [Id(1)]
    public HashSet<string>? Matched;

    [Id(2)]
    public List<JoinEntry>? Clicks;

    [Id(3)]
    public long Watermark;

    [Id(4)]
    public byte[]? Packed;
}

[RegisterConverter]
internal sealed class JoinBufferStateConverter : IConverter<JoinBufferState, JoinBufferStateSurrogate>
{
    public JoinBufferState ConvertFromSurrogate(in JoinBufferStateSurrogate surrogate)
    {
        if (surrogate.Packed is { } packed)
        {
            return JoinBufferFormat.Read(packed);
        }

        var views = surrogate.Views ?? [];
        var matchedIds = surrogate.Matched ?? [];
        return new()
        {
            Views = views,
            Matched = [.. views.Where(v => v.EventId is { } id && matchedIds.Contains(id))],
            Clicks = surrogate.Clicks ?? [],
            Watermark = surrogate.Watermark,
        };
    }

    public JoinBufferStateSurrogate ConvertToSurrogate(in JoinBufferState value) => new() { Packed = JoinBufferFormat.Write(value) };
}
