using Microsoft.AspNetCore.Diagnostics;

namespace OrleansStreams.Silo.Api;

/// <summary>How the HTTP API reports failures: RFC 7807 problem details, 503 while the cluster is between states.</summary>
internal static class ApiErrors
{
    public static IServiceCollection AddApiErrors(this IServiceCollection services) =>
        services.AddProblemDetails().AddExceptionHandler<ClusterUnavailableHandler>();
}

/// <summary>
/// Answers 503 with <c>Retry-After</c> when a request failed only because the cluster is between states: a silo
/// died and its grains have not yet moved, or a grain call timed out. Anything else stays a 500.
/// </summary>
internal sealed partial class ClusterUnavailableHandler(IProblemDetailsService problems, ILogger<ClusterUnavailableHandler> logger) : IExceptionHandler
{
    internal const int RetryAfterSeconds = 1;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        if (exception is not (OrleansMessageRejectionException or TimeoutException))
        {
            return false;
        }

        LogUnavailable(logger, httpContext.Request.Path, exception.Message);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "The cluster is moving grains; retry shortly.",
                Detail = exception.Message,
            },
        });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path} answered 503: the cluster is between states ({Reason})")]
    private static partial void LogUnavailable(ILogger logger, string path, string reason);
}
