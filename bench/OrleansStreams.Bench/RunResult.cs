using System.Text.Json;

namespace OrleansStreams.Bench;

/// <summary>
/// What one run measured, and whether its results equalled the oracle. The pipeline also reports when, counted from
/// its first record read, its first records were applied (<paramref name="FirstAppliedSeconds"/>) and all of them
/// (<paramref name="AllAppliedSeconds"/>); <paramref name="Seconds"/> runs on until all are durable.
/// <paramref name="ColdRecordsPerSecond"/> is the rate of the same system's first run in its process.
/// <paramref name="MeasuredFromMs"/> and <paramref name="MeasuredToMs"/> (Unix epoch milliseconds) bound the pipeline's
/// measured run; <paramref name="Profile"/> is where its CPU went, when the bench ran with <c>--profile</c>.
/// <paramref name="RunRates"/> are the rates of all the measured runs, of which this one is the median.
/// </summary>
public sealed record RunResult(
    string Run,
    string Dataset,
    int Partitions,
    int Users,
    long Records,
    double Seconds,
    double RecordsPerSecond,
    double? LatencyRate,
    double? P50Ms,
    double? P99Ms,
    double PeakMemoryMb,
    bool Correct,
    string Checks,
    double? FirstAppliedSeconds = null,
    double? AllAppliedSeconds = null,
    double? ColdRecordsPerSecond = null,
    long? MeasuredFromMs = null,
    long? MeasuredToMs = null,
    Profiler.CpuProfile? Profile = null,
    double[]? RunRates = null)
{
    public const string Marker = "RESULT ";

    public string ToLine() => Marker + JsonSerializer.Serialize(this);

    /// <summary>
    /// The item of median rate: of the measured runs, the one the results report; of their rates, the maximum the
    /// latency is measured at half of. The upper middle one of an even count.
    /// </summary>
    public static T Median<T>(IEnumerable<T> items, Func<T, double> rate)
    {
        var ordered = items.OrderBy(rate).ToArray();
        return ordered[ordered.Length / 2];
    }

    public static RunResult? FromLine(string line) =>
        line.StartsWith(Marker, StringComparison.Ordinal) ? JsonSerializer.Deserialize<RunResult>(line[Marker.Length..]) : null;
}

/// <summary>Facts about this process a run reports.</summary>
public static class ProcessStats
{
    /// <summary>Peak resident set size of this process (VmHWM), in MiB.</summary>
    public static double PeakMemoryMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
                return kb / 1024.0;
            }
        }

        return double.NaN;
    }
}

/// <summary>Collects correctness checks: each compares a run's result with the oracle.</summary>
public sealed class Checks
{
    private readonly List<string> _failures = [];
    private int _passed;

    public bool AllPassed => _failures.Count == 0;

    public void Equal<T>(string what, T expected, T actual)
    {
        if (EqualityComparer<T>.Default.Equals(expected, actual))
        {
            _passed++;
        }
        else
        {
            _failures.Add($"{what}: expected {expected}, got {actual}");
        }
    }

    public override string ToString() => AllPassed
        ? $"{_passed} checks passed"
        : $"{_failures.Count} failed ({string.Join("; ", _failures.Take(5))}), {_passed} passed";
}
