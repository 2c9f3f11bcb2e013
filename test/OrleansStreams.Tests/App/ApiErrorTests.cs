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
        await using var app = await StartAsync(() => throw new SiloUnavailableException("Silo S10.0.0.2:11111:1 is unavailable"));
        using var http = new HttpClient { BaseAddress = SiloHostTests.Address(app) };

        var response = await http.GetAsync("/fails");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(ClusterUnavailableHandler.RetryAfterSeconds), response.Headers.RetryAfter?.Delta);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("S10.0.0.2:11111:1", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task grain_call_timeout_answers_503()
    {
        await using var app = await StartAsync(() => throw new TimeoutException("Response did not arrive on time"));
        using var http = new HttpClient { BaseAddress = SiloHostTests.Address(app) };

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/fails")).StatusCode);
    }

    [Fact]
    public async Task programming_error_stays_500()
    {
        await using var app = await StartAsync(() => throw new InvalidOperationException("a bug"));
        using var http = new HttpClient { BaseAddress = SiloHostTests.Address(app) };

        var response = await http.GetAsync("/fails");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Null(response.Headers.RetryAfter);
    }

    /// <summary>A web host with the silo's error handling and one endpoint that fails as given.</summary>
    private static async Task<WebApplication> StartAsync(Func<IResult> fail)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddApiErrors();
        var app = builder.Build();
        app.UseExceptionHandler();
        app.MapGet("/fails", fail);
        await app.StartAsync();
        return app;
    }
}
