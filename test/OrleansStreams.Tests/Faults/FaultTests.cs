using Orleans.TestingHost;
using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka;
using OrleansStreams.Streaming.Kafka.Embedded;
using OrleansStreams.Tests.Infrastructure;

namespace OrleansStreams.Tests.Faults;

/// <summary>
/// Exactly-once under faults: final totals compared with an oracle computed from what was produced.
/// </summary>
public sealed class FaultTests
{
    private const int Partitions = TestKafka.Partitions;

    private static async Task AssertTotalsAsync(AppCluster app, IReadOnlyCollection<PageView> produced, TimeSpan timeout)
    {
        var expectedUrls = produced.GroupBy(v => v.Url).ToDictionary(g => g.Key, g => (long)g.Count());
        var expectedUsers = produced.GroupBy(v => v.UserId).ToDictionary(g => g.Key, g => (long)g.Count());
        async Task<Dictionary<string, long>> Urls() =>
            (await Task.WhenAll(expectedUrls.Keys.Select(u => app.Grains.GetGrain<IUrlGrain>(u).GetTotalsAsync()))).ToDictionary(t => t.Url, t => t.Total);

        try
        {
            await Eventually.Until(Urls, t => t.Values.Sum() >= produced.Count, timeout, $"{produced.Count} views counted");
        }
        catch (TimeoutException ex)
        {
            var statuses = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => KafkaCheckpoints.Get(app.Grains, Topics.StreamProvider, Topics.PageViews, p).GetStatusAsync()));
            throw new TimeoutException(ex.Message + " Partitions: " + string.Join("; ", statuses.Select((s, p) => $"{p}: durable {s.DurableOffset} end {s.LogEndOffset} by {s.Reader}")), ex);
        }

        await Task.Delay(2_000);

        // Exactly the oracle: a total above it (applied twice) or below it (lost) never matches.
        Assert.Equal(expectedUrls, await Eventually.Until(Urls, t => t.Count == expectedUrls.Count && t.All(kv => expectedUrls[kv.Key] == kv.Value), TimeSpan.FromSeconds(30), "URL totals equal to the oracle"));
        async Task<Dictionary<string, long>> Users() =>
            (await Task.WhenAll(expectedUsers.Keys.Select(u => app.Grains.GetGrain<IUserGrain>(u).GetTotalsAsync()))).ToDictionary(u => u.UserId, u => u.Views);
        Assert.Equal(expectedUsers, await Eventually.Until(Users, t => t.All(kv => expectedUsers[kv.Key] == kv.Value), TimeSpan.FromSeconds(30), "user totals equal to the oracle"));
    }

    [Fact]
    public async Task the_same_record_produced_twice_with_one_event_id_counts_once()
    {
        using var kafka = TestKafka.Start();
        await using var app = await AppCluster.StartAsync(kafka);
        var view = new PageView("retrying-producer", "/once", 1_700_000_000, EventId: "evt-42");
        var other = new PageView("retrying-producer", "/once", 1_700_000_001, EventId: "evt-43");
        await KafkaTestData.ProduceAsync(kafka.BootstrapServers, Topics.PageViews,
            [(view.UserId, KafkaTestData.Json(view)), (view.UserId, KafkaTestData.Json(view)), (other.UserId, KafkaTestData.Json(other)), (view.UserId, KafkaTestData.Json(view))]);

        await Eventually.Until(() => app.Grains.GetGrain<IUrlGrain>("/once").GetTotalsAsync(), t => t.Total >= 2, TimeSpan.FromSeconds(30), "the views counted");
        await Task.Delay(1_500);
        Assert.Equal(2, (await app.Grains.GetGrain<IUrlGrain>("/once").GetTotalsAsync()).Total);
        Assert.Equal(2, (await app.Grains.GetGrain<IUserGrain>("retrying-producer").GetTotalsAsync()).Views);
    }

    [Fact]
    public async Task a_broker_down_for_ten_seconds_mid_stream_loses_nothing_and_applies_nothing_twice()
    {
        using var kafka = TestKafka.Start(brokers: 3);
        await using var app = await AppCluster.StartAsync(kafka);
        var views = KafkaTestData.PageViews(20_000, urls: 50, users: 500, seed: 7);

        await KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, views.Take(10_000));
        kafka.SetBrokerDown(2);
        var producing = KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, views.Skip(10_000));
        await Task.Delay(TimeSpan.FromSeconds(10));
        kafka.SetBrokerUp(2);
        await producing;

        await AssertTotalsAsync(app, views, TimeSpan.FromSeconds(120));
    }

    [Fact]
    public async Task storage_down_for_ten_seconds_mid_stream_delays_records_but_loses_and_dead_letters_none()
    {
        using var kafka = TestKafka.Start();
        await using var azurite = await Azurite.StartAsync();
        await using var app = await AppCluster.StartAsync(kafka, new Dictionary<string, string>
        {
            ["Storage:Provider"] = "AzureTable",
            ["Storage:ConnectionString"] = azurite.ConnectionString,
            ["Orleans:ServiceId"] = "storage-down-" + Guid.NewGuid().ToString("N")[..8],
        });
        var views = KafkaTestData.PageViews(20_000, urls: 50, users: 500, seed: 11);
        await KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, views.Take(8_000));
        await Eventually.Until(
            async () => (await Task.WhenAll(Enumerable.Range(0, 50).Select(u => app.Grains.GetGrain<IUrlGrain>($"/page/{u}").GetTotalsAsync()))).Sum(t => t.Total),
            n => n >= 4_000,
            TimeSpan.FromSeconds(60),
            "part of the stream counted");

        await azurite.PauseAsync();
        await KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, views.Skip(8_000));
        await Task.Delay(TimeSpan.FromSeconds(10));
        await azurite.ResumeAsync();

        await AssertTotalsAsync(app, views, TimeSpan.FromSeconds(180));
        Assert.Equal(0, (await DeadLetters.StatsAsync(app.Grains)).Total);
    }

    [Fact]
    public async Task the_whole_cluster_stops_and_starts_again_with_state_and_positions_intact()
    {
        using var kafka = TestKafka.Start();
        await using var azurite = await Azurite.StartAsync();
        var settings = new Dictionary<string, string>
        {
            ["Storage:Provider"] = "AzureTable",
            ["Storage:ConnectionString"] = azurite.ConnectionString,
            ["Orleans:ServiceId"] = "restart-" + Guid.NewGuid().ToString("N")[..8],
        };
        var views = KafkaTestData.PageViews(10_000, urls: 50, users: 500, seed: 13);
        await using (var first = await AppCluster.StartAsync(kafka, settings, silos: 2))
        {
            await KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, views.Take(5_000));
            await AssertTotalsAsync(first, views.Take(5_000).ToList(), TimeSpan.FromSeconds(60));
        }

        await KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, views.Skip(5_000));
        await using var second = await AppCluster.StartAsync(kafka, settings, silos: 2);
        await AssertTotalsAsync(second, views, TimeSpan.FromSeconds(90));
    }

    [Theory]
    [InlineData(0.2)]
    [InlineData(0.5)]
    [InlineData(0.8)]
    public async Task a_silo_killed_mid_stream_hands_its_partitions_over_without_loss_or_double_counting(double killAt)
    {
        using var kafka = TestKafka.Start();
        await using var azurite = await Azurite.StartAsync();
        await using var app = await AppCluster.StartAsync(kafka, new Dictionary<string, string>
        {
            ["Storage:Provider"] = "AzureTable",
            ["Storage:ConnectionString"] = azurite.ConnectionString,
            ["Orleans:ServiceId"] = "kill-" + Guid.NewGuid().ToString("N")[..8],
        }, silos: 3);
        var views = KafkaTestData.PageViews(50_000, urls: 50, users: 1_000, seed: (int)(killAt * 100));
        var producing = KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, views);

        // Kill a silo (not the primary, which holds the test membership) once that share of the stream is counted.
        var target = (long)(views.Count * killAt);
        await Eventually.Until(
            async () => (await Task.WhenAll(Enumerable.Range(0, 50).Select(u => app.Grains.GetGrain<IUrlGrain>($"/page/{u}").GetTotalsAsync()))).Sum(t => t.Total),
            n => n >= target,
            TimeSpan.FromSeconds(120),
            $"{target} views counted before the kill");
        var victim = app.Cluster.SecondarySilos[0];
        await app.Cluster.KillSiloAsync(victim);
        await producing;

        await AssertTotalsAsync(app, views, TimeSpan.FromSeconds(180));

        // Every partition is read again, by the survivors.
        await Eventually.Until(
            () => Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => KafkaCheckpoints.Get(app.Grains, Topics.StreamProvider, Topics.PageViews, p).GetStatusAsync())),
            statuses => statuses.All(s => s.Reader is not null && s.Reader != victim.SiloAddress.ToString()),
            TimeSpan.FromSeconds(30),
            "every partition read by a survivor");
    }
}
