using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using OrleansStreams.Silo.Api;

namespace OrleansStreams.Tests.App;

/// <summary>How the HTTP API answers when a grain call fails, through ASP.NET's real exception pipeline.</summary>
public sealed class ApiErrorTests
{
    [Fact]
    public async Task call_to_a_lost_silo_answers_503_with_retry_after()
    {
        using var response = await GetFailingAsync(new SiloUnavailableException("Silo S10.0.0.2:11111:1 is unavailable"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(ClusterUnavailableHandler.RetryAfterSeconds), response.Headers.RetryAfter?.Delta);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("S10.0.0.2:11111:1", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task grain_call_timeout_answers_503()
    {
        using var response = await GetFailingAsync(new TimeoutException("Response did not arrive on time"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    [Fact]
    public async Task programming_error_stays_500()
    {
        using var response = await GetFailingAsync(new InvalidOperationException("a bug"));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Null(response.Headers.RetryAfter);
    }

    /// <summary>
    /// The answer of a web host with the silo's error handling to a request whose endpoint throws
    /// <paramref name="failure"/> (read in full before the host stops).
    /// </summary>
    private static async Task<HttpResponseMessage> GetFailingAsync(Exception failure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddApiErrors();
        await using var app = builder.Build();
        app.UseExceptionHandler();
        app.MapGet("/fails", IResult () => throw failure);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = SiloHostTests.Address(app) };
        return await http.GetAsync("/fails");
    }
}
