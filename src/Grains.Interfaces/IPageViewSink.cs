using Orleans;
using Orleans.Concurrency;

namespace OrleansStreams.Grains;

/// <summary>
/// A grain that applies page views of a source partition ("topic/partition") in offset order, ignoring any
/// at or below the highest offset it has applied from that partition, and persists when asked.
/// </summary>
[Alias("OrleansStreams.IPageViewSink")]
public interface IPageViewSink : IGrainWithStringKey
{
    /// <summary>
    /// Applies the views if this is still the activation <paramref name="expectedActivation"/> (or that is empty);
    /// otherwise applies nothing: unflushed work was lost, and the caller must first resend it.
    /// </summary>
    [Alias("ApplyPageViews")]
    Task<SinkReceipt> ApplyPageViewsAsync(string source, Guid expectedActivation, [Immutable] PositionedPageView[] views);

    /// <summary>Persists everything applied so far; accepted only if this is still <paramref name="expectedActivation"/>.</summary>
    [Alias("Flush")]
    Task<SinkReceipt> FlushAsync(Guid expectedActivation);
}

/// <summary>Durable views of one URL.</summary>
[Alias("OrleansStreams.IUrlGrain")]
public interface IUrlGrain : IPageViewSink
{
    [Alias("GetTotals")]
    Task<UrlTotals> GetTotalsAsync();
}

/// <summary>Durable views of one user.</summary>
[Alias("OrleansStreams.IUserGrain")]
public interface IUserGrain : IPageViewSink
{
    [Alias("GetTotals")]
    Task<UserTotals> GetTotalsAsync();
}

/// <summary>Which activation answered, and whether it was the one the caller expected.</summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.SinkReceipt")]
public readonly record struct SinkReceipt([property: Id(0)] Guid Activation, [property: Id(1)] bool Accepted);

[GenerateSerializer, Immutable, Alias("OrleansStreams.UrlTotals")]
public sealed record UrlTotals([property: Id(0)] string Url, [property: Id(1)] long Total);

[GenerateSerializer, Immutable, Alias("OrleansStreams.UserTotals")]
public sealed record UserTotals([property: Id(0)] string UserId, [property: Id(1)] long Views);
