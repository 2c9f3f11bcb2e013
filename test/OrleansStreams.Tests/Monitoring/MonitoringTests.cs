using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka.Embedded;
using OrleansStreams.Tests.App;
using OrleansStreams.Tests.Infrastructure;

namespace OrleansStreams.Tests.Monitoring;

/// <summary>The silo's HTTP endpoint as operators use it: metrics, dashboard, health, API key.</summary>
public sealed partial class MonitoringTests
{
    [Fact]
    public async Task scraped_metrics_show_exactly_the_counts_of_a_known_scenario()
    {
        await using var app = SiloHostTests.Build(("Generator:Enabled", "false"));
        await app.StartAsync();
        try
        {
            var kafka = app.Services.GetRequiredService<EmbeddedKafkaCluster>();
            var views = KafkaTestData.PageViews(1_000, urls: 10, users: 50);
            var records = views.Select(v => ((string?)v.UserId, (byte[]?)KafkaTestData.Json(v)))
                .Concat(Enumerable.Range(0, 25).Select(i => ((string?)$"bad-{i}", (byte[]?)Encoding.UTF8.GetBytes("not json"))));
            await KafkaTestData.ProduceAsync(kafka.BootstrapServers, Topics.PageViews, records);

            using var http = new HttpClient { BaseAddress = SiloHostTests.Address(app) };
            var text = await Eventually.Until(() => http.GetStringAsync("/metrics"), m => Sum(m, "app_messages_consumed_total") >= 1_025, TimeSpan.FromSeconds(60), "1,025 records consumed");
            // The durable offsets trail what is applied by one to two commit intervals.
            text = await Eventually.Until(() => http.GetStringAsync("/metrics"), m => Sum(m, "app_consumer_lag", "topic=\"pageviews\"") == 0, TimeSpan.FromSeconds(30), "consumer lag back to zero");

            Assert.Equal(1_025, Sum(text, "app_messages_consumed_total"));
            Assert.Equal(8, Series(text, "app_messages_consumed_total").Count(s => s.Labels.Contains("topic=\"pageviews\"", StringComparison.Ordinal)));
            Assert.Equal(25, Sum(text, "app_dead_letters_total", "reason=\"malformed\""));
            Assert.Equal(1_025, Sum(text, "app_process_latency_seconds_count"));
            Assert.Equal(1_000, Sum(text, "app_event_time_lag_seconds_count"));
            Assert.Equal(0, Sum(text, "app_late_records_total"));
            Assert.True(Sum(text, "app_checkpoint_duration_seconds_count") > 0);
            Assert.Equal(0, Sum(text, "app_consumer_lag", "topic=\"pageviews\""));
            Assert.Contains("orleans_", text, StringComparison.Ordinal);
            // Orleans' own meters, untagged ones included: every grain call looks its target up in the directory.
            Assert.True(Sum(text, "orleans_directory_lookups_local_issued_total") > 0);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task dashboard_answers_and_its_data_lists_the_application_grain_types()
    {
        await using var app = SiloHostTests.Build(("Generator:RatePerSecond", "100"));
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = SiloHostTests.Address(app) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/dashboard/index.html")).StatusCode);
            var counters = await Eventually.Until(
                () => http.GetStringAsync("/dashboard/DashboardCounters"),
                c => c.Contains("OrleansStreams.Grains.UrlGrain", StringComparison.Ordinal) && c.Contains("OrleansStreams.Grains.UserGrain", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60),
                "the dashboard listing the application's grains");
            Assert.Contains("PageViewDispatcherGrain", counters, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task steady_traffic_commits_about_once_per_interval_not_after_every_delivery()
    {
        // 400 views a second keep each of the 8 partitions busy, so every delivery reads up to the end; no clicks, so
        // only the page-view partitions commit. Committing after each such delivery made about 4 commits per interval.
        await using var app = SiloHostTests.Build(("Generator:RatePerSecond", "400"), ("Generator:ClickFraction", "0"));
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = SiloHostTests.Address(app) };
            var started = await Eventually.Until(() => http.GetStringAsync("/metrics"), m => Sum(m, "app_checkpoint_duration_seconds_count") >= 8, TimeSpan.FromSeconds(60), "every partition committing");
            const int Seconds = 6;
            await Task.Delay(TimeSpan.FromSeconds(Seconds));
            var ended = await http.GetStringAsync("/metrics");

            var consumed = Sum(ended, "app_messages_consumed_total", "topic=\"pageviews\"") - Sum(started, "app_messages_consumed_total", "topic=\"pageviews\"");
            var commits = Sum(ended, "app_checkpoint_duration_seconds_count") - Sum(started, "app_checkpoint_duration_seconds_count");
            Assert.True(consumed >= 8 * 100, $"steady traffic: {consumed} views consumed in {Seconds} s");
            // One per interval and partition, with room for a partition that goes quiet now and then.
            Assert.True(commits <= 8 * Seconds * 2, $"{commits} commits of 8 partitions in {Seconds} s at a commit interval of 1 s");
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task readiness_is_false_while_kafka_is_down_and_true_after()
    {
        await using var app = SiloHostTests.Build(("Generator:Enabled", "false"));
        await app.StartAsync();
        try
        {
            var kafka = app.Services.GetRequiredService<EmbeddedKafkaCluster>();
            using var http = new HttpClient { BaseAddress = SiloHostTests.Address(app) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
            await Eventually.Until(() => http.GetAsync("/health/ready"), r => r.StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "ready");

            kafka.SetBrokerDown(1);
            var down = await Eventually.Until(() => http.GetAsync("/health/ready"), r => r.StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30), "not ready while Kafka is down");
            Assert.Contains("kafka", await down.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);

            kafka.SetBrokerUp(1);
            await Eventually.Until(() => http.GetAsync("/health/ready"), r => r.StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "ready again once Kafka is back");
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task the_api_key_is_required_and_secrets_never_reach_the_log_or_metrics()
    {
        const string ApiKey = "k3y-for-tests";
        const string SaslSecret = "SASL-SECRET-d41d8cd98f";
        await using var azurite = await Azurite.StartAsync();
        var secret = Regex.Match(azurite.ConnectionString, "AccountKey=([^;]+)").Groups[1].Value;
        var logs = new CapturingLoggerProvider();
        await using var app = SiloHostTests.Build(
            builder => builder.Logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug),
            ("Generator:Enabled", "false"),
            ("Security:ApiKey", ApiKey),
            ("Storage:Provider", "AzureTable"),
            ("Storage:ConnectionString", azurite.ConnectionString),
            ("Kafka:Producer:sasl.password", SaslSecret),
            ("Kafka:Consumer:sasl.password", SaslSecret));
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = SiloHostTests.Address(app) };
            var refused = await http.GetAsync("/api/urls/%2Fhome");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/dashboard/index.html")).StatusCode);

            using var withKey = new HttpRequestMessage(HttpMethod.Get, "/api/urls/%2Fhome");
            withKey.Headers.Add("X-Api-Key", ApiKey);
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(withKey)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);

            var metrics = await http.GetStringAsync("/metrics");
            Assert.DoesNotContain(secret, metrics, StringComparison.Ordinal);
            Assert.DoesNotContain(SaslSecret, metrics, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync();
        }

        Assert.NotEmpty(logs.Messages);
        Assert.DoesNotContain(logs.Messages, m => m.Contains(secret, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains(SaslSecret, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains(ApiKey, StringComparison.Ordinal));
    }

    private static IEnumerable<(string Labels, double Value)> Series(string metrics, string name) =>
        metrics.Split('\n')
            .Where(line => line.StartsWith(name, StringComparison.Ordinal) && (line.Length > name.Length && (line[name.Length] == '{' || line[name.Length] == ' ')))
            .Select(line =>
            {
                var space = line.LastIndexOf(' ');
                return (line[name.Length..space], double.Parse(line[(space + 1)..], System.Globalization.CultureInfo.InvariantCulture));
            });

    private static double Sum(string metrics, string name, string? label = null) =>
        Series(metrics, name).Where(s => label is null || s.Labels.Contains(label, StringComparison.Ordinal)).Sum(s => s.Value);
}
