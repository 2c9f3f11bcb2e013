using System.Diagnostics;
using Confluent.Kafka;
using OrleansStreams.Grains;
using OrleansStreams.Grains.Core;

namespace OrleansStreams.Bench;

/// <summary>
/// The machine's ceiling: one plain Confluent consumer reading every partition of both input topics from the
/// same embedded Kafka, tuned (librdkafka's defaults idle a second whenever the local queue fills), optionally
/// parsing each record with the pipeline's own parser and doing nothing else.
/// </summary>
public static class CeilingRun
{
    private const int Passes = 3;

    public static async Task<RunResult> RunAsync(ChildArgs args, bool parse, IReadOnlyList<double>? latencyAfter)
    {
        var oracle = Oracle.Load(args.OraclePath);
        var spec = oracle.Spec;
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = args.BootstrapServers,
            GroupId = "bench-ceiling-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            FetchWaitMaxMs = 100,
            QueuedMinMessages = 1_000_000,
            FetchQueueBackoffMs = 1,
        }).Build();
        var fromStart = Enumerable.Range(0, spec.Partitions)
            .SelectMany(p => new[] { new TopicPartitionOffset(Topics.PageViews, p, Offset.Beginning), new TopicPartitionOffset(Topics.Clicks, p, Offset.Beginning) })
            .ToList();

        long valid = 0, bad = 0, read = 0;
        var latency = new LatencyHistogram();
        void Take(ConsumeResult<byte[]?, byte[]?> result, bool live)
        {
            read++;
            if (live)
            {
                latency.Observe(Math.Max(0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - result.Message.Timestamp.UnixTimestampMs) / 1000.0);
            }

            if (!parse)
            {
                return;
            }

            var ok = result.Topic == Topics.PageViews
                ? EventParser.TryParsePageView(result.Message.Value, out _, out _)
                : EventParser.TryParseClick(result.Message.Value, out _, out _);
            if (ok)
            {
                valid++;
            }
            else
            {
                bad++;
            }
        }

        // The embedded Kafka keeps 5 MB per partition, so the dataset is small: it is read Passes times over.
        Stopwatch? clock = null;
        for (var pass = 0; pass < Passes; pass++)
        {
            consumer.Assign(fromStart);
            var passEnd = (pass + 1) * oracle.Records;
            while (read < passEnd)
            {
                if (consumer.Consume(TimeSpan.FromSeconds(30)) is not { } result)
                {
                    var positions = string.Join(", ", consumer.Assignment.Select(tp => $"{tp.Topic}/{tp.Partition.Value}@{consumer.Position(tp).Value}"));
                    throw new TimeoutException($"The ceiling consumer read {read} of {passEnd} records, then nothing for 30 s: {positions}.");
                }

                clock ??= Stopwatch.StartNew();
                Take(result, live: false);
            }
        }

        var seconds = clock!.Elapsed.TotalSeconds;
        var rate = (read - 1) / seconds;

        // Latency at half the maximum rate: records produced now, timed from their Kafka timestamp to here.
        var liveRate = args.LatencyRateAfter(latencyAfter, rate);
        long liveRecords = 0;
        if (latencyAfter is not null)
        {
            var produce = Task.Run(() => LiveLoad.ProduceAsync(args.BootstrapServers, spec, liveRate, args.LiveDuration));
            while (!produce.IsCompleted)
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { } result)
                {
                    Take(result, live: true);
                }
            }

            liveRecords = (await produce).Values.Sum();
            var target = (Passes * oracle.Records) + liveRecords;
            while (read < target && consumer.Consume(TimeSpan.FromSeconds(30)) is { } rest)
            {
                Take(rest, live: true);
            }
        }

        var checks = new Checks();
        checks.Equal("records read", (Passes * oracle.Records) + liveRecords, read);
        if (parse)
        {
            checks.Equal("records parsed", (Passes * (oracle.ValidViews + oracle.Clicks)) + liveRecords, valid);
            checks.Equal("records not parsed", Passes * oracle.Bad, bad);
        }

        return new RunResult(parse ? "ceiling (parse JSON)" : "ceiling (no parsing)", spec.Name, spec.Partitions, spec.Users, Passes * oracle.Records, seconds, rate,
            liveRate, latency.QuantileMs(0.5), latency.QuantileMs(0.99), ProcessStats.PeakMemoryMb(), checks.AllPassed, checks.ToString());
    }
}
