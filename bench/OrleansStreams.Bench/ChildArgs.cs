using System.Globalization;

namespace OrleansStreams.Bench;

/// <summary>
/// What a child process measures, and against which Kafka and oracle: <paramref name="ColdBootstrapServers"/> is a
/// second embedded Kafka holding the same dataset, which the child's system reads first, in a fresh process;
/// <paramref name="RepeatBootstrapServers"/> are more copies, each measured the same way before the last
/// (<paramref name="BootstrapServers"/>), after which latency is measured too: at <paramref name="LatencyRate"/>
/// records/s when given, else at half the median rate of the measured runs.
/// </summary>
public sealed record ChildArgs(string Run, string BootstrapServers, string ColdBootstrapServers, string OraclePath, TimeSpan LiveDuration, string? StorageConnectionString, string[] RepeatBootstrapServers, double? LatencyRate = null)
{
    public string[] ToArgs() =>
        ["child", Run, BootstrapServers, ColdBootstrapServers, OraclePath, LiveDuration.TotalSeconds.ToString(CultureInfo.InvariantCulture), StorageConnectionString ?? "-", string.Join(' ', RepeatBootstrapServers),
            LatencyRate?.ToString(CultureInfo.InvariantCulture) ?? "-"];

    public static ChildArgs Parse(string[] args) => args.Length == 8
        ? new ChildArgs(args[0], args[1], args[2], args[3], TimeSpan.FromSeconds(double.Parse(args[4], CultureInfo.InvariantCulture)), args[5] == "-" ? null : args[5],
            args[6].Split(' ', StringSplitOptions.RemoveEmptyEntries), args[7] == "-" ? null : double.Parse(args[7], CultureInfo.InvariantCulture))
        : throw new ArgumentException("usage: child <run> <bootstrap-servers> <cold-bootstrap-servers> <oracle-path> <live-seconds> <storage-connection-string|-> <repeat-bootstrap-servers, space-separated> <latency-rate|->");

    /// <summary>The rate latency is measured at, given the earlier measured runs' rates and this one's.</summary>
    public double LatencyRateAfter(IReadOnlyList<double>? earlierRates, double rate) =>
        LatencyRate ?? LiveLoad.HalfOfMedian((earlierRates ?? []).Append(rate));

    /// <summary>The same run against the Kafka read first, cold.</summary>
    public ChildArgs Cold => this with { BootstrapServers = ColdBootstrapServers };

    /// <summary>The same run against each of the other copies measured.</summary>
    public IEnumerable<ChildArgs> Repeats => RepeatBootstrapServers.Select(servers => this with { BootstrapServers = servers });
}

/// <summary>The bench's command line.</summary>
public sealed record BenchOptions(int Views, int HighCardinalityViews, TimeSpan LiveDuration, string OutputFolder, string[] Only, string[] Datasets, bool Profile = false, int Runs = BenchOptions.DefaultRuns, double? LatencyRate = null, int LongViews = BenchOptions.DefaultLongViews)
{
    /// <summary>Views in the main datasets: below the embedded Kafka's 5 MB per partition on 8 partitions.</summary>
    public const int DefaultViews = 320_000;

    /// <summary>
    /// Views in the long dataset: as many records per partition as the main dataset has, over 32 partitions, so a run
    /// lasts about four times as long (the embedded Kafka holds no more per partition).
    /// </summary>
    public const int DefaultLongViews = 1_200_000;

    /// <summary>Measured runs per system and dataset: the median is reported, as one short run varies by a third.</summary>
    public const int DefaultRuns = 5;

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions(DefaultViews, 200_000, TimeSpan.FromSeconds(10), Path.Combine(OrleansStreams.Tests.Infrastructure.RepositoryPaths.Root, "bench", "results"), [], []);
        for (var i = 0; i < args.Length; i++)
        {
            options = args[i] switch
            {
                "--quick" => options with { Views = 100_000, HighCardinalityViews = 50_000, LongViews = 400_000, LiveDuration = TimeSpan.FromSeconds(5), Runs = 1 },
                "--views" => options with { Views = int.Parse(args[++i], CultureInfo.InvariantCulture) },
                "--high-cardinality-views" => options with { HighCardinalityViews = int.Parse(args[++i], CultureInfo.InvariantCulture) },
                "--long-views" => options with { LongViews = int.Parse(args[++i], CultureInfo.InvariantCulture) },
                "--live-seconds" => options with { LiveDuration = TimeSpan.FromSeconds(double.Parse(args[++i], CultureInfo.InvariantCulture)) },
                "--out" => options with { OutputFolder = Path.GetFullPath(args[++i]) },
                "--only" => options with { Only = args[++i].Split(',') },
                "--datasets" => options with { Datasets = args[++i].Split(';') },
                "--profile" => options with { Profile = true },
                "--runs" => options with { Runs = Math.Max(1, int.Parse(args[++i], CultureInfo.InvariantCulture)) },
                "--latency-rate" => options with { LatencyRate = PositiveRate(args[++i]) },
                _ => throw new ArgumentException(
                    $"Unknown option '{args[i]}'. Options: --quick, --views N, --high-cardinality-views N, --long-views N, --live-seconds S, --out FOLDER, --only run[,run], --datasets text[;text] (part of a dataset's name), --profile (pipeline runs under Linux perf), --runs N (measured runs, median reported; default 5), --latency-rate R (records/s latency is measured at; default half the median rate)"),
            };
        }

        return options;
    }

    private static double PositiveRate(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate > 0
            ? rate
            : throw new ArgumentException($"--latency-rate takes records per second above zero (was '{value}').");
}
