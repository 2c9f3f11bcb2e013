using System.Text.Json.Serialization;
using Orleans;

namespace OrleansStreams.Grains;

/// <summary>A page view, as on topic <c>pageviews</c>: <c>view_time</c> is event time in epoch seconds.</summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.PageView")]
public sealed record PageView(
    [property: Id(0), JsonPropertyName("user_id")] string UserId,
    [property: Id(1), JsonPropertyName("url")] string Url,
    [property: Id(2), JsonPropertyName("view_time")] double ViewTime,
    [property: Id(3), JsonPropertyName("event_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? EventId = null);

/// <summary>A click, as on topic <c>clicks</c>: <c>click_time</c> is event time in epoch seconds.</summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.ClickEvent")]
public sealed record ClickEvent(
    [property: Id(0), JsonPropertyName("user_id")] string UserId,
    [property: Id(1), JsonPropertyName("url")] string Url,
    [property: Id(2), JsonPropertyName("click_time")] double ClickTime,
    [property: Id(3), JsonPropertyName("event_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? EventId = null);

/// <summary>An event and the Kafka offset it was read at, in its source partition.</summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.Positioned`1")]
public sealed record Positioned<T>([property: Id(0)] long Offset, [property: Id(1)] T Event);
