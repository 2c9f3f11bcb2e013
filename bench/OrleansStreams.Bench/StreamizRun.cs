using System.Collections.Concurrent;
using System.Diagnostics;
using OrleansStreams.Grains;
using OrleansStreams.Grains.Core;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Processors;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Stream;
using Streamiz.Kafka.Net.Table;

namespace OrleansStreams.Bench;

/// <summary>
/// The peer: Streamiz.Kafka.Net (Kafka Streams for .NET) counting views per URL per 1-minute tumbling event-time
/// window in a RocksDB window store, against the same embedded Kafka, at-least-once or exactly-once.
/// </summary>
public static class StreamizRun
{
    public const string Store = "url-counts";
    public const string Repartition = "by-url";

    /// <summary>How long the count of views may stand still before a run counts as failed.</summary>
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(60);

    public static string ApplicationId(bool exactlyOnce) => exactlyOnce ? "bench-streamiz-eos" : "bench-streamiz-alos";

    /// <summary>The internal topics Streamiz needs; the embedded Kafka cannot create topics on request.</summary>
    public static IEnumerable<string> InternalTopics(bool exactlyOnce)
    {
        var id = ApplicationId(exactlyOnce);
        yield return $"{id}-{Repartition}-repartition";
        yield return $"{id}-{Store}-changelog";
    }

    public static async Task<RunResult> RunAsync(ChildArgs args, bool exactlyOnce, IReadOnlyList<double>? latencyAfter)
    {
        var oracle = Oracle.Load(args.OraclePath);
        var spec = oracle.Spec;
        var stateDir = Directory.CreateTempSubdirectory("streamiz-").FullName;
        var config = new StreamConfig<StringSerDes, ByteArraySerDes>
        {
            ApplicationId = ApplicationId(exactlyOnce),
            BootstrapServers = args.BootstrapServers,
            Guarantee = exactlyOnce ? ProcessingGuarantee.EXACTLY_ONCE : ProcessingGuarantee.AT_LEAST_ONCE,
            NumStreamThreads = 2,
            StateDir = stateDir,
            AutoOffsetReset = Confluent.Kafka.AutoOffsetReset.Earliest,
            DefaultTimestampExtractor = new ViewTimeExtractor(),
            // The same read-ahead tuning as the ceiling and the pipeline.
            FetchWaitMaxMs = 100,
            QueuedMinMessages = 1_000_000,
            FetchQueueBackoffMs = 1,
            LingerMs = 5,
        };

        var latest = new ConcurrentDictionary<(string Url, long Window), long>();
        var latency = new LatencyHistogram();
        var measuring = false;
        long firstTicks = 0;
        var clock = Stopwatch.StartNew();

        var builder = new StreamBuilder();
        builder.Stream<string, byte[]>(Topics.PageViews)
            .Peek((_, _, _) => Interlocked.CompareExchange(ref firstTicks, clock.Elapsed.Ticks, 0))
            .MapValues((_, value, _) => value is not null && EventParser.TryParsePageView(value, out var view, out _) ? view.Url : null)
            .Filter((_, url, _) => url is not null)
            .GroupBy<string, StringSerDes, StringSerDes>((_, url, _) => url!, Repartition)
            .WindowedBy(TumblingWindowOptions.Of(TimeSpan.FromMinutes(1)))
            .Count(RocksDbWindows.As<string, long>(Store).WithKeySerdes<StringSerDes>().WithValueSerdes<Int64SerDes>())
            .ToStream()
            .Peek((key, count, context) =>
            {
                latest[(key.Key, key.Window.StartMs)] = count;
                if (Volatile.Read(ref measuring))
                {
                    latency.Observe(Math.Max(0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - context.Timestamp) / 1000.0);
                }
            });

        var stream = new KafkaStream(builder.Build(), config);
        KafkaStream.State? failed = null;
        stream.StateChanged += (_, now) =>
        {
            if (now == KafkaStream.State.ERROR)
            {
                failed = now;
            }
        };
        try
        {
            await stream.StartAsync();
            var expected = oracle.ValidViews;
            await WaitAsync(() => latest.Values.Sum(), expected, () => failed, TimeSpan.FromMinutes(30));
            var seconds = TimeSpan.FromTicks(clock.Elapsed.Ticks - Interlocked.Read(ref firstTicks)).TotalSeconds;
            var rate = oracle.PageViewRecords / seconds;
            var checks = new Checks();
            checks.Equal("sum of window counts", expected, latest.Values.Sum());
            var perUrl = latest.GroupBy(l => l.Key.Url).ToDictionary(g => g.Key, g => g.Sum(l => l.Value));
            checks.Equal("URLs whose total differs", 0, oracle.UrlTotals.Count(t => t.Value != perUrl.GetValueOrDefault(t.Key)));

            var liveRate = args.LatencyRateAfter(latencyAfter, rate);
            if (latencyAfter is not null)
            {
                Volatile.Write(ref measuring, true);
                var live = await LiveLoad.ProduceAsync(args.BootstrapServers, spec, liveRate, args.LiveDuration);
                expected += live.Values.Sum();
                await WaitAsync(() => latest.Values.Sum(), expected, () => failed, TimeSpan.FromMinutes(5));
                checks.Equal("sum of window counts (after the latency phase)", expected, latest.Values.Sum());
            }

            var guarantee = exactlyOnce ? "exactly-once" : "at-least-once";
            return new RunResult($"Streamiz 1.8.2 ({guarantee}, RocksDB)", spec.Name, spec.Partitions, spec.Users, oracle.PageViewRecords, seconds, rate,
                liveRate, latency.QuantileMs(0.5), latency.QuantileMs(0.99), ProcessStats.PeakMemoryMb(), checks.AllPassed, checks.ToString());
        }
        finally
        {
            // Streamiz's shutdown has hung here on one of its stream threads: the run does not wait for it for long.
            var disposed = Task.Run(stream.Dispose);
            if (await Task.WhenAny(disposed, Task.Delay(TimeSpan.FromSeconds(30))) == disposed)
            {
                Directory.Delete(stateDir, recursive: true);
            }
            else
            {
                Console.Error.WriteLine($"Streamiz did not shut down within 30 s; its state stays in {stateDir}.");
            }
        }
    }

