using System.Text;
using System.Text.Json;
using OrleansStreams.Grains;
using OrleansStreams.Grains.Core;
using OrleansStreams.Streaming.Kafka;
using OrleansStreams.Streaming.Kafka.Embedded;
using OrleansStreams.Tests.Infrastructure;

namespace OrleansStreams.Tests.DeadLetterQueue;

public sealed class DeadLetterTests
{
    private const int Partitions = TestKafka.Partitions;

    /// <summary>Bad records of every kind, each with the reason it must be dead-lettered for.</summary>
    private static List<(byte[]? Value, string Reason)> BadRecords(int count)
    {
        var random = new Random(11);
        var oneMegabyte = Encoding.UTF8.GetBytes("{\"user_id\":\"u\",\"url\":\"/x\",\"view_time\":1,\"pad\":\"" + new string('x', 1024 * 1024) + "\"}");
        byte[] InvalidUtf8() => [.. """{"user_id":"""u8, (byte)'"', 0xC3, 0x28, 0xFF, (byte)'"', .. ""","url":"/x","view_time":1}"""u8];
        byte[] RandomBytes()
        {
            var bytes = new byte[random.Next(1, 200)];
            random.NextBytes(bytes);
            bytes[0] = 0xFE; // never valid JSON
            return bytes;
        }

        var kinds = new Func<int, (byte[]?, string)>[]
        {
            i => (RandomBytes(), "malformed"),
            i => (Encoding.UTF8.GetBytes($$"""{"user_id":"u{{i}}","url":"/trunc"""), "malformed"),
            i => (Encoding.UTF8.GetBytes($$"""{"user_id":{{i}},"url":"/x","view_time":1}"""), "malformed"),
            i => (Encoding.UTF8.GetBytes($$"""{"user_id":"u{{i}}","url":"/x","view_time":NaN}"""), "malformed"),
            i => (Encoding.UTF8.GetBytes($$"""{"user_id":"u{{i}}","url":"/x","view_time":Infinity}"""), "malformed"),
            i => (Encoding.UTF8.GetBytes($$"""{"url":"/x","view_time":{{i}}}"""), "malformed"),
            i => ("{}"u8.ToArray(), "malformed"),
            i => (null, "malformed"),
            i => (InvalidUtf8(), "malformed"),
            i => (Encoding.UTF8.GetBytes($$"""{"user_id":"u{{i}}","url":"/x","view_time":253402387200}"""), "malformed"),
            i => (Encoding.UTF8.GetBytes($$"""{"user_id":"u{{i}}","url":"/x","view_time":-{{i + 1}}}"""), "malformed"),
            i => (Encoding.UTF8.GetBytes($$"""{"user_id":"u{{i}}","url":"/test/{{i}}","view_time":1700000000}"""), "invalid"),
        };
        var records = Enumerable.Range(0, count).Select(i => kinds[i % kinds.Length](i)).ToList();
        // A few 1 MB values, kept small in number: the embedded Kafka holds about 5 MiB per partition.
        for (var i = 0; i < 3; i++)
        {
            records[(i * 97) + 5] = (oneMegabyte, "malformed");
        }

        return records;
    }

