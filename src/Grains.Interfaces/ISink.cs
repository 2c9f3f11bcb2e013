using Orleans;
using Orleans.Concurrency;

namespace OrleansStreams.Grains;

/// <summary>
/// A grain that applies records of source partitions ("topic/partition") in offset order, ignoring any at or
/// below the highest offset it has applied from that partition. It persists on its own, at most once per commit
/// interval however many partitions feed it, and when a dispatcher flushes; every receipt says how far each
/// source is persisted, so a dispatcher commits offsets only below what is durable everywhere.
/// Every apply takes the activation the caller expects (or empty): when the grain answers from another
/// activation, unpersisted work was lost with the old one, nothing is applied, and the caller resends it first.
/// Records come in parts, one source's records each (<see cref="SinkPart{T}"/>): a call carries the parts that several
/// dispatchers sent the grain meanwhile, applied in order, each as if it came alone.
/// </summary>
[Alias("OrleansStreams.ISink")]
public interface ISink : IGrainWithStringKey
{
    /// <summary>
    /// Persists everything applied so far, unless <paramref name="source"/> is persisted up to
    /// <paramref name="upTo"/> already (a write under way that covers it is awaited, not repeated); accepted only
    /// if this is still <paramref name="expectedActivation"/>.
    /// </summary>
    [Alias("Flush"), AlwaysInterleave]
    Task<SinkReceipt> FlushAsync(string source, Guid expectedActivation, long upTo);
}

/// <summary>Durable views of one URL (the key).</summary>
[Alias("OrleansStreams.IUrlGrain")]
public interface IUrlGrain : ISink
{
    [Alias("ApplyPageViewParts")]
    Task<SinkPartResult[]> ApplyPageViewsAsync([Immutable] SinkPart<PageView>[] parts);

    [Alias("GetTotals")]
    Task<UrlTotals> GetTotalsAsync();

    /// <summary>The last <paramref name="last"/> closed windows (latest first) and the open ones.</summary>
    [Alias("GetWindows")]
    Task<UrlWindows> GetWindowsAsync(int last);

    /// <summary>
    /// Counts conversions on this URL, each once (by its key) however often it is delivered, and persists before
    /// returning (deliveries that arrive together share one write).
    /// </summary>
    [Alias("ApplyConversions"), AlwaysInterleave]
    Task ApplyConversionsAsync([Immutable] Conversion[] conversions);

    [Alias("GetConversions")]
    Task<UrlConversions> GetConversionsAsync();
}

/// <summary>Durable views and clicks of one user (the key).</summary>
[Alias("OrleansStreams.IUserGrain")]
public interface IUserGrain : ISink
{
    [Alias("ApplyPageViewParts")]
    Task<SinkPartResult[]> ApplyPageViewsAsync([Immutable] SinkPart<PageView>[] parts);

    [Alias("ApplyClickParts")]
    Task<SinkPartResult[]> ApplyClicksAsync([Immutable] SinkPart<ClickEvent>[] parts);

    [Alias("GetTotals")]
    Task<UserTotals> GetTotalsAsync();

    [Alias("GetProfile")]
    Task<UserProfile> GetProfileAsync();

    /// <summary>
    /// Moves the join buffer to the silo's join watermark (what no record can join any more leaves it, and a left join
    /// emits it); the silo calls it once that watermark has passed the oldest entry.
    /// </summary>
    [Alias("Expire")]
    Task ExpireAsync();
}

/// <summary>
/// Which activation answered, whether it was the one the caller expected, which of the records applied were
/// late (older than an already closed window), and the highest offset of the caller's source that the grain
/// has persisted (-1 for none).
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.SinkReceipt")]
public readonly record struct SinkReceipt(
    [property: Id(0)] Guid Activation,
    [property: Id(1)] bool Accepted,
    [property: Id(2)] long[]? Late = null,
    [property: Id(3)] long Persisted = -1);

/// <summary>Records of one source partition for a sink, in offset order, and the activation the sender expects (or empty).</summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.SinkPart`1")]
public sealed record SinkPart<T>(
    [property: Id(0)] string Source,
    [property: Id(1)] Guid ExpectedActivation,
    [property: Id(2)] Positioned<T>[] Items);

/// <summary>
/// What one part of a call came to: its receipt, or, when processing failed on a record, that record's offset and the
/// error (every record of the part before it was applied, it and those after it were not).
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.SinkPartResult")]
public readonly record struct SinkPartResult(
    [property: Id(0)] SinkReceipt Receipt,
    [property: Id(1)] long FailedOffset = -1,
    [property: Id(2)] string? Error = null)
{
    public bool Failed => Error is not null;
}

/// <summary>Views of a URL in one event-time window <c>[window_start, window_end)</c>, epoch seconds.</summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.WindowResult")]
public sealed record WindowResult(
    [property: Id(0)] string Url,
    [property: Id(1)] double WindowStart,
    [property: Id(2)] double WindowEnd,
    [property: Id(3)] long Count);

[GenerateSerializer, Immutable, Alias("OrleansStreams.UrlWindows")]
public sealed record UrlWindows([property: Id(0)] string Url, [property: Id(1)] WindowResult[] Closed, [property: Id(2)] WindowResult[] Open);

[GenerateSerializer, Immutable, Alias("OrleansStreams.UrlTotals")]
public sealed record UrlTotals([property: Id(0)] string Url, [property: Id(1)] long Total);

[GenerateSerializer, Immutable, Alias("OrleansStreams.UserTotals")]
public sealed record UserTotals([property: Id(0)] string UserId, [property: Id(1)] long Views, [property: Id(2)] long Clicks = 0);
