using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Silo.Api;

/// <summary>The HTTP API over the grains.</summary>
public static class ApiEndpoints
{
    public static IEndpointRouteBuilder MapOrleansStreamsApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var api = app.MapGroup("/api");

        // The URL is path-encoded (/api/urls/%2Fhome); a URL never seen has a total of zero.
        api.MapGet("/urls/{**url}", async (string url, IGrainFactory grains) =>
        {
            var totals = await grains.GetGrain<IUrlGrain>(Uri.UnescapeDataString(url)).GetTotalsAsync();
            return Results.Ok(new UrlTotalsResponse(totals.Url, totals.Total));
        });

        api.MapGet("/users/{id}", async (string id, IGrainFactory grains) =>
        {
            var totals = await grains.GetGrain<IUserGrain>(id).GetTotalsAsync();
            return Results.Ok(new UserTotalsResponse(totals.UserId, totals.Views));
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

        return app;
    }

    private sealed record UrlTotalsResponse(string Url, long Total);

    private sealed record UserTotalsResponse([property: System.Text.Json.Serialization.JsonPropertyName("user_id")] string UserId, long Views);
}
