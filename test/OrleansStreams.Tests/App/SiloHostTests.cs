using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Dashboard;
using OrleansStreams.Grains;
using OrleansStreams.Silo;
using OrleansStreams.Tests.Infrastructure;
using OrleansStreams.Tests.Monitoring;

namespace OrleansStreams.Tests.App;

/// <summary>The real silo host, as <c>dotnet run --project src/Silo</c> starts it.</summary>
public sealed class SiloHostTests
{
    internal static WebApplication Build(params (string Key, string Value)[] settings) => Build(null, settings);

    internal static WebApplication Build(Action<WebApplicationBuilder>? configure, params (string Key, string Value)[] settings) =>
        OrleansStreamsApp.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Orleans:SiloPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Orleans:GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Orleans:ClusterId"] = "host-test-" + Guid.NewGuid().ToString("N")[..8],
            ["Reporter:Interval"] = "00:00:01",
        }.Concat(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))));
            configure?.Invoke(builder);
        });

    internal static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());

    [Theory]
    [InlineData("Kafka:PartitionCount", "-1", "PartitionCount")]
    [InlineData("Kafka:MaxBatchSize", "0", "MaxBatchSize")]
    [InlineData("Kafka:CacheSize", "0", "CacheSize")]
    [InlineData("Kafka:BatchesPerDelivery", "0", "Kafka:BatchesPerDelivery")]
    [InlineData("Kafka:IdlePollInterval", "00:00:00", "Kafka:IdlePollInterval")]
    [InlineData("Processing:CommitInterval", "-00:00:01", "CommitInterval")]
    [InlineData("Processing:MaxCallsInFlight", "0", "Processing:MaxCallsInFlight")]
    [InlineData("Processing:UserIdleTimeout", "00:00:00.500", "Processing:UserIdleTimeout")]
    [InlineData("Storage:Provider", "Floppy", "Storage:Provider")]
    [InlineData("Storage:MaxConnections", "0", "Storage:MaxConnections")]
    [InlineData("Generator:RatePerSecond", "0", "RatePerSecond")]
    [InlineData("Dashboard:CounterUpdateInterval", "00:00:00.500", "Dashboard:CounterUpdateInterval")]
    public async Task bad_setting_stops_startup_with_a_message_naming_it(string key, string value, string named) =>
        Assert.Contains(named, await StartupFailureAsync((key, value)), StringComparison.Ordinal);

    [Fact]
    public async Task the_dashboard_samples_its_counters_as_often_as_configured()
    {
        await using var defaults = Build([]);
        await using var configured = Build([("Dashboard:CounterUpdateInterval", "00:00:05")]);

        Assert.Equal(1000, defaults.Services.GetRequiredService<IOptions<DashboardOptions>>().Value.CounterUpdateIntervalMs);
        Assert.Equal(5000, configured.Services.GetRequiredService<IOptions<DashboardOptions>>().Value.CounterUpdateIntervalMs);
    }

    [Fact]
    public async Task idle_partitions_are_read_again_as_often_as_configured()
    {
        await using var defaults = Build([]);
        await using var configured = Build([("Kafka:IdlePollInterval", "00:00:00.005")]);

        static StreamPullingAgentOptions Agent(WebApplication app) =>
            app.Services.GetRequiredService<IOptionsMonitor<StreamPullingAgentOptions>>().Get(Topics.StreamProvider);
        Assert.Equal((TimeSpan.FromMilliseconds(20), 16), (Agent(defaults).GetQueueMsgsTimerPeriod, Agent(defaults).BatchContainerBatchSize));
        Assert.Equal(TimeSpan.FromMilliseconds(5), Agent(configured).GetQueueMsgsTimerPeriod);
    }

    [Fact]
    public async Task user_grains_leave_memory_after_the_idle_timeout_and_other_grains_keep_orleans_lifetime()
    {
        await using var defaults = Build([]);
        await using var configured = Build([("Processing:UserIdleTimeout", "00:00:30")]);
        var user = typeof(UserGrain).FullName!;

        var byDefault = defaults.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value;
        Assert.Equal((TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(15)), (byDefault.ClassSpecificCollectionAge[user], byDefault.CollectionQuantum, byDefault.CollectionAge));
        Assert.Single(byDefault.ClassSpecificCollectionAge);

        // Orleans takes a grain class's age only above the collection quantum: a shorter timeout halves the quantum.
        var shorter = configured.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value;
        Assert.Equal((TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(15)), (shorter.ClassSpecificCollectionAge[user], shorter.CollectionQuantum));
    }

    [Fact]
    public async Task a_storage_connection_string_that_is_none_stops_startup_naming_it() =>
        Assert.Contains(
            "Storage:ConnectionString",
            await StartupFailureAsync(("Storage:Provider", "AzureTable"), ("Storage:ConnectionString", "no connection string")),
            StringComparison.Ordinal);

    /// <summary>The messages of what stopped the host from starting with these settings.</summary>
    private static async Task<string> StartupFailureAsync(params (string Key, string Value)[] settings)
    {
        var ex = await Record.ExceptionAsync(async () =>
        {
            await using var app = Build(settings);
            await app.StartAsync();
            await app.StopAsync();
        });
        Assert.NotNull(ex);
        return string.Join(" | ", Flatten(ex));
    }

    [Fact]
    public async Task dev_mode_counts_demo_traffic_and_serves_totals_over_http_and_stops_without_writing_state_it_cannot_keep()
    {
        var logs = new CapturingLoggerProvider();
        var app = Build(builder => builder.Logging.AddProvider(logs), ("Generator:RatePerSecond", "500"));
        try
        {
            await app.StartAsync();
            using var http = new HttpClient { BaseAddress = Address(app) };
            var home = await Eventually.Until(
                () => http.GetFromJsonAsync<JsonElement>("/api/urls/%2Fhome"),
                json => json.GetProperty("total").GetInt64() > 0,
                TimeSpan.FromSeconds(60),
                "/home counted from the demo traffic");
            Assert.Equal("/home", home.GetProperty("url").GetString());

            var unknown = await http.GetFromJsonAsync<JsonElement>("/api/urls/%2Fnever-seen");
            Assert.Equal(0, unknown.GetProperty("total").GetInt64());
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        // In-memory state stops with the silo, and so do the storage grains that hold it: the grains stopping with
        // them do not try to write it there.
        Assert.NotEmpty(logs.Messages);
        Assert.DoesNotContain(logs.Messages, m => m.Contains("while deactivating", StringComparison.Ordinal));

        // The embedded Kafka stops after the Kafka clients of the app, which are disposed with it: none of them
        // finds it gone.
        Assert.DoesNotContain(logs.Messages, m => m.Contains("brokers are down", StringComparison.Ordinal) || m.Contains("Kafka producer error", StringComparison.Ordinal));
    }

    private static IEnumerable<string> Flatten(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            yield return e.Message;
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Flatten))
                {
                    yield return inner;
                }
            }
        }
    }
}
