using System.Globalization;
using System.Text;
using ScottPlot;

namespace OrleansStreams.Bench;

/// <summary>Writes the results as a markdown table and a chart of throughput and latency.</summary>
public static class Report
{
    public const string MarkdownFile = "results.md";
    public const string ChartFile = "throughput-latency.png";
    public const string DataFile = "results.json";

    /// <summary>Where, under the results, the README's profiling command writes its own report.</summary>
    public const string ProfileFolder = "profile";

    /// <summary>Everything a report is made from, saved next to it so that it can be drawn again.</summary>
    public sealed record Data(DateTime MeasuredAt, string Machine, BenchOptions Options, List<RunResult> Results, string? PipelineSettings = null);

    /// <summary>Draws the report again from a saved <see cref="DataFile"/>.</summary>
    public static void Render(string dataPath)
    {
        var data = System.Text.Json.JsonSerializer.Deserialize<Data>(File.ReadAllBytes(dataPath)) ?? throw new InvalidDataException($"No results in {dataPath}.");
        Write(Path.GetDirectoryName(Path.GetFullPath(dataPath))!, data);
    }

    public static void Write(string folder, Data data)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, DataFile), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(data, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllText(Path.Combine(folder, MarkdownFile), Markdown(data, File.Exists(Path.Combine(folder, ProfileFolder, MarkdownFile))));
        if (data.Results.Count > 0)
        {
            Chart(data.Results).SavePng(Path.Combine(folder, ChartFile), 1600, 1200);
        }
    }

    /// <summary>The ceiling (with parsing) measured on the same dataset, if any.</summary>
    public static RunResult? CeilingOf(IReadOnlyList<RunResult> results, RunResult run) =>
        results.FirstOrDefault(r => r.Dataset == run.Dataset && r.Run == "ceiling (parse JSON)");

    /// <summary>
    /// The peer's exactly-once run on the same dataset, if it was right: the rate of a run that failed its own checks
    /// is no yardstick, so nothing is compared with it.
    /// </summary>
    public static RunResult? PeerOf(IReadOnlyList<RunResult> results, RunResult run) => PeerRunOf(results, run) is { Correct: true } peer ? peer : null;

    private static RunResult? PeerRunOf(IReadOnlyList<RunResult> results, RunResult run) =>
        results.FirstOrDefault(r => r.Dataset == run.Dataset && r.Run.StartsWith("Streamiz", StringComparison.Ordinal) && r.Run.Contains("exactly-once", StringComparison.Ordinal));

    private static string Markdown(Data data, bool profileNextToIt)
    {
        var (machine, options, results) = (data.Machine, data.Options, data.Results);
        var md = new StringBuilder();
        md.AppendLine("# Benchmark results").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Measured {data.MeasuredAt:yyyy-MM-dd HH:mm} UTC with `dotnet run -c Release --project bench/OrleansStreams.Bench{Arguments(options)}`.").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Machine: {machine}.").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Every system and dataset gets {options.Runs + 1} fresh embedded Kafkas holding the same generated dataset (page views keyed by user over 1,000 URLs, 1% malformed, clicks for 10% of views of which about 5/8 join). A fresh process runs the system over the first (the cold run: code not yet compiled, nothing cached), then, with fresh state each time (on Azure Table, in a table of its own: Azurite's work per request grows with all its table holds), over each of the others: those {options.Runs} runs are measured, as a service that has been running reads new input, and the table shows the one of median rate (the range of all {options.Runs} in the next column: a run of a few seconds on this machine varies by up to a third). Every run's results are checked against counts computed while producing; after the last run, valid views are produced at {LatencyRateText(options)} for the latency figures.").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"The pipeline runs with the app's default settings (commit interval 1 s{(data.PipelineSettings is { Length: > 0 } set ? $"; changed for this run: `{set}`" : string.Empty)}).").AppendLine();
        md.AppendLine("| run | dataset | records | records/s | range | of ceiling | × peer EO | p50 ms | p99 ms | at rate/s | peak MiB | correct |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in results)
        {
            var ceiling = CeilingOf(results, r);
            var peer = PeerOf(results, r);
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Run} | {r.Dataset} | {r.Records:N0} | {r.RecordsPerSecond:N0} | {Range(r)} | {Ratio(r, ceiling, percent: true)} | {Ratio(r, peer, percent: false)} | {r.P50Ms:N1} | {r.P99Ms:N1} | {r.LatencyRate:N0} | {r.PeakMemoryMb:N0} | {(r.Correct ? "yes" : "**NO**")}: {r.Checks} |");
        }

        md.AppendLine().AppendLine("## Targets (exactly-once effects)").AppendLine();
        // Judged on every dataset, the first (the main one) first: one dataset alone can flatter either side.
        foreach (var r in results.Where(r => r.Run.StartsWith("OrleansStreams", StringComparison.Ordinal)).OrderBy(r => r.Dataset != results[0].Dataset))
        {
            var ceiling = CeilingOf(results, r);
            var peer = PeerOf(results, r);
            var inMemory = r.Run.Contains("in-memory", StringComparison.Ordinal);
            var what = $"{r.Run}, {r.Dataset},";
            if (inMemory && ceiling is not null)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {what} at ≥ 40% of the ceiling: {r.RecordsPerSecond / ceiling.RecordsPerSecond:P0} — {(r.RecordsPerSecond >= 0.4 * ceiling.RecordsPerSecond ? "met" : "not met")}.");
            }

            var factor = inMemory ? 10 : 5;
            if (PeerRunOf(results, r) is { Correct: false })
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {what} at ≥ {factor}× the peer's exactly-once rate: not judged, because the peer's run failed its own checks (see the table).");
            }
            else if (peer is not null)
            {
                var needed = factor * peer.RecordsPerSecond;
                var ofCeiling = ceiling is null ? string.Empty : string.Create(CultureInfo.InvariantCulture, $", {needed / ceiling.RecordsPerSecond:P0} of the ceiling's rate, which only reads and parses");
                md.AppendLine(CultureInfo.InvariantCulture, $"- {what} at ≥ {factor}× the peer's exactly-once rate: {r.RecordsPerSecond / peer.RecordsPerSecond:N1}× — {(r.RecordsPerSecond >= needed ? "met" : "not met")} (it needs {needed:N0} records/s{ofCeiling}).");
            }
        }

        if (profileNextToIt)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- Where the pipeline's CPU goes, and so what stands between it and a target: [{ProfileFolder}/{MarkdownFile}]({ProfileFolder}/{MarkdownFile}), measured with `dotnet run -c Release --project bench/OrleansStreams.Bench -- --profile --only pipeline,pipeline-azure --datasets \"8 partitions, 1k users\" --out bench/results/{ProfileFolder}` (needs Linux perf).");
        }

        Section(md, "Where the pipeline's time goes",
            "Seconds from the first record read from Kafka, seen by asking the partitions' dispatchers every 50 ms; a partition's records count as applied once the whole delivery holding them is. While a partition catches up, one delivery carries everything already fetched, up to `Kafka:BatchesPerDelivery` × `Kafka:MaxBatchSize` records, so the first deliveries hold most of the dataset, and they also pay for activating the grains they reach. The last column is the time the records/s figure uses; the gap before it is the final commit.",
            "| run | dataset | first records applied | all applied | all durable |\n|---|---|---:|---:|---:|",
            results.Where(r => r.FirstAppliedSeconds is not null && r.AllAppliedSeconds is not null)
                .Select(r => string.Create(CultureInfo.InvariantCulture, $"| {r.Run} | {r.Dataset} | {r.FirstAppliedSeconds:N2} | {r.AllAppliedSeconds:N2} | {r.Seconds:N2} |")));
        var profiled = results.Where(r => r.Profile is { Samples: > 0 }).ToList();
        Section(md, "Where the CPU goes",
            $"Measured with `--profile`: each pipeline process ran under Linux perf, sampling every thread's call stack {Profiler.Frequency} times a second (which slows it: its records/s above are lower than without). Of the samples taken during the measured run, each counts in the first part of the system that a frame of its stack names, from the innermost out: an allocation counts with the code that made it, framework code with its caller. The garbage collector's own threads count apart. CPU seconds are the samples over the sampling rate, all threads together; Azurite runs in a process of its own (Node.js) and is not sampled.",
            $"| part | {string.Join(" | ", profiled.Select(r => $"{r.Run}, {r.Dataset}"))} |\n|---|{string.Concat(profiled.Select(_ => "---:|"))}",
            profiled.Count == 0 ? [] : profiled.SelectMany(r => r.Profile!.Shares.Select(s => s.Part)).Distinct()
                .OrderByDescending(part => profiled.Sum(r => Share(r, part)))
                .Select(part => $"| {part} | {string.Join(" | ", profiled.Select(r => Share(r, part).ToString("P1", CultureInfo.InvariantCulture)))} |")
                .Append($"| CPU seconds sampled | {string.Join(" | ", profiled.Select(r => (r.Profile!.Samples / (double)Profiler.Frequency).ToString("N2", CultureInfo.InvariantCulture)))} |"));
        Section(md, "Cold runs",
            "The same dataset read first in a fresh process: what a system does just after it starts, compiling its code as it goes (every system runs with tiered compilation off, as the silo does).",
            "| run | dataset | cold records/s | measured records/s | cold / measured |\n|---|---|---:|---:|---:|",
            results.Where(r => r.ColdRecordsPerSecond is > 0)
                .Select(r => string.Create(CultureInfo.InvariantCulture, $"| {r.Run} | {r.Dataset} | {r.ColdRecordsPerSecond:N0} | {r.RecordsPerSecond:N0} | {r.ColdRecordsPerSecond / r.RecordsPerSecond:P0} |")));

        md.AppendLine().AppendLine("## How to read it").AppendLine();
        md.AppendLine("- records/s: records of the dataset divided by the time from the first record read from Kafka to the last processed (for the pipeline, until every partition's durable offset has reached the end: every effect persisted; the peer reads only `pageviews`, its job's input; the others read `pageviews` and `clicks`).");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Latency: from the record's Kafka timestamp (set when produced) to its effect (ceiling: consumed and parsed; pipeline: applied in the URL and user grains; peer: the window count updated), while valid views are produced at {LatencyRateText(options)}. Percentiles are interpolated in the pipeline's histogram buckets (as Prometheus' `histogram_quantile`), the same for every run.");
        md.AppendLine("- Peak memory: the measuring process's peak resident set (VmHWM). The embedded Kafka lives in the bench's parent process and is not counted.");
        md.AppendLine(CultureInfo.InvariantCulture, $"- The 1M-users dataset has {options.HighCardinalityViews:N0} views drawn from a million users, so most views are a user's first: it measures the cost of new keys.");
        md.AppendLine(CultureInfo.InvariantCulture, $"- The long dataset has {options.LongViews:N0} views over 32 partitions: each partition holds about as many records as in the 8-partition dataset (the embedded Kafka holds no more), so a run lasts about four times as long. Starting costs (activating grains, reading their state, opening stores) weigh less in it, and costs that grow as a run goes on (stores filling, transactions) weigh more.");
        return md.ToString();
    }

    /// <summary>A section with a table, written only when it has rows.</summary>
    private static void Section(StringBuilder md, string title, string intro, string header, IEnumerable<string> rows)
    {
        var lines = rows.ToList();
        if (lines.Count == 0)
        {
            return;
        }

        md.AppendLine().AppendLine("## " + title).AppendLine();
        md.AppendLine(intro).AppendLine();
        md.AppendLine(header);
        foreach (var line in lines)
        {
            md.AppendLine(line);
        }
    }

    /// <summary>The options a run was started with, as its command line gives them.</summary>
    private static string Arguments(BenchOptions options)
    {
        var args = new List<string>();
        args.AddRange(options.Views == BenchOptions.DefaultViews ? [] : ["--views", options.Views.ToString(CultureInfo.InvariantCulture)]);
        args.AddRange(options.Runs == BenchOptions.DefaultRuns ? [] : ["--runs", options.Runs.ToString(CultureInfo.InvariantCulture)]);
        args.AddRange(options.Profile ? ["--profile"] : []);
        args.AddRange(options.Only.Length == 0 ? [] : ["--only", string.Join(',', options.Only)]);
        args.AddRange(options.Datasets.Length == 0 ? [] : ["--datasets", $"\"{string.Join(';', options.Datasets)}\""]);
        args.AddRange(options.LatencyRate is { } rate ? ["--latency-rate", rate.ToString(CultureInfo.InvariantCulture)] : []);
        return args.Count == 0 ? string.Empty : " -- " + string.Join(' ', args);
    }

    private static string LatencyRateText(BenchOptions options) => options.LatencyRate is { } rate
        ? string.Create(CultureInfo.InvariantCulture, $"{rate:N0} records/s (`--latency-rate`), the same for every run")
        : "half the median rate of the measured runs (the reported rate)";

    private static string Range(RunResult run) =>
        run.RunRates is { Length: > 1 } rates ? string.Create(CultureInfo.InvariantCulture, $"{rates.Min():N0}–{rates.Max():N0}") : string.Empty;

    private static double Share(RunResult run, string part) =>
        run.Profile?.Shares.FirstOrDefault(s => s.Part == part)?.Fraction ?? 0;

    private static string Ratio(RunResult run, RunResult? baseline, bool percent) =>
        baseline is null || ReferenceEquals(run, baseline) || baseline.RecordsPerSecond <= 0
            ? string.Empty
            : percent
                ? (run.RecordsPerSecond / baseline.RecordsPerSecond).ToString("P0", CultureInfo.InvariantCulture)
                : (run.RecordsPerSecond / baseline.RecordsPerSecond).ToString("N1", CultureInfo.InvariantCulture) + "×";

    private static Multiplot Chart(IReadOnlyList<RunResult> results)
    {
        var labels = results.Select(r => $"{r.Run.Replace("OrleansStreams", "ours", StringComparison.Ordinal).Replace(" 1.8.2", string.Empty, StringComparison.Ordinal).Replace(", RocksDB", string.Empty, StringComparison.Ordinal)}\n{r.Dataset}").ToArray();
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        var throughput = multiplot.GetPlot(0);
        var latency = multiplot.GetPlot(1);

        var bars = throughput.Add.Bars(results.Select(r => r.RecordsPerSecond / 1000).ToArray());
        foreach (var (bar, r) in bars.Bars.Zip(results))
        {
            bar.FillColor = r.Correct ? Colors.SteelBlue : Colors.Red;
            bar.Label = r.RecordsPerSecond.ToString("N0", CultureInfo.InvariantCulture);
        }

        bars.ValueLabelStyle.FontSize = 10;
        throughput.Title("Sustained throughput (thousand records/s)");
        var positions = Enumerable.Range(0, results.Count).Select(i => (double)i).ToArray();
        LabelRuns(throughput, positions, labels);
        throughput.Axes.Margins(bottom: 0);

        var p50 = latency.Add.Bars(positions.Select(p => p - 0.2).ToArray(), results.Select(r => r.P50Ms ?? 0).ToArray());
        p50.LegendText = "p50";
        foreach (var bar in p50.Bars)
        {
            bar.Size = 0.4;
            bar.FillColor = Colors.SeaGreen;
        }

        var p99 = latency.Add.Bars(positions.Select(p => p + 0.2).ToArray(), results.Select(r => r.P99Ms ?? 0).ToArray());
        p99.LegendText = "p99";
        foreach (var bar in p99.Bars)
        {
            bar.Size = 0.4;
            bar.FillColor = Colors.DarkOrange;
        }

        latency.Title("Latency produce → effect at 50% of max rate (ms)");
        LabelRuns(latency, positions, labels);
        latency.ShowLegend(Alignment.UpperRight);
        return multiplot;
    }

    /// <summary>
    /// Names each bar's run under it, slanted to the right from its tick; the right margin keeps the last name in
    /// the picture.
    /// </summary>
    private static void LabelRuns(Plot plot, double[] positions, string[] labels)
    {
        plot.Axes.Bottom.SetTicks(positions, labels);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 20;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 170;
        plot.Axes.Right.MinimumSize = 150;
    }
}