    [Fact]
    public async Task every_bad_record_is_dead_lettered_once_with_its_reason_and_bytes_while_every_valid_one_counts_once()
    {
        using var kafka = TestKafka.Start();
        await using var app = await AppCluster.StartAsync(kafka, new Dictionary<string, string>
        {
            ["Processing:RejectUrlsContaining:0"] = "test",
        });

        var valid = KafkaTestData.PageViews(10_000, urls: 50, users: 300);
        var bad = BadRecords(2_000);
        // Interleave: one bad record after every five valid ones.
        var records = new List<(string? Key, byte[]? Value, string? Reason)>();
        for (int v = 0, b = 0; v < valid.Count || b < bad.Count;)
        {
            for (var k = 0; k < 5 && v < valid.Count; k++, v++)
            {
                records.Add((valid[v].UserId, KafkaTestData.Json(valid[v]), null));
            }

            if (b < bad.Count)
            {
                records.Add(($"bad-{b}", bad[b].Value, bad[b].Reason));
                b++;
            }
        }

        await KafkaTestData.ProduceAsync(kafka.BootstrapServers, Topics.PageViews, records.Select(r => (r.Key, r.Value)), Partitions);

        // Every partition reaches its end.
        var ends = KafkaTestData.EndOffsets(kafka.BootstrapServers, Topics.PageViews, Partitions);
        await Eventually.Until(
            async () => (await Task.WhenAll(ends.Keys.Select(p => KafkaCheckpoints.Get(app.Grains, Topics.StreamProvider, Topics.PageViews, p).GetAsync()))).Select(c => c.NextOffset).ToArray(),
            offsets => offsets.SequenceEqual(ends.OrderBy(e => e.Key).Select(e => e.Value)),
            TimeSpan.FromSeconds(90),
            "every partition's durable offset at its end");

        // Every valid record counted exactly once.
        var expected = valid.GroupBy(v => v.Url).ToDictionary(g => g.Key, g => (long)g.Count());
        var totals = await Task.WhenAll(expected.Keys.Select(u => app.Grains.GetGrain<IUrlGrain>(u).GetTotalsAsync()));
        Assert.Equal(expected, totals.ToDictionary(t => t.Url, t => t.Total));

        // Every bad record in the DLQ topic exactly once, with its reason and its original bytes.
        var dlq = KafkaTopicReader.ReadAll(kafka.BootstrapServers, Topics.ProcessingFailures, Partitions, bad.Count, TimeSpan.FromSeconds(60));
        var byKey = dlq.GroupBy(r => Encoding.UTF8.GetString(r.Message.Key!)).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(bad.Count, byKey.Count);
        Assert.All(byKey.Values, copies => Assert.Single(copies));
        var seen = byKey.Values.Select(copies => JsonDocument.Parse(copies[0].Message.Value!).RootElement).ToList();
        var producedBad = records.Where(r => r.Reason is not null).ToList();
        foreach (var (key, value, reason) in producedBad)
        {
            var entry = seen.Single(e => Encoding.UTF8.GetString(DeadLetterJson.ReadBytes(e, "key")!) == key);
            Assert.Equal(reason, entry.GetProperty("reason").GetString());
            Assert.Equal(Topics.PageViews, entry.GetProperty("topic").GetString());
            Assert.False(string.IsNullOrEmpty(entry.GetProperty("error").GetString()));
            var payload = DeadLetterJson.ReadBytes(entry, "payload");
            if (value is null)
            {
                Assert.Null(payload);
            }
            else
            {
                Assert.Equal(value, payload);
            }
        }

        // The dead-letter grains agree.
        var stats = await DeadLetters.StatsAsync(app.Grains);
        Assert.Equal(bad.Count, stats.Total);
        Assert.Equal(bad.Count(b => b.Reason == "invalid"), stats.ByReason["invalid"]);
        Assert.Equal(bad.Count(b => b.Reason == "malformed"), stats.ByReason["malformed"]);
    }

    [Fact]
    public async Task transient_faults_are_retried_and_permanent_ones_dead_lettered_then_replayed_once_fixed()
    {
        FaultInjectingHandler.Reset();
        using var kafka = TestKafka.Start();
        await using var app = await AppCluster.StartAsync(kafka, new Dictionary<string, string>
        {
            ["Test:FaultInjection"] = "true",
            ["Processing:MaxRetries"] = "3",
            ["Processing:RetryBaseDelay"] = "00:00:00.010",
        });

        var views = new List<PageView>
        {
            new("alice", "/flaky-1", 1_700_000_000),
            new("bob", "/broken", 1_700_000_001),
            new("alice", "/home", 1_700_000_002),
        };
        await KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, views, 1);

        // URLs are processed in parallel: each settles on its own.
        await Eventually.Until(() => app.Grains.GetGrain<IUrlGrain>("/home").GetTotalsAsync(), t => t.Total == 1, TimeSpan.FromSeconds(30), "/home counted");
        await Eventually.Until(() => app.Grains.GetGrain<IUrlGrain>("/flaky-1").GetTotalsAsync(), t => t.Total == 1, TimeSpan.FromSeconds(30), "/flaky-1 counted after its retries");
        Assert.Equal(3, FaultInjectingHandler.Attempts["/flaky-1"]);
        var deadLetter = Assert.Single(await Eventually.Until(() => DeadLetters.ListAsync(app.Grains, "processing_error", 10), l => l.Length > 0, TimeSpan.FromSeconds(30), "the dead letter"));
        Assert.Equal(0, (await app.Grains.GetGrain<IUrlGrain>("/broken").GetTotalsAsync()).Total);
        Assert.Equal(1 + 3, FaultInjectingHandler.Attempts["/broken"]);
        Assert.Equal(["url"], deadLetter.Routes);
        Assert.Contains("permanent fault", deadLetter.Error, StringComparison.Ordinal);
        Assert.Equal(KafkaTestData.Json(views[1]), deadLetter.Payload);
        // The user route succeeded on it: bob's view is counted already.
        Assert.Equal(1, (await app.Grains.GetGrain<IUserGrain>("bob").GetTotalsAsync()).Views);

