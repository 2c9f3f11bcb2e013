using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace OrleansStreams.Bench;

/// <summary>
/// With <c>--profile</c>, a pipeline run's process runs under Linux perf, which samples every thread's call stack
/// <see cref="Frequency"/> times a second. The samples taken during the measured run (from its first record read to
/// all of them durable) are counted by the part of the system they were spent in: the first frame, from the
/// innermost out, that names a part decides (so an allocation counts with the code that made it, and framework
/// code with its caller); the garbage collector's and librdkafka's own threads count by thread.
/// </summary>
public static partial class Profiler
{
    public const int Frequency = 999;

    public const string Other = "other (thread pool, timers, runtime)";

    private const string KafkaClient = "Kafka client (Confluent.Kafka, librdkafka)";

    /// <summary>The parts, in the order each frame is tested against them.</summary>
    private static readonly (string Part, Regex Frame)[] Parts =
    [
        ("JSON parsing", new(@"OrleansStreams\.Grains\.Core\.(EventParser|AsciiStrings)", RegexOptions.Compiled)),
        (KafkaClient, new(@"Confluent\.Kafka|librdkafka", RegexOptions.Compiled)),
        // The pipeline makes no other HTTP requests than storage's (nothing scrapes its metrics during a run).
        ("grain state storage (with its HTTP client)", new(@"MemoryGrainStorage|MemoryStorageGrain|TableBatchGrainStorage|Azure\.(Data|Core)\.|System\.Net\.(Http|Sockets|Security)\.dll", RegexOptions.Compiled)),
        ("Orleans serialization and copying", new(@"Orleans\.Serialization\.|OrleansCodeGen\.\S*(Codec|Copier)_", RegexOptions.Compiled)),
        ("metrics and dashboard", new(@"OpenTelemetry|Prometheus|PipelineMetrics|System\.Diagnostics\.Metrics|Orleans\.Dashboard\.(?!Implementation\.GrainProfilerFilter)", RegexOptions.Compiled)),
        ("dispatchers and stream provider", new(@"OrleansStreams\.(Grains\.Dispatch|Streaming)\.", RegexOptions.Compiled)),
        ("grains: totals, windows, join, dedup", new(@"OrleansStreams\.Grains\.", RegexOptions.Compiled)),
        ("Orleans runtime (messages, scheduling, activations)", new(@"\bOrleans\.|OrleansCodeGen\.", RegexOptions.Compiled)),
        // Idle threads (the thread pool's, mostly) that give up the CPU in a loop while they wait for work.
        ("threads spinning while they wait for work", new(@"sched_yield", RegexOptions.Compiled)),
    ];

    /// <summary>One part of the system and its share of the samples.</summary>
    public sealed record Share(string Part, double Fraction);

    /// <summary>What a profile found: how many samples fell in the measured run, and their shares, largest first.</summary>
    public sealed record CpuProfile(int Samples, Share[] Shares);

    /// <summary>The path of perf, or a clear error: profiling needs it (Debian: <c>apt-get install linux-perf</c>).</summary>
    public static string PerfPath() =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "perf"))
            .FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("--profile needs Linux perf on PATH (Debian: apt-get install linux-perf).");

    /// <summary>Has <paramref name="start"/> run under perf, writing its samples to <paramref name="dataPath"/>.</summary>
    public static void Wrap(ProcessStartInfo start, string dataPath)
    {
        var command = start.ArgumentList.Prepend(start.FileName).ToList();
        start.FileName = PerfPath();
        start.ArgumentList.Clear();
        // Wall-clock timestamps, so that the child's measured run (epoch milliseconds) selects its samples.
        foreach (var arg in new[] { "record", "-q", "-k", "CLOCK_REALTIME", "-F", Frequency.ToString(CultureInfo.InvariantCulture), "-g", "-o", dataPath, "--" }.Concat(command))
        {
            start.ArgumentList.Add(arg);
        }

        // The runtime writes /tmp/perf-<pid>.map, naming its compiled code for perf; perf reads it only for code in
        // anonymous memory, which needs the runtime's write-xor-execute double mapping off.
        start.Environment["DOTNET_PerfMapEnabled"] = "3";
        start.Environment["DOTNET_EnableWriteXorExecute"] = "0";
    }

    /// <summary>Counts the samples taken between the two instants (Unix epoch milliseconds), then deletes the recording.</summary>
    public static async Task<CpuProfile> AnalyzeAsync(string dataPath, long fromMs, long toMs, ISet<string> mapsBefore)
    {
        var script = new ProcessStartInfo(PerfPath())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "script", "-i", dataPath, "-F", "comm,tid,ip,sym,dso", "--time", $"{Seconds(fromMs)},{Seconds(toMs)}" })
        {
            script.ArgumentList.Add(arg);
        }

        try
        {
            using var process = Process.Start(script) ?? throw new InvalidOperationException("Could not start perf script.");
            var errors = process.StandardError.ReadToEndAsync();
            var profile = Count(process.StandardOutput);
            await process.WaitForExitAsync();
            return process.ExitCode == 0 ? profile : throw new InvalidOperationException($"perf script failed: {await errors}");
        }
        finally
        {
            File.Delete(dataPath);
            foreach (var map in PerfMaps().Where(m => !mapsBefore.Contains(m)))
            {
                File.Delete(map);
            }
        }
    }

    /// <summary>The runtime's symbol maps for perf now in /tmp.</summary>
    public static HashSet<string> PerfMaps() => [.. Directory.EnumerateFiles(Path.GetTempPath(), "perf-*.map")];

    /// <summary>
    /// Counts samples in <c>perf script</c> output: each is a line "thread-name tid", then one line per frame
    /// ("address symbol (library)"), innermost first, then an empty line.
    /// </summary>
    public static CpuProfile Count(TextReader script)
    {
        var counts = new Dictionary<string, int>();
        var samples = 0;
        string? thread = null;
        string? part = null;
        for (var line = script.ReadLine(); line is not null; line = script.ReadLine())
        {
            if (line.Length == 0)
            {
                if (thread is not null)
                {
                    Add(part ?? Other);
                }

                (thread, part) = (null, null);
            }
            else if (thread is null)
            {
                thread = ThreadId().Replace(line, string.Empty);
                part = thread.Contains("GC", StringComparison.Ordinal) ? "garbage collector threads"
                    : thread.StartsWith("rdk:", StringComparison.Ordinal) ? KafkaClient
                    : null;
            }
            else if (part is null)
            {
                part = Parts.FirstOrDefault(p => p.Frame.IsMatch(line)).Part;
            }
        }

        if (thread is not null)
        {
            Add(part ?? Other);
        }

        return new CpuProfile(samples, [.. counts.OrderByDescending(c => c.Value).Select(c => new Share(c.Key, (double)c.Value / Math.Max(1, samples)))]);

        void Add(string name)
        {
            samples++;
            counts[name] = counts.GetValueOrDefault(name) + 1;
        }
    }

    private static string Seconds(long epochMs) => (epochMs / 1000.0).ToString("F3", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"\s+\d+\s*$")]
    private static partial Regex ThreadId();
}
