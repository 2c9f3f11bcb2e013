using System.Diagnostics;
using System.Globalization;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans;
using OrleansStreams.Grains;
using OrleansStreams.Silo;
using OrleansStreams.Silo.Storage;

namespace OrleansStreams.Bench;

/// <summary>
/// The full app, as <c>dotnet run --project src/Silo</c> builds it (totals, 1-minute tumbling windows, the join,
/// dead letters, dashboard and metrics), one silo in this process, against the same embedded Kafka.
/// </summary>
public static class PipelineRun
{
    private const string LatencyMetric = "app_end_to_end_latency_seconds";

    /// <summary>Settings changed for experiments: ORLEANSSTREAMS_BENCH_SET="Kafka:MaxBatchSize=5000;Processing:CommitInterval=00:00:05".</summary>
    public static string? ExtraSettings => Environment.GetEnvironmentVariable("ORLEANSSTREAMS_BENCH_SET");

    /// <summary>Whether to log progress as the run goes: ORLEANSSTREAMS_BENCH_PROGRESS set.</summary>
    private static readonly bool ShowProgress = Environment.GetEnvironmentVariable("ORLEANSSTREAMS_BENCH_PROGRESS") is not null;

    public static async Task<RunResult> RunAsync(ChildArgs args, IReadOnlyList<double>? latencyAfter)
    {
        var oracle = Oracle.Load(args.OraclePath);
        var spec = oracle.Spec;
        var settings = new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = args.BootstrapServers,
            ["Kafka:PartitionCount"] = spec.Partitions.ToString(CultureInfo.InvariantCulture),
            ["Generator:Enabled"] = "false",
            ["Urls"] = "http://127.0.0.1:0",
            ["Processing:CommitInterval"] = "00:00:01",
            // Grain state is kept per service: every run in this process starts from none, in Azure Table too.
            ["Orleans:ServiceId"] = "bench-" + Guid.NewGuid().ToString("N"),
            ["Orleans:SiloPort"] = OrleansStreams.Tests.Infrastructure.FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Orleans:GatewayPort"] = OrleansStreams.Tests.Infrastructure.FreePort.Next().ToString(CultureInfo.InvariantCulture),
        };
        foreach (var pair in (ExtraSettings ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var keyValue = pair.Split('=', 2);
            settings[keyValue[0]] = keyValue.ElementAtOrDefault(1);
        }

        if (args.StorageConnectionString is { } storage)
        {
            settings["Storage:Provider"] = "AzureTable";
            settings["Storage:ConnectionString"] = storage;
        }

        var app = OrleansStreamsApp.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole().SetMinimumLevel(Environment.GetEnvironmentVariable("ORLEANSSTREAMS_BENCH_LOG") is { } level ? Enum.Parse<LogLevel>(level) : LogLevel.Error);
        });
        await app.StartAsync();
        try
        {
            var grains = app.Services.GetRequiredService<IGrainFactory>();
            var metrics = app.Services.GetRequiredService<PipelineMetrics>();
            var dispatchers = Enumerable.Range(0, spec.Partitions)
                .SelectMany(p => new IPartitionDispatcherGrain[]
                {
                    grains.GetGrain<IPageViewDispatcherGrain>(p.ToString(CultureInfo.InvariantCulture)),
                    grains.GetGrain<IClickDispatcherGrain>(p.ToString(CultureInfo.InvariantCulture)),
                })
                .ToArray();

            var progress = await WaitForAsync(dispatchers, oracle.Records, TimeSpan.FromMinutes(30));
            var (seconds, rate) = (progress.Seconds, progress.Processed / progress.Seconds);
            var checks = new Checks();
            await CheckAsync(grains, oracle, checks, live: null);

            // Latency at half the maximum rate: views produced now, timed from their Kafka timestamp until applied.
            var latency = new LatencyHistogram();
            var liveRate = args.LatencyRateAfter(latencyAfter, rate);
            if (latencyAfter is not null)
            {
                var before = await LatencyAsync(metrics);
                var live = await LiveLoad.ProduceAsync(args.BootstrapServers, spec, liveRate, args.LiveDuration);
                await WaitForAsync(dispatchers, oracle.Records + live.Values.Sum(), TimeSpan.FromMinutes(5));
                latency = (await LatencyAsync(metrics)).Minus(before);
                await CheckAsync(grains, oracle, checks, live);
            }

            var storageName = args.StorageConnectionString is null ? "in-memory" : "Azure Table (Azurite)";
            return new RunResult($"OrleansStreams ({storageName})", spec.Name, spec.Partitions, spec.Users, oracle.Records, seconds, rate,
                liveRate, latency.QuantileMs(0.5), latency.QuantileMs(0.99), ProcessStats.PeakMemoryMb(), checks.AllPassed, checks.ToString(),
                progress.FirstAppliedSeconds, progress.AllAppliedSeconds, MeasuredFromMs: progress.FromMs, MeasuredToMs: progress.ToMs);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            if (args.StorageConnectionString is { } usedStorage)
            {
                // The next run is another service, with state of its own: in a table of its own, as a service in Azure
                // has its own partitions. Azurite scans a whole table for each query and keeps its indexes over all of
                // it, so a table holding earlier runs' state would make every later run slower than the one before.
                await new TableClient(usedStorage, TableBatchGrainStorage.TableName).DeleteAsync();
            }
        }
    }

    /// <summary>
    /// How far a run got: times in seconds from the moment the first record was read from Kafka, which was
    /// <paramref name="FromMs"/> (Unix epoch milliseconds); <paramref name="ToMs"/> is when all were durable.
    /// </summary>
    private sealed record Progress(double Seconds, long Processed, double FirstAppliedSeconds, double AllAppliedSeconds, long FromMs, long ToMs);

    /// <summary>
    /// Waits until the partitions' processors have taken <paramref name="records"/> records and committed them
    /// (every effect persisted); the time runs from the moment the first record was read from Kafka, as the
    /// ceiling's and the peer's run from their first record, to the last commit. Also notes when the first records
    /// were applied and when all of them were (seen by polling every 50 ms).
    /// </summary>
    private static async Task<Progress> WaitForAsync(IPartitionDispatcherGrain[] dispatchers, long records, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
        var allocAtStart = GC.GetTotalAllocatedBytes();
        int[] gcsAtStart = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        var pauseAtStart = GC.GetTotalPauseDuration();
        long processed = 0;
        long firstAppliedAtMs = 0, allAppliedAtMs = 0;
        while (clock.Elapsed < timeout)
        {
            PartitionStatus[] statuses;
            try
            {
                statuses = await Task.WhenAll(dispatchers.Select(d => d.GetStatusAsync()));
            }
            catch (TimeoutException)
            {
                // A silo short of CPU may answer late: ask again.
                continue;
            }

            processed = statuses.Sum(s => s.RecordsProcessed);
            var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            firstAppliedAtMs = firstAppliedAtMs == 0 && processed > 0 ? nowMs : firstAppliedAtMs;
            allAppliedAtMs = allAppliedAtMs == 0 && processed >= records ? nowMs : allAppliedAtMs;
            var fetched = statuses.Where(s => s.FirstFetchedAtMs > 0).Select(s => s.FirstFetchedAtMs).DefaultIfEmpty().Min();
            if (ShowProgress)
            {
                var sinceFetch = fetched > 0 ? $" ({(nowMs - fetched) / 1000.0:F2}s since the first record was fetched)" : string.Empty;
                Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.ff} {clock.Elapsed.TotalSeconds:F1}s processed {processed} committed {statuses.Sum(s => Math.Max(0, s.CommittedOffset))}{sinceFetch}");
            }

            // Each partition's offsets start at zero, so the committed offsets add up to the records committed.
            if (processed >= records && statuses.Sum(s => Math.Max(0, s.CommittedOffset)) >= records)
            {
                if (ShowProgress)
                {
                    Console.Error.WriteLine($"CPU {(Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart).TotalSeconds:F2}s while waiting for {records} records, allocated {(GC.GetTotalAllocatedBytes() - allocAtStart) / (double)records:F0} B/record; GCs {GC.CollectionCount(0) - gcsAtStart[0]}/{GC.CollectionCount(1) - gcsAtStart[1]}/{GC.CollectionCount(2) - gcsAtStart[2]}, paused {(GC.GetTotalPauseDuration() - pauseAtStart).TotalSeconds:F2}s");
                }

                return new Progress((nowMs - fetched) / 1000.0, processed, (firstAppliedAtMs - fetched) / 1000.0, (allAppliedAtMs - fetched) / 1000.0, fetched, nowMs);
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"The pipeline processed {processed} of {records} records in {timeout}.");
    }

    private static async Task CheckAsync(IGrainFactory grains, Oracle oracle, Checks checks, Dictionary<string, long>? live)
    {
        var suffix = live is null ? string.Empty : " (after the latency phase)";
        var totals = await Task.WhenAll(oracle.UrlTotals.Keys.Select(url => grains.GetGrain<IUrlGrain>(url).GetTotalsAsync()));
        var wrong = totals.Count(t => t.Total != oracle.UrlTotals[t.Url] + (live?.GetValueOrDefault(t.Url) ?? 0));
        checks.Equal("URLs whose total differs" + suffix, 0, wrong);
        checks.Equal("sum of URL totals" + suffix, oracle.ValidViews + (live?.Values.Sum() ?? 0), totals.Sum(t => t.Total));

        var deadLetters = await Eventually(() => DeadLetters.StatsAsync(grains), s => s.Total >= oracle.Bad);
        checks.Equal($"dead letters ({string.Join(", ", deadLetters.ByReason.Select(r => $"{r.Key} {r.Value}"))}){suffix}", oracle.Bad, deadLetters.Total);
        if (live is not null)
        {
            return;
        }

        var users = await Task.WhenAll(oracle.UserSample.Keys.Select(u => grains.GetGrain<IUserGrain>(u).GetTotalsAsync()));
        checks.Equal("sampled users whose views or clicks differ", 0,
            users.Count(u => u.Views != oracle.UserSample[u.UserId][0] || u.Clicks != oracle.UserSample[u.UserId][1]));

        // Conversions reach the URL grains after the user grains join them: wait for them to settle.
        var conversions = await Eventually(
            async () => (await Task.WhenAll(oracle.UrlTotals.Keys.Select(url => grains.GetGrain<IUrlGrain>(url).GetConversionsAsync()))).Sum(c => c.Conversions),
            c => c >= oracle.Conversions);
        checks.Equal("conversions", oracle.Conversions, conversions);
    }

    private static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(200);
        }
    }

    private static Task<LatencyHistogram> LatencyAsync(PipelineMetrics metrics) => LatencyHistogram.ScrapeAsync(metrics.Registry, LatencyMetric);
}