        // Fix the cause, replay: counted once, in the route that failed only.
        FaultInjectingHandler.BrokenFixed = true;
        using var output = new KafkaOutput(new KafkaStreamOptions { BootstrapServers = kafka.BootstrapServers });
        Assert.Equal([deadLetter.Id], await DeadLetters.ReplayAsync(app.Grains, output, [deadLetter.Id, "pageviews/0/999999"]));
        await Eventually.Until(() => app.Grains.GetGrain<IUrlGrain>("/broken").GetTotalsAsync(), t => t.Total == 1, TimeSpan.FromSeconds(30), "/broken counted after replay");
        await Task.Delay(1500);
        Assert.Equal(1, (await app.Grains.GetGrain<IUrlGrain>("/broken").GetTotalsAsync()).Total);
        Assert.Equal(1, (await app.Grains.GetGrain<IUserGrain>("bob").GetTotalsAsync()).Views);
    }

    [Fact]
    public async Task a_part_whose_record_fails_in_a_call_shared_by_several_partitions_fails_alone()
    {
        FaultInjectingHandler.Reset();
        using var kafka = TestKafka.Start();
        await using var app = await AppCluster.StartAsync(kafka, new Dictionary<string, string> { ["Test:FaultInjection"] = "true" });

        // Views of /flaky-parts fail twice, then succeed: the first two parts fail at their first record, the third is applied.
        var url = app.Grains.GetGrain<IUrlGrain>("/flaky-parts");
        SinkPart<PageView> Part(int partition, params long[] offsets) =>
            new($"pageviews/{partition}", Guid.Empty, [.. offsets.Select(o => new Positioned<PageView>(o, new PageView("u", "/flaky-parts", 1_700_000_000 + o)))]);
        var results = await url.ApplyPageViewsAsync([Part(0, 4, 5), Part(1, 7), Part(2, 9, 10)]);

        Assert.Equal([(true, 4L), (true, 7L), (false, -1L)], results.Select(r => (r.Failed, r.FailedOffset)));
        Assert.True(results[2].Receipt.Accepted);
        Assert.Equal(2, (await url.GetTotalsAsync()).Total);

        // Each part failed alone: sent again, the first two are applied from their failing record on, and the third is not applied twice.
        results = await url.ApplyPageViewsAsync([Part(0, 4, 5), Part(1, 7), Part(2, 9, 10)]);
        Assert.All(results, r => Assert.False(r.Failed));
        Assert.Equal(5, (await url.GetTotalsAsync()).Total);
    }

    [Fact]
    public async Task a_dead_letter_added_out_of_offset_order_is_kept_once_and_can_be_replayed()
    {
        using var kafka = TestKafka.Start();
        await using var app = await AppCluster.StartAsync(kafka, new Dictionary<string, string>());
        var shard = app.Grains.GetGrain<IDeadLetterGrain>(DeadLetterShards.For(3));
        var later = new DeadLetter("processing_error", "failed", Topics.PageViews, 3, 40, [1], [2], 1_700_000_000, ["url"]);
        var earlier = later with { Offset = 12, Error = "failed when sent again" };

        await shard.AddAsync([later]);
        await shard.AddAsync([earlier]);
        await shard.AddAsync([earlier]);

        Assert.Equal(2, (await shard.GetStatsAsync()).ByReason["processing_error"]);
        Assert.Equal("failed when sent again", (await shard.GetAsync(earlier.Id))?.Error);
        using var output = new KafkaOutput(new KafkaStreamOptions { BootstrapServers = kafka.BootstrapServers });
        Assert.Equal([earlier.Id], await DeadLetters.ReplayAsync(app.Grains, output, [earlier.Id]));
    }
}
