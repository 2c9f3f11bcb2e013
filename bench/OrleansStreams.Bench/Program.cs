using OrleansStreams.Bench;

// `dotnet run -c Release --project bench/OrleansStreams.Bench [-- --quick]` runs every measurement and writes
// bench/results/. Each measurement runs in a child process of its own (`child <run> ...`), so that its peak
// memory is its own.
if (args is ["child", ..])
{
    var child = ChildArgs.Parse(args[1..]);
    var result = child.Run switch
    {
        "ceiling-raw" => await CeilingRun.RunAsync(child, parse: false),
        "ceiling" => await CeilingRun.RunAsync(child, parse: true),
        "pipeline" => await PipelineRun.RunAsync(child),
        "streamiz-alos" => await StreamizRun.RunAsync(child, exactlyOnce: false),
        "streamiz-eos" => await StreamizRun.RunAsync(child, exactlyOnce: true),
        _ => throw new ArgumentException($"Unknown run '{child.Run}'."),
    };
    Console.WriteLine(result.ToLine());
    return 0;
}

if (args is ["render", var saved])
{
    Report.Render(saved);
    return 0;
}

return await Orchestrator.RunAsync(BenchOptions.Parse(args));
