using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka.Embedded;
using OrleansStreams.Tests.Infrastructure;

namespace OrleansStreams.Tests.App;

/// <summary>The view-click join through the whole app, results read back from the <c>conversions</c> topic.</summary>
public sealed class JoinTests
{
    private const int Partitions = TestKafka.Partitions;
    private const double T0 = 1_700_000_000;

    [Fact]
    public async Task conversions_read_back_from_kafka_are_exactly_the_hand_computed_ones()
    {
        using var kafka = TestKafka.Start();
        await using var app = await AppCluster.StartAsync(kafka);

        // erin's click is produced (and so arrives) before her view.
        await KafkaTestData.ProduceClicksAsync(kafka.BootstrapServers, [new("erin", "/e", T0 + 20.5)]);
        await Task.Delay(500);
        await KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers,
        [
            new("alice", "/a", T0),
            new("alice", "/a", T0 + 2),
            new("alice", "/b", T0 + 1),
            new("bob", "/a", T0 + 1),
            new("carol", "/c", T0 + 10),
            new("erin", "/e", T0 + 20),
        ]);
        await KafkaTestData.ProduceClicksAsync(kafka.BootstrapServers,
        [
            new("alice", "/a", T0 + 4),       // joins both of alice's /a views
            new("alice", "/b", T0 + 6.001),   // 5.001 s after the /b view: no
            new("bob", "/a", T0 + 6),         // exactly 5 s after: yes
            new("bob", "/b", T0 + 2),         // bob never viewed /b
            new("carol", "/c", T0 + 9),       // before the view
            new("dave", "/a", T0 + 3),        // dave viewed nothing
        ]);

        var expected = new List<(string, string, double, double)>
        {
            ("alice", "/a", T0, T0 + 4),
            ("alice", "/a", T0 + 2, T0 + 4),
            ("bob", "/a", T0 + 1, T0 + 6),
            ("erin", "/e", T0 + 20, T0 + 20.5),
        };
        await Eventually.Until(() => Task.FromResult(ReadConversions(kafka, expected.Count)), c => c.Count >= expected.Count, TimeSpan.FromSeconds(30), "the conversions");
        await Task.Delay(2_000);
        var conversions = ReadConversions(kafka, expected.Count);
        Assert.Equal(expected, conversions.Select(c => (c.UserId, c.Url, c.ViewTime, c.ClickTime!.Value)).Order().ToList());
        Assert.All(conversions, c => Assert.Equal(new Conversion(c.UserId, c.Url, c.ViewTime, c.ClickTime).Key, c.Key));

        var a = await app.Grains.GetGrain<IUrlGrain>("/a").GetConversionsAsync();
        Assert.Equal((3L, 3L, 1.0), (a.Views, a.Conversions, a.Rate));
        var b = await app.Grains.GetGrain<IUrlGrain>("/b").GetConversionsAsync();
        Assert.Equal((1L, 0L), (b.Views, b.Conversions));
        var alice = await app.Grains.GetGrain<IUserGrain>("alice").GetProfileAsync();
        Assert.Equal(2, alice.Conversions);
        Assert.Equal(2, alice.RecentConversions.Length);
    }

    [Fact]
    public async Task conversions_many_users_hand_over_at_once_are_each_counted_once_by_their_url()
    {
        using var kafka = TestKafka.Start();
        await using var app = await AppCluster.StartAsync(kafka);
        var courier = app.SiloServices.Single().GetRequiredService<ConversionCourier>();
        string[] urls = ["/courier/a", "/courier/b", "/courier/c"];
        Conversion[] Of(int user) =>
            [.. urls.Take((user % urls.Length) + 1).Select(url => new Conversion($"user-{user}", url, T0 + user, T0 + user + 1))];

        // 300 users at once, as many user grains finishing a join together; the second hundred hands over again
        // what it already had delivered (a retry after a lost answer), and a view without a click is no conversion.
        await Task.WhenAll(Enumerable.Range(0, 300).Select(user => courier.DeliverAsync(Of(user))));
        await Task.WhenAll(Enumerable.Range(100, 100).Select(user => courier.DeliverAsync([.. Of(user), new Conversion($"user-{user}", urls[0], T0, null)])));

        var expected = urls.Select(url => (long)Enumerable.Range(0, 300).Count(user => Of(user).Any(c => c.Url == url)));
        var counted = await Task.WhenAll(urls.Select(url => app.Grains.GetGrain<IUrlGrain>(url).GetConversionsAsync()));
        Assert.Equal(expected, counted.Select(c => c.Conversions));
    }

    [Fact]
    public async Task buffered_join_entries_return_to_zero_once_the_watermark_passes()
    {
        const int Users = 100_000;
        using var kafka = TestKafka.Start();
        await using var app = await AppCluster.StartAsync(kafka);

        await KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, Enumerable.Range(0, Users).Select(i => new PageView($"user-{i}", $"/p{i % 100}", T0 + (i * 0.001))));
        await KafkaTestData.ProduceClicksAsync(kafka.BootstrapServers, Enumerable.Range(0, Users).Select(i => new ClickEvent($"user-{i}", $"/p{i % 100}", T0 + (i * 0.001) + 1)));

        long Buffered() => app.SiloServices.Sum(s => s.GetRequiredService<JoinBufferGauge>().Value);
        var peak = 0L;
        try
        {
            await Eventually.Until(
                async () => (await Task.WhenAll(Enumerable.Range(0, 100).Select(p => app.Grains.GetGrain<IUrlGrain>($"/p{p}").GetConversionsAsync()))).Sum(c => c.Conversions),
                n =>
                {
                    peak = Math.Max(peak, Buffered());
                    return n == Users;
                },
                TimeSpan.FromMinutes(5),
                "every user's conversion counted");
        }
        catch (TimeoutException ex)
        {
            var late = await DeadLetters.ListAsync(app.Grains, "late", 3);
            throw new TimeoutException(ex.Message + " DLQ: " + string.Join(",", (await DeadLetters.StatsAsync(app.Grains)).ByReason)
                + " e.g. " + string.Join("; ", late.Select(d => $"{d.Id} {d.Error} {Encoding.UTF8.GetString(d.Payload ?? [])}")), ex);
        }

        Assert.True(peak > Users / 2, $"the buffers held {peak} entries at most");

        // Both streams move far ahead in event time on every partition: everything buffered expires.
        await KafkaTestData.MoveWatermarksAsync(kafka.BootstrapServers, T0 + 1_000);
        await Eventually.Until(() => Task.FromResult(Buffered()), n => n <= 200, TimeSpan.FromSeconds(60), "the join buffers emptied");
    }

    private static List<(string Key, string UserId, string Url, double ViewTime, double? ClickTime)> ReadConversions(EmbeddedKafkaCluster kafka, int expected) =>
        KafkaTopicReader.ReadAll(kafka.BootstrapServers, Topics.Conversions, Partitions, expected, TimeSpan.FromSeconds(3))
            .Select(r =>
            {
                var json = JsonDocument.Parse(r.Message.Value!).RootElement;
                var click = json.GetProperty("click_time");
                return (Encoding.UTF8.GetString(r.Message.Key!), json.GetProperty("user_id").GetString()!, json.GetProperty("url").GetString()!,
                    json.GetProperty("view_time").GetDouble(), click.ValueKind == JsonValueKind.Null ? (double?)null : click.GetDouble());
            })
            .ToList();
}
