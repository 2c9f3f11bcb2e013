using OrleansStreams.Bench;

// `dotnet run -c Release --project bench/OrleansStreams.Bench [-- --quick]` runs every measurement and writes
// bench/results/. Each measurement runs in a child process of its own (`child <run> ...`), so that its peak
// memory is its own.
if (args is ["child", ..])
{
    var child = ChildArgs.Parse(args[1..]);
    Func<ChildArgs, bool, Task<RunResult>> measure = child.Run switch
    {
        "ceiling-raw" => (a, latency) => CeilingRun.RunAsync(a, parse: false, latency),
        "ceiling" => (a, latency) => CeilingRun.RunAsync(a, parse: true, latency),
        "pipeline" => PipelineRun.RunAsync,
        "streamiz-alos" => (a, latency) => StreamizRun.RunAsync(a, exactlyOnce: false, latency),
        "streamiz-eos" => (a, latency) => StreamizRun.RunAsync(a, exactlyOnce: true, latency),
        _ => throw new ArgumentException($"Unknown run '{child.Run}'."),
    };

    // First the same dataset on the other Kafka, in this fresh process (code not yet compiled, caches empty); then
    // the measured run, with fresh state, as a service that has been running reads its input.
    var cold = await measure(child.Cold, false);
    var result = await measure(child, true);
    Console.WriteLine((result with
    {
        ColdRecordsPerSecond = cold.RecordsPerSecond,
        Correct = cold.Correct && result.Correct,
        Checks = cold.Correct ? result.Checks : $"{result.Checks}; cold run: {cold.Checks}",
    }).ToLine());

    // Without waiting for threads a system left behind (a Streamiz stream thread that never stopped).
    Console.Out.Flush();
    Environment.Exit(0);
}

if (args is ["render", var saved])
{
    Report.Render(saved);
    return 0;
}

return await Orchestrator.RunAsync(BenchOptions.Parse(args));
