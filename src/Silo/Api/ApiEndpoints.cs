using System.Text.Json.Serialization;
using OrleansStreams.Grains;
using OrleansStreams.Grains.Core;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Silo.Api;

/// <summary>The HTTP API over the grains.</summary>
public static class ApiEndpoints
{
    public static IEndpointRouteBuilder MapOrleansStreamsApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var api = app.MapGroup("/api");

        api.MapGet("/urls", async (int? top, IGrainFactory grains) =>
        {
            if (top is < 1 or > 1000)
            {
                return Results.Problem("top must be between 1 and 1000.", statusCode: StatusCodes.Status400BadRequest);
            }

            var urls = await grains.GetGrain<IUrlIndexGrain>(0).TopAsync(top ?? 10);
            return Results.Ok(urls.Select(u => new UrlTotalsResponse(u.Url, u.Total)));
        });

        api.MapGet("/urls/{url}/windows", async (string url, int? last, IGrainFactory grains) =>
        {
            if (last is < 0 or > 10_000)
            {
                return Results.Problem("last must be between 0 and 10000.", statusCode: StatusCodes.Status400BadRequest);
            }

            var windows = await grains.GetGrain<IUrlGrain>(Uri.UnescapeDataString(url)).GetWindowsAsync(last ?? 10);
            return Results.Ok(new WindowsResponse(windows.Url, [.. windows.Closed.Select(WindowResponse.Of)], [.. windows.Open.Select(WindowResponse.Of)]));
        });

        // The URL is path-encoded (/api/urls/%2Fhome); a URL never seen has a total of zero.
        api.MapGet("/urls/{**url}", async (string url, IGrainFactory grains) =>
        {
            var totals = await grains.GetGrain<IUrlGrain>(Uri.UnescapeDataString(url)).GetTotalsAsync();
            return Results.Ok(new UrlTotalsResponse(totals.Url, totals.Total));
        });

        api.MapGet("/urls/{url}/conversions", async (string url, IGrainFactory grains) =>
        {
            var conversions = await grains.GetGrain<IUrlGrain>(Uri.UnescapeDataString(url)).GetConversionsAsync();
            return Results.Ok(new UrlConversionsResponse(conversions.Url, conversions.Views, conversions.Conversions, conversions.Rate));
        });

        api.MapGet("/users/{id}", async (string id, IGrainFactory grains) =>
        {
            var profile = await grains.GetGrain<IUserGrain>(id).GetProfileAsync();
            return Results.Ok(new UserResponse(profile.UserId, profile.Views, profile.Clicks, profile.Conversions, [.. profile.RecentConversions.Select(ConversionResponse.Of)]));
        });

        // Reads a partition again from an offset; grains ignore what they already applied, so totals do not change.
        api.MapPost("/partitions/{topic}/{partition:int}/rewind", async (string topic, int partition, long? offset, IGrainFactory grains) =>
        {
            if (topic is not (Topics.PageViews or Topics.Clicks) || partition < 0 || offset is < 0)
            {
                return Results.Problem(
                    $"Unknown partition {topic}[{partition}] or negative offset.", statusCode: StatusCodes.Status400BadRequest);
            }

            await KafkaCheckpoints.Get(grains, Topics.StreamProvider, topic, partition).RewindAsync(offset ?? 0);
            return Results.Accepted();
        });

        api.MapGet("/dead-letters", async (string? reason, int? limit, IGrainFactory grains) =>
        {
            if (reason is not null && !DeadLetterShards.Reasons.Contains(reason))
            {
                return Results.Problem($"Unknown reason '{reason}'; one of: {string.Join(", ", DeadLetterShards.Reasons)}.", statusCode: StatusCodes.Status400BadRequest);
            }

            if (limit is < 1 or > 10_000)
            {
                return Results.Problem("limit must be between 1 and 10000.", statusCode: StatusCodes.Status400BadRequest);
            }

            var list = await DeadLetters.ListAsync(grains, reason, limit ?? 100);
            return Results.Bytes(DeadLetterJson.SerializeList(list), "application/json");
        });

        api.MapGet("/dead-letters/stats", async (IGrainFactory grains) =>
        {
            var stats = await DeadLetters.StatsAsync(grains);
            return Results.Ok(new DeadLetterStatsResponse(stats.Total, stats.ByReason));
        });

        // Re-publishes dead letters to their source topic once their cause is fixed.
        api.MapPost("/dead-letters/replay", async (ReplayRequest request, IGrainFactory grains, KafkaOutput output) =>
        {
            if (request.Ids is not { Length: > 0 })
            {
                return Results.Problem("Body must be {\"ids\": [\"topic/partition/offset\", ...]}.", statusCode: StatusCodes.Status400BadRequest);
            }

            var replayed = await DeadLetters.ReplayAsync(grains, output, request.Ids);
            return Results.Ok(new ReplayResponse(replayed));
        });

        return app;
    }

    private sealed record WindowsResponse(
        [property: JsonPropertyName("url")] string Url,
        [property: JsonPropertyName("closed")] WindowResponse[] Closed,
        [property: JsonPropertyName("open")] WindowResponse[] Open);

    private sealed record WindowResponse(
        [property: JsonPropertyName("window_start")] double WindowStart,
        [property: JsonPropertyName("window_end")] double WindowEnd,
        [property: JsonPropertyName("count")] long Count)
    {
        public static WindowResponse Of(WindowResult result) => new(result.WindowStart, result.WindowEnd, result.Count);
    }

    private sealed record ReplayRequest([property: JsonPropertyName("ids")] string[]? Ids);

    private sealed record ReplayResponse([property: JsonPropertyName("replayed")] string[] Replayed);

    private sealed record DeadLetterStatsResponse(
        [property: JsonPropertyName("total")] long Total,
        [property: JsonPropertyName("by_reason")] Dictionary<string, long> ByReason);

    private sealed record UrlTotalsResponse(string Url, long Total);

    private sealed record UserResponse(
        [property: JsonPropertyName("user_id")] string UserId,
        [property: JsonPropertyName("views")] long Views,
        [property: JsonPropertyName("clicks")] long Clicks,
        [property: JsonPropertyName("conversions")] long Conversions,
        [property: JsonPropertyName("recent_conversions")] ConversionResponse[] RecentConversions);

    private sealed record ConversionResponse(
        [property: JsonPropertyName("url")] string Url,
        [property: JsonPropertyName("view_time")] double ViewTime,
        [property: JsonPropertyName("click_time")] double? ClickTime)
    {
        public static ConversionResponse Of(Conversion conversion) => new(conversion.Url, conversion.ViewTime, conversion.ClickTime);
    }

    private sealed record UrlConversionsResponse(
        [property: JsonPropertyName("url")] string Url,
        [property: JsonPropertyName("views")] long Views,
        [property: JsonPropertyName("conversions")] long Conversions,
        [property: JsonPropertyName("conversion_rate")] double ConversionRate);
}
