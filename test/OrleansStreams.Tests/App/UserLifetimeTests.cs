using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka.Embedded;
using OrleansStreams.Tests.Infrastructure;

namespace OrleansStreams.Tests.App;

/// <summary>User grains leave memory once idle for <c>Processing:UserIdleTimeout</c>, and nothing of theirs is lost.</summary>
public sealed class UserLifetimeTests
{
    private const double T0 = 1_700_000_000;

    [Fact]
    public async Task an_idle_user_leaves_memory_and_comes_back_with_its_counts_and_its_join_buffer()
    {
        using var kafka = TestKafka.Start();
        await using var app = await AppCluster.StartAsync(kafka, new Dictionary<string, string> { ["Processing:UserIdleTimeout"] = "00:00:02" });

        await KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers,
        [
            new("idle-a", "/idle/x", T0),
            new("idle-a", "/idle/x", T0 + 1),
            new("idle-b", "/idle/y", T0 + 1),
            new("idle-c", "/idle/z", T0 + 1),
        ]);
        await Eventually.Until(() => Views(app, "idle-a", "idle-b", "idle-c"), v => v.SequenceEqual([2L, 1L, 1L]), TimeSpan.FromSeconds(30), "the users' views");

        // Gone from memory, while the URL grains they fed stay at Orleans' default lifetime.
        var management = app.Grains.GetGrain<IManagementGrain>(0);
        await Eventually.Until(() => ActiveKeys(management, app.Grains.GetGrain<IUserGrain>("idle-a")), keys => !keys.Overlaps(["idle-a", "idle-b", "idle-c"]), TimeSpan.FromSeconds(30), "the users deactivated");
        Assert.Contains("/idle/x", await ActiveKeys(management, app.Grains.GetGrain<IUrlGrain>("/idle/x")));

        // Back: idle-a's count goes on from what it was, and idle-b's click joins the view it held before it left.
        await KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, [new("idle-a", "/idle/x", T0 + 3)]);
        await KafkaTestData.ProduceClicksAsync(kafka.BootstrapServers, [new("idle-b", "/idle/y", T0 + 2)]);
        await Eventually.Until(() => app.Grains.GetGrain<IUserGrain>("idle-b").GetProfileAsync(), p => p.Conversions == 1, TimeSpan.FromSeconds(30), "idle-b's conversion");
        await Eventually.Until(() => Views(app, "idle-a", "idle-b"), v => v.SequenceEqual([3L, 1L]), TimeSpan.FromSeconds(30), "idle-a's third view");
        var idleB = await app.Grains.GetGrain<IUserGrain>("idle-b").GetProfileAsync();
        Assert.Equal((1L, 1L), (idleB.Views, idleB.Clicks));
        Assert.Equal(new Conversion("idle-b", "/idle/y", T0 + 1, T0 + 2), Assert.Single(idleB.RecentConversions));

        // Both streams move far ahead in event time on every partition. idle-c's view expires, but it is not brought
        // back into memory for that: the activation its next query brings drops the view.
        await KafkaTestData.MoveWatermarksAsync(kafka.BootstrapServers, T0 + 1_000);
        var watermarks = app.SiloServices.Single().GetRequiredService<WatermarkCache>();
        await Eventually.Until(() => Task.FromResult(watermarks.Join), w => w > (long)(T0 + 100) * 1000, TimeSpan.FromSeconds(30), "the join watermark past idle-c's view");
        for (var i = 0; i < 15; i++)
        {
            Assert.DoesNotContain("idle-c", await ActiveKeys(management, app.Grains.GetGrain<IUserGrain>("idle-c")));
            await Task.Delay(200);
        }

        var idleC = await app.Grains.GetGrain<IUserGrain>("idle-c").GetProfileAsync();
        Assert.Equal((1L, 0), (idleC.Views, idleC.Buffered));
    }

    private static async Task<long[]> Views(AppCluster app, params string[] users) =>
        [.. (await Task.WhenAll(users.Select(u => app.Grains.GetGrain<IUserGrain>(u).GetTotalsAsync()))).Select(t => t.Views)];

    private static async Task<HashSet<string>> ActiveKeys(IManagementGrain management, IAddressable grainOfType) =>
        [.. (await management.GetActiveGrains(grainOfType.GetGrainId().Type)).Select(id => id.Key.ToString()!)];
}
