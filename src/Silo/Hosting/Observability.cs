using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;
using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka;
using Prometheus;

namespace OrleansStreams.Silo.Hosting;

/// <summary>Health checks, Prometheus metrics and the API key of the silo's HTTP endpoint.</summary>
public static class Observability
{
    public const string ReadyTag = "ready";
    public const string ApiKeyHeader = "X-Api-Key";

    public static IServiceCollection AddOrleansStreamsHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<SiloActiveCheck>("silo", tags: [ReadyTag])
            .AddCheck<KafkaReachableCheck>("kafka", tags: [ReadyTag])
            .AddCheck<StorageReachableCheck>("storage", tags: [ReadyTag]);
        return services;
    }

    public static IEndpointRouteBuilder MapOrleansStreamsObservability(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new()
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = async (context, report) =>
            {
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsJsonAsync(new
                {
                    status = report.Status.ToString(),
                    checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
                });
            },
        });
        app.MapMetrics("/metrics", app.ServiceProvider.GetRequiredService<PipelineMetrics>().Registry);
        return app;
    }

    /// <summary>
    /// With <c>Security:ApiKey</c> set, the API and the dashboard need it in the <c>X-Api-Key</c> header (or the
    /// <c>api_key</c> query parameter). Health and metrics stay open for probes and scrapers.
    /// </summary>
    public static IApplicationBuilder UseApiKey(this IApplicationBuilder app, string? apiKey)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (string.IsNullOrEmpty(apiKey))
        {
            return app;
        }

        var expected = Encoding.UTF8.GetBytes(apiKey);
        return app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (path.StartsWithSegments("/api") || path.StartsWithSegments("/dashboard"))
            {
                var given = context.Request.Headers[ApiKeyHeader].FirstOrDefault() ?? context.Request.Query["api_key"].FirstOrDefault() ?? string.Empty;
                if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), expected))
                {
                    await Results.Problem("A valid API key is required (header X-Api-Key).", statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(context);
                    return;
                }
            }

            await next(context);
        });
    }

    private sealed class SiloActiveCheck(ILocalSiloDetails silo, IClusterMembershipService membership) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var status = membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress);
            return Task.FromResult(status == SiloStatus.Active
                ? HealthCheckResult.Healthy("silo active")
                : HealthCheckResult.Unhealthy($"silo {status}"));
        }
    }

    private sealed class KafkaReachableCheck(Microsoft.Extensions.Options.IOptionsMonitor<KafkaStreamOptions> options) : IHealthCheck, IDisposable
    {
        private readonly Lazy<IAdminClient> _admin = new(() => new AdminClientBuilder(KafkaClientConfigs.Admin(options.Get(Topics.StreamProvider))).Build());

        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var metadata = await Task.Run(() => _admin.Value.GetMetadata(Topics.PageViews, TimeSpan.FromSeconds(2)), cancellationToken);
                var topic = metadata.Topics.SingleOrDefault();
                if (topic is null || topic.Error.IsError)
                {
                    return HealthCheckResult.Unhealthy($"topic {Topics.PageViews}: {topic?.Error.Reason ?? "no metadata"}");
                }

                var leaderless = topic.Partitions.Count(p => p.Leader < 0 || !metadata.Brokers.Any(b => b.BrokerId == p.Leader));
                return leaderless == 0
                    ? HealthCheckResult.Healthy($"{metadata.Brokers.Count} broker(s) reachable")
                    : HealthCheckResult.Unhealthy($"{leaderless} partition(s) of {Topics.PageViews} have no reachable leader");
            }
            catch (KafkaException ex)
            {
                return HealthCheckResult.Unhealthy($"Kafka unreachable: {ex.Error.Reason}");
            }
        }

        public void Dispose()
        {
            if (_admin.IsValueCreated)
            {
                _admin.Value.Dispose();
            }
        }
    }

    private sealed class StorageReachableCheck(IConfiguration config) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (SiloSettings.Storage(config) == StorageKind.Memory)
            {
                return HealthCheckResult.Healthy("in memory");
            }

            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(3));
                var client = new TableServiceClient(SiloSettings.StorageConnectionString(config));
                await client.GetPropertiesAsync(timeout.Token);
                return HealthCheckResult.Healthy("Azure Table storage reachable");
            }
            catch (Exception ex) when (ex is Azure.RequestFailedException or OperationCanceledException or InvalidOperationException)
            {
                return HealthCheckResult.Unhealthy("Azure Table storage unreachable: " + ex.GetType().Name);
            }
        }
    }
}