    /// <summary>
    /// Waits until the views counted reach <paramref name="expected"/>; fails when Streamiz reports an error, runs past
    /// <paramref name="timeout"/>, or counts nothing more for <see cref="StallTimeout"/> (a stream thread can die while
    /// the application as a whole stays running).
    /// </summary>
    private static async Task WaitAsync(Func<long> counted, long expected, Func<KafkaStream.State?> failedState, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var (seen, seenAt) = (counted(), DateTime.UtcNow);
        for (var now = seen; now < expected; now = counted())
        {
            if (failedState() is { } failed)
            {
                throw new InvalidOperationException($"Streamiz stopped in state {failed}: {now} of {expected} views counted.");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Streamiz did not finish in {timeout}: {now} of {expected} views counted.");
            }

            if (now != seen)
            {
                (seen, seenAt) = (now, DateTime.UtcNow);
            }
            else if (DateTime.UtcNow - seenAt > StallTimeout)
            {
                throw new TimeoutException($"Streamiz made no progress for {StallTimeout.TotalSeconds:N0} s: {now} of {expected} views counted.");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Event time from <c>view_time</c>, as the pipeline windows; the record's timestamp for bad records.</summary>
    private sealed class ViewTimeExtractor : ITimestampExtractor
    {
        public long Extract(Confluent.Kafka.ConsumeResult<object, object> record, long partitionTime) =>
            record.Message.Value is byte[] value && EventParser.TryParsePageView(value, out var view, out _)
                ? EventTime.ToMilliseconds(view.ViewTime)
                : record.Message.Timestamp.UnixTimestampMs;
    }
}
