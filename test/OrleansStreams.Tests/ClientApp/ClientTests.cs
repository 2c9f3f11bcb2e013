using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OrleansStreams.Client;
using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka.Embedded;
using OrleansStreams.Tests.App;
using OrleansStreams.Tests.Infrastructure;

namespace OrleansStreams.Tests.ClientApp;

/// <summary>The <c>orleansstreams</c> CLI against an in-process cluster, connected through its gateway.</summary>
public sealed partial class ClientTests
{
    private const int Partitions = 8;

    private static async Task<(int Code, string Output, string Errors)> Cli(WebApplication? app, params string[] args)
    {
        var settings = new Dictionary<string, string?>();
        if (app is not null)
        {
            var config = app.Services.GetRequiredService<IConfiguration>();
            settings["Orleans:Gateways"] = $"127.0.0.1:{config["Orleans:GatewayPort"]}";
            settings["Orleans:ClusterId"] = config["Orleans:ClusterId"];
        }
        else
        {
            settings["Orleans:Gateways"] = $"127.0.0.1:{FreePort.Next()}";
        }

        using var output = new StringWriter();
        using var errors = new StringWriter();
        var code = await CliApp.RunAsync(args, output, errors, new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        return (code, output.ToString(), errors.ToString());
    }

    [Fact]
    public async Task send_then_url_shows_the_record_counted_and_dlq_stats_shows_a_bad_record_and_status_lists_every_partition_once()
    {
        await using var app = SiloHostTests.Build(("Generator:Enabled", "false"));
        await app.StartAsync();
        var kafka = app.Services.GetRequiredService<EmbeddedKafkaCluster>();

        var sent = await Cli(app, "send", "pageview", "--user", "cli-user", "--url", "/from-cli", "--time", "1700000000.5");
        Assert.True(sent.Code == 0, sent.Errors);
        Assert.Contains("Sent pageview of cli-user on /from-cli", sent.Output, StringComparison.Ordinal);

        var url = await Eventually.Until(() => Cli(app, "url", "/from-cli"), r => r.Output.Contains("/from-cli: 1 views", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the view counted");
        Assert.Equal(0, url.Code);
        Assert.Contains("cli-user: 1 views", (await Cli(app, "user", "cli-user")).Output, StringComparison.Ordinal);

        await KafkaTestData.ProduceAsync(kafka.BootstrapServers, Topics.PageViews, [("bad", Encoding.UTF8.GetBytes("{not json"))]);
        var stats = await Eventually.Until(() => Cli(app, "dlq", "stats"), r => r.Output.Contains("total 1", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the dead letter");
        Assert.Matches(@"malformed\s+1", stats.Output);
        var list = await Cli(app, "dlq", "list");
        Assert.Contains("malformed", list.Output, StringComparison.Ordinal);
        Assert.Contains("{not json", list.Output, StringComparison.Ordinal);

        var status = await Eventually.Until(() => Cli(app, "status"), r => PartitionLines(r.Output).All(l => !l.Contains(" - ", StringComparison.Ordinal)), TimeSpan.FromSeconds(30), "every partition with its reader");
        Assert.Equal(0, status.Code);
        var lines = PartitionLines(status.Output).ToList();
        var expected = new[] { Topics.PageViews, Topics.Clicks }.SelectMany(t => Enumerable.Range(0, Partitions).Select(p => $"{t}[{p}]")).Order().ToList();
        Assert.Equal(expected, lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]).Order().ToList());
        Assert.Contains("Silos (1)", status.Output, StringComparison.Ordinal);
        await app.StopAsync();
    }

    [Fact]
    public async Task with_no_reachable_cluster_the_client_exits_non_zero_with_one_sentence()
    {
        var result = await Cli(null, "top");
        Assert.Equal(2, result.Code);
        var message = result.Errors.Trim();
        Assert.Single(message.Split('\n'));
        Assert.StartsWith("No OrleansStreams cluster is reachable at 127.0.0.1:", message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", message, StringComparison.Ordinal);
    }

    private static IEnumerable<string> PartitionLines(string status) =>
        status.Split('\n').Select(l => l.Trim()).Where(l => PartitionLine().IsMatch(l));

    [GeneratedRegex(@"^(pageviews|clicks)\[\d+\]")]
    private static partial Regex PartitionLine();
}
