using OrleansStreams.Bench;

// `dotnet run -c Release --project bench/OrleansStreams.Bench [-- --quick]` runs every measurement and writes
// bench/results/. Each measurement runs in a child process of its own (`child <run> ...`), so that its peak
// memory is its own.
if (args is ["child", ..])
{
    var child = ChildArgs.Parse(args[1..]);
    // The second argument: null, or the rates of the measured runs before, to measure latency at half their median.
    Func<ChildArgs, IReadOnlyList<double>?, Task<RunResult>> measure = child.Run switch
    {
        "ceiling-raw" => (a, latencyAfter) => CeilingRun.RunAsync(a, parse: false, latencyAfter),
        "ceiling" => (a, latencyAfter) => CeilingRun.RunAsync(a, parse: true, latencyAfter),
        "pipeline" => PipelineRun.RunAsync,
        "streamiz-alos" => (a, latencyAfter) => StreamizRun.RunAsync(a, exactlyOnce: false, latencyAfter),
        "streamiz-eos" => (a, latencyAfter) => StreamizRun.RunAsync(a, exactlyOnce: true, latencyAfter),
        _ => throw new ArgumentException($"Unknown run '{child.Run}'."),
    };

    // First the same dataset on another Kafka, in this fresh process (code not yet compiled, caches empty); then the
    // measured runs, each with fresh state, as a service that has been running reads its input; the last one goes
    // on to measure latency, at half the median rate of them all. The run of median rate is reported, with the latency
    // of the last.
    var cold = await measure(child.Cold, null);
    var runs = new List<RunResult>();
    foreach (var repeat in child.Repeats)
    {
        runs.Add(await measure(repeat, null));
    }

    var last = await measure(child, [.. runs.Select(r => r.RecordsPerSecond)]);
    runs.Add(last);
    var median = RunResult.Median(runs, r => r.RecordsPerSecond);
    var failed = runs.Prepend(cold).Where(r => !r.Correct).Select(r => r.Checks).ToList();
    Console.WriteLine((median with
    {
        LatencyRate = last.LatencyRate,
        P50Ms = last.P50Ms,
        P99Ms = last.P99Ms,
        PeakMemoryMb = ProcessStats.PeakMemoryMb(),
        ColdRecordsPerSecond = cold.RecordsPerSecond,
        RunRates = [.. runs.Select(r => r.RecordsPerSecond)],
        Correct = failed.Count == 0,
        Checks = failed.Count == 0 ? $"{last.Checks}, and the other {runs.Count} runs' too" : string.Join("; ", failed),
    }).ToLine());

    // Without waiting for threads a system left behind (a Streamiz stream thread that never stopped).
    Console.Out.Flush();
    Environment.Exit(0);
}

if (args is ["table-reads", ..])
{
    return await TableReadsRun.RunAsync(BenchOptions.Parse(args[1..]).OutputFolder);
}

if (args is ["state-writes", ..])
{
    return StateWritesRun.Run(BenchOptions.Parse(args[1..]).OutputFolder);
}

if (args is ["render", var saved])
{
    Report.Render(saved);
    return 0;
}

return await Orchestrator.RunAsync(BenchOptions.Parse(args));
