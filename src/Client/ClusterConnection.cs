using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;

namespace OrleansStreams.Client;

/// <summary>Thrown when no cluster answers; its message is the one sentence the CLI prints.</summary>
internal sealed class ClusterUnreachableException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Connects to the cluster as an Orleans client: gateways from <c>Orleans:Gateways</c> (comma-separated
/// host:port, default <c>127.0.0.1:30000</c>), or Azure Table clustering with <c>Clustering:Provider=AzureTable</c>.
/// </summary>
internal static class ClusterConnection
{
    public static async Task<IHost> ConnectAsync(IConfiguration config, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddConfiguration(config);
        builder.Logging.ClearProviders();
        var clusterId = config["Orleans:ClusterId"] ?? "orleansstreams";
        var serviceId = config["Orleans:ServiceId"] ?? "orleansstreams";
        var gateways = Gateways(config);
        var azure = string.Equals(config["Clustering:Provider"], "AzureTable", StringComparison.OrdinalIgnoreCase);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = clusterId;
                options.ServiceId = serviceId;
            });
            if (azure)
            {
                var connectionString = config["Clustering:ConnectionString"] ?? config["Storage:ConnectionString"] ?? "UseDevelopmentStorage=true";
                client.UseAzureStorageClustering(options => options.TableServiceClient = new Azure.Data.Tables.TableServiceClient(connectionString));
            }
            else
            {
                client.UseStaticClustering(gateways);
            }

            client.Configure<GatewayOptions>(options => options.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
        });

        var host = builder.Build();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(15));
            await host.StartAsync(timeout.Token);
            return host;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            host.Dispose();
            var where = azure ? "through Azure Table clustering" : "at " + string.Join(", ", gateways.Select(g => g.ToString()));
            throw new ClusterUnreachableException($"No OrleansStreams cluster is reachable {where} ({ex.GetType().Name}); start one with 'dotnet run --project src/Silo' or set Orleans:Gateways.", ex);
        }
    }

    private static IPEndPoint[] Gateways(IConfiguration config) =>
        (config["Orleans:Gateways"] ?? "127.0.0.1:30000")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(g => IPEndPoint.TryParse(g, out var endpoint)
                ? endpoint
                : throw new ArgumentException($"Setting Orleans:Gateways has '{g}', which is not host:port."))
            .ToArray();
}
