using Confluent.Kafka;
using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka;
using OrleansStreams.Streaming.Kafka.Embedded;
using OrleansStreams.Tests.Infrastructure;

namespace OrleansStreams.Tests.App;

/// <summary>The whole app in an in-process test cluster, fed by an ordinary Confluent producer.</summary>
public sealed class PageViewTotalsTests
{
    private const int Partitions = TestKafka.Partitions;

    [Fact]
    public async Task every_url_and_user_total_equals_what_was_produced_and_rewinding_to_zero_changes_none()
    {
        using var kafka = TestKafka.Start();
        await using var app = await AppCluster.StartAsync(kafka);

        var views = KafkaTestData.PageViews(10_000, urls: 50, users: 500);
        await KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, views);

        var expectedUrls = views.GroupBy(v => v.Url).ToDictionary(g => g.Key, g => (long)g.Count());
        var expectedUsers = views.GroupBy(v => v.UserId).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(50, expectedUrls.Count);

        // A batch's URL and user calls run side by side: the users' totals may complete a moment after the URLs'.
        await Eventually.Until(() => UrlTotals(app, expectedUrls.Keys), t => t.Values.Sum() == 10_000, TimeSpan.FromSeconds(60), "all 10,000 views counted by URL");
        await Eventually.Until(() => UserTotals(app, expectedUsers.Keys), t => t.Values.Sum() == 10_000, TimeSpan.FromSeconds(60), "all 10,000 views counted by user");
        await AssertTotals(app, expectedUrls, expectedUsers);

        // Every partition's durable offset reaches the partition's end once the grains have flushed.
        var ends = KafkaTestData.EndOffsets(kafka.BootstrapServers, Topics.PageViews, Partitions);
        await Eventually.Until(() => Checkpoints(app), c => c.SequenceEqual(ends.OrderBy(e => e.Key).Select(e => e.Value)), TimeSpan.FromSeconds(30), "checkpoints at the end offsets");

        // Read every partition again from offset 0: the grains have applied it all already.
        for (var p = 0; p < Partitions; p++)
        {
            await KafkaCheckpoints.Get(app.Grains, Topics.StreamProvider, Topics.PageViews, p).RewindAsync(0);
        }

        // Plus one more view per partition after the rewind; each partition delivers its records in order.
        var markers = Enumerable.Range(0, Partitions).Select(p => new PageView($"marker-{p}", "/after-rewind", 1_800_000_000 + p)).ToList();
        await KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, markers, Partitions);

        // Everything is delivered twice (once before, once after the rewind); the markers once or twice,
        // depending on whether a receiver read them before it saw the rewind request.
        await Eventually.Until(() => RecordsProcessed(app), n => n >= (2 * 10_000) + Partitions, TimeSpan.FromSeconds(60), "every record delivered again");
        Assert.InRange(await RecordsProcessed(app), (2 * 10_000) + Partitions, 2 * (10_000 + Partitions));
        await Eventually.Until(() => app.Grains.GetGrain<IUrlGrain>("/after-rewind").GetTotalsAsync(), t => t.Total == Partitions, TimeSpan.FromSeconds(30), "markers counted");
        await AssertTotals(app, expectedUrls, expectedUsers);
    }

    [Fact]
    public async Task views_written_in_transactions_are_all_counted_and_the_durable_offset_passes_each_commit_marker()
    {
        using var kafka = TestKafka.Start();
        await using var app = await AppCluster.StartAsync(kafka);

        // An exactly-once producer (Kafka Streams, Faust, a transactional Confluent producer) ends every transaction
        // with a commit marker: an offset that no consumer ever reads, so a partition's offsets skip one there.
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            TransactionalId = "test-views-" + Guid.NewGuid().ToString("N"),
        }).Build();
        producer.InitTransactions(TimeSpan.FromSeconds(30));
        var views = KafkaTestData.PageViews(4 * 400, urls: 20, users: 100);
        foreach (var transaction in views.Chunk(400))
        {
            producer.BeginTransaction();
            var delivered = await Task.WhenAll(transaction.Select((view, i) => producer.ProduceAsync(
                new TopicPartition(Topics.PageViews, i % Partitions),
                new Message<string, byte[]> { Key = view.UserId, Value = KafkaTestData.Json(view) })));
            producer.CommitTransaction(TimeSpan.FromSeconds(30));
            var lastRecords = delivered.GroupBy(r => r.Partition.Value).ToDictionary(g => g.Key, g => g.Max(r => r.Offset.Value));
            var logEnds = KafkaTestData.EndOffsets(kafka.BootstrapServers, Topics.PageViews, Partitions);
            Assert.All(lastRecords, last => Assert.Equal(last.Value + 2, logEnds[last.Key]));

            // Each transaction applied and made durable before the next is written: the next records start after a
            // marker that the partitions' readers never saw. The durable offset passes it, so no lag of one stays.
            var counted = views.IndexOf(transaction[^1]) + 1;
            await Eventually.Until(() => UrlTotals(app, views.Select(v => v.Url).Distinct()), t => t.Values.Sum() == counted, TimeSpan.FromSeconds(60), $"{counted} views counted by URL");
            await Eventually.Until(() => Checkpoints(app), c => c.SequenceEqual(Enumerable.Range(0, Partitions).Select(p => logEnds[p])), TimeSpan.FromSeconds(30), "checkpoints at the log end, past the commit marker");
        }

        // Offsets found empty move a durable offset only from where it stands.
        var checkpoint = KafkaCheckpoints.Get(app.Grains, Topics.StreamProvider, Topics.PageViews, 0);
        var durable = (await checkpoint.GetAsync()).NextOffset;
        Assert.Equal(durable, (await checkpoint.PassEmptyAsync(durable - 1, durable + 5)).NextOffset);

        await AssertTotals(
            app,
            views.GroupBy(v => v.Url).ToDictionary(g => g.Key, g => (long)g.Count()),
            views.GroupBy(v => v.UserId).ToDictionary(g => g.Key, g => (long)g.Count()));
    }

    private static async Task<long> RecordsProcessed(AppCluster app) =>
        (await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p =>
            app.Grains.GetGrain<IPageViewDispatcherGrain>(p.ToString(System.Globalization.CultureInfo.InvariantCulture)).GetStatusAsync())))
        .Sum(s => s.RecordsProcessed);

    private static async Task AssertTotals(AppCluster app, Dictionary<string, long> expectedUrls, Dictionary<string, long> expectedUsers)
    {
        Assert.Equal(expectedUrls, await UrlTotals(app, expectedUrls.Keys));
        Assert.Equal(expectedUsers, await UserTotals(app, expectedUsers.Keys));
    }

    private static async Task<Dictionary<string, long>> UserTotals(AppCluster app, IEnumerable<string> users)
    {
        var totals = await Task.WhenAll(users.Select(u => app.Grains.GetGrain<IUserGrain>(u).GetTotalsAsync()));
        return totals.ToDictionary(u => u.UserId, u => u.Views);
    }

    private static async Task<Dictionary<string, long>> UrlTotals(AppCluster app, IEnumerable<string> urls)
    {
        var totals = await Task.WhenAll(urls.Select(u => app.Grains.GetGrain<IUrlGrain>(u).GetTotalsAsync()));
        return totals.ToDictionary(t => t.Url, t => t.Total);
    }

    private static async Task<long[]> Checkpoints(AppCluster app) =>
        (await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => KafkaCheckpoints.Get(app.Grains, Topics.StreamProvider, Topics.PageViews, p).GetAsync())))
        .Select(c => c.NextOffset)
        .ToArray();
}
