using System.Text;
using System.Text.Json;
using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka.Embedded;
using OrleansStreams.Tests.Infrastructure;

namespace OrleansStreams.Tests.App;

/// <summary>Event-time windows through the whole app, results read back from Kafka.</summary>
public sealed class WindowTests
{
    private const int Partitions = TestKafka.Partitions;
    private const double T0 = 1_700_000_000;

    private static readonly Dictionary<string, string> Settings = new()
    {
        ["Windows:Size"] = "00:00:10",
        ["Windows:Grace"] = "00:00:01",
        ["Windows:OutOfOrderness"] = "00:00:01",
        ["Windows:IdleTimeout"] = "00:00:01",
    };

    [Fact]
    public async Task each_window_result_is_emitted_once_when_the_watermark_passes_and_a_late_record_goes_to_the_dead_letters()
    {
        using var kafka = TestKafka.Start();

        await using var app = await AppCluster.StartAsync(kafka, Settings);
        var views = new[]
        {
            new PageView("u1", "/w", T0 + 1),
            new PageView("u2", "/w", T0 + 9.999),
            new PageView("u3", "/w", T0 + 10),
            new PageView("u4", "/v", T0 + 3),
            new PageView("u5", "/w", T0 + 2),     // out of order, within the allowed disorder
            new PageView("u6", "/w", T0 + 15),
        };
        await KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, views, Partitions);

        // The stream then goes quiet: the idle rule advances event time, so even the last window closes.
        var results = await Eventually.Until(
            () => Task.FromResult(ReadResults(kafka, 3)),
            r => r.Count >= 3,
            TimeSpan.FromSeconds(60),
            "three window results");
        Assert.Equal(
            [("/v", T0, T0 + 10, 1L), ("/w", T0, T0 + 10, 3L), ("/w", T0 + 10, T0 + 20, 2L)],
            results.Select(r => (r.Url, r.Start, r.End, r.Count)).Order().ToList());
        Assert.All(results, r => Assert.Equal($"{r.Url}|{r.Start:R}", r.Key));

        // A view for a window already closed: counted in the total, not in the window, and dead-lettered as late.
        var late = new PageView("u7", "/w", T0 + 5);
        await KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, [late], Partitions);
        var deadLetter = Assert.Single(await Eventually.Until(() => DeadLetters.ListAsync(app.Grains, "late", 10), l => l.Length > 0, TimeSpan.FromSeconds(30), "the late dead letter"));
        Assert.Equal(KafkaTestData.Json(late), deadLetter.Payload);
        Assert.Equal(6, (await app.Grains.GetGrain<IUrlGrain>("/w").GetTotalsAsync()).Total);

        var windows = await app.Grains.GetGrain<IUrlGrain>("/w").GetWindowsAsync(10);
        Assert.Equal([(T0 + 10, 2L), (T0, 3L)], windows.Closed.Select(w => (w.WindowStart, w.Count)));
        Assert.Empty(windows.Open);

        // Nothing is emitted twice.
        await Task.Delay(2_000);
        Assert.Equal(3, ReadResults(kafka, 3).Count);
    }

    [Fact]
    public async Task after_a_restart_an_open_window_keeps_its_count_and_a_closed_one_is_not_emitted_again()
    {
        using var kafka = TestKafka.Start();

        await using var azurite = await Azurite.StartAsync();
        var settings = new Dictionary<string, string>(Settings)
        {
            // Partitions without records stop holding the watermark back after 5 s; the test restarts well before
            // the quiet stream's event time, following the wall clock, could close the open window.
            ["Windows:IdleTimeout"] = "00:00:05",
            ["Storage:Provider"] = "AzureTable",
            ["Storage:ConnectionString"] = azurite.ConnectionString,
            ["Orleans:ServiceId"] = "window-restart",
        };

        // All on one partition, so that its event time alone drives the watermark.
        Task Produce(params double[] times) =>
            KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, times.Select(t => new PageView("u", "/d", T0 + t)), 1);

        await using (var first = await AppCluster.StartAsync(kafka, settings))
        {
            await Produce(1, 2, 12, 15);
            await Eventually.Until(() => Task.FromResult(ReadResults(kafka, 1)), r => r.Count >= 1, TimeSpan.FromSeconds(30), "the first window's result");
            var open = await Eventually.Until(() => first.Grains.GetGrain<IUrlGrain>("/d").GetWindowsAsync(10), w => w.Open.Length == 1 && w.Open[0].Count == 2, TimeSpan.FromSeconds(10), "the second window open with 2");
            Assert.Equal(T0 + 10, open.Open[0].WindowStart);
        }

        await using var second = await AppCluster.StartAsync(kafka, settings);
        await Produce(13, 40);
        await Eventually.Until(() => Task.FromResult(ReadResults(kafka, 2)), r => r.Count >= 2, TimeSpan.FromSeconds(30), "the second window's result");
        await Task.Delay(2_000);
        Assert.Equal([("/d", T0, 2L), ("/d", T0 + 10, 3L)], ReadResults(kafka, 2).Select(r => (r.Url, r.Start, r.Count)).Order().ToList());
    }

    private static List<(string Key, string Url, double Start, double End, long Count)> ReadResults(EmbeddedKafkaCluster kafka, int expected) =>
        KafkaTopicReader.ReadAll(kafka.BootstrapServers, Topics.PageViewCounts, Partitions, expected, TimeSpan.FromSeconds(3))
            .Select(r =>
            {
                var json = JsonDocument.Parse(r.Message.Value!).RootElement;
                return (Encoding.UTF8.GetString(r.Message.Key!), json.GetProperty("url").GetString()!, json.GetProperty("window_start").GetDouble(),
                    json.GetProperty("window_end").GetDouble(), json.GetProperty("count").GetInt64());
            })
            .ToList();
}
