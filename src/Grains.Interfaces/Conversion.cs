using System.Globalization;
using Orleans;

namespace OrleansStreams.Grains;

/// <summary>
/// A page view followed by a click on the same URL by the same user within the join window (epoch seconds).
/// In left-join mode, a view that no click followed has no click time.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.Conversion")]
public sealed record Conversion(
    [property: Id(0)] string UserId,
    [property: Id(1)] string Url,
    [property: Id(2)] double ViewTime,
    [property: Id(3)] double? ClickTime)
{
    /// <summary>The record key on the <c>conversions</c> topic: the same for every emission of this pair.</summary>
    public string Key => string.Create(CultureInfo.InvariantCulture, $"{UserId}|{Url}|{ViewTime:R}|{(ClickTime is { } c ? c.ToString("R", CultureInfo.InvariantCulture) : "-")}");
}

[GenerateSerializer, Immutable, Alias("OrleansStreams.UrlConversions")]
public sealed record UrlConversions([property: Id(0)] string Url, [property: Id(1)] long Views, [property: Id(2)] long Conversions)
{
    /// <summary>Conversions per view, 0 when there are no views.</summary>
    public double Rate => Views == 0 ? 0 : (double)Conversions / Views;
}

[GenerateSerializer, Immutable, Alias("OrleansStreams.UserProfile")]
public sealed record UserProfile(
    [property: Id(0)] string UserId,
    [property: Id(1)] long Views,
    [property: Id(2)] long Clicks,
    [property: Id(3)] long Conversions,
    [property: Id(4)] Conversion[] RecentConversions,
    [property: Id(5)] int Buffered);
