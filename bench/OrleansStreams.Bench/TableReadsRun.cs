using System.Diagnostics;
using System.Globalization;
using System.Text;
using Azure.Data.Tables;
using OrleansStreams.Grains;
using OrleansStreams.Silo.Storage;
using OrleansStreams.Tests.Infrastructure;

namespace OrleansStreams.Bench;

/// <summary>
/// How reading grain state from Azure Table storage scales with what the table holds, on Azurite: the storage's reads
/// (point queries, a row by its two keys) against the baseline they replaced, queries of up to 14 rows of one partition
/// with their row keys joined by <c>or</c>, which the service answers by scanning the partition.
/// </summary>
public static class TableReadsRun
{
    public const string MarkdownFile = "table-reads.md";

    private const int Reads = 2_000;
    private const int RowsPerQuery = 14;
    private const int InFlight = 16;
    private static readonly int[] TableRows = [2_000, 50_000, 200_000];

    public static async Task<int> RunAsync(string outputFolder)
    {
        await using var azurite = await Azurite.StartAsync();
        var md = new StringBuilder();
        md.AppendLine("# Reading grain state from Azure Table storage").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC with `dotnet run -c Release --project bench/OrleansStreams.Bench -- table-reads`, against Azurite {Azurite.Version} (in memory).").AppendLine();
        md.AppendLine(Machine.Describe()).AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"For each size, a table of its own holds that many user grains' states over the storage's {TableBatchGrainStorage.DefaultPartitions} partitions; then the states of {Reads:N0} grains drawn at random, half of which were never written, are read, {InFlight} requests at a time, first as the storage reads them (a point query for each grain), then as the baseline, queries of up to {RowsPerQuery} rows of one partition whose row keys are joined by `or` (rows only, not deserialized). Each figure is the better of two passes, after a first round at the smallest size that is not timed (code compiled, connections open).").AppendLine();
        md.AppendLine("| rows in the table | rows per partition | point queries: ms | reads/s | baseline, `or` queries: ms | reads/s |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|");
        var random = new Random(7);
        // The first size is read once more before it is timed: this process's code and Azurite's are compiled by then.
        foreach (var (rows, timed) in TableRows.Take(1).Select(r => (r, false)).Concat(TableRows.Select(r => (r, true))))
        {
            var table = new TableServiceClient(azurite.ConnectionString).GetTableClient(string.Create(CultureInfo.InvariantCulture, $"{(timed ? "reads" : "warmup")}{rows}"));
            var storage = StandaloneTableStorage.Create(table, "bench", TableBatchGrainStorage.DefaultPartitions, InFlight);
            await Task.WhenAll(Enumerable.Range(0, rows).Select(i => storage.WriteStateAsync("user", UserId(i), new GrainState<UserState>(new UserState { Views = i }))));
            var drawn = Enumerable.Range(0, Reads).Select(_ => random.Next(rows * 2)).ToArray();
            var point = double.MaxValue;
            var baseline = double.MaxValue;
            for (var pass = 0; pass < 2; pass++)
            {
                point = Math.Min(point, await TimeAsync(() => PointReadsAsync(storage, drawn, rows)));
                baseline = Math.Min(baseline, await TimeAsync(() => OrQueriesAsync(table, storage, drawn)));
            }

            await table.DeleteAsync();
            if (!timed)
            {
                continue;
            }

            md.AppendLine(CultureInfo.InvariantCulture, $"| {rows:N0} | {rows / TableBatchGrainStorage.DefaultPartitions:N0} | {point:N0} | {Reads * 1000 / point:N0} | {baseline:N0} | {Reads * 1000 / baseline:N0} |");
            Console.WriteLine($"{rows:N0} rows: point queries {point:N0} ms, or queries {baseline:N0} ms");
        }

        Directory.CreateDirectory(outputFolder);
        var path = Path.Combine(outputFolder, MarkdownFile);
        await File.WriteAllTextAsync(path, md.ToString());
        Console.WriteLine($"Results: {path}");
        return 0;
    }

    private static GrainId UserId(int i) => GrainId.Create("user", string.Create(CultureInfo.InvariantCulture, $"user-{i}"));

    private static async Task<double> TimeAsync(Func<Task> reads)
    {
        var watch = Stopwatch.StartNew();
        await reads();
        return watch.Elapsed.TotalMilliseconds;
    }

    /// <summary>The storage's own reads, checked: a grain of the <paramref name="rows"/> written has its state, the others none.</summary>
    private static async Task PointReadsAsync(TableBatchGrainStorage storage, int[] drawn, int rows)
    {
        var states = drawn.Select(_ => new GrainState<UserState>()).ToArray();
        await Task.WhenAll(drawn.Select((i, n) => storage.ReadStateAsync("user", UserId(i), states[n])));
        var wrong = drawn.Where((i, n) => states[n].RecordExists != i < rows || states[n].State!.Views != (i < rows ? i : 0)).Count();
        if (wrong > 0)
        {
            throw new InvalidOperationException($"{wrong} of {drawn.Length} point reads returned the wrong state.");
        }
    }

    /// <summary>The baseline: the same rows read by queries of up to 14 row keys of one partition joined by <c>or</c>.</summary>
    private static async Task OrQueriesAsync(TableClient table, TableBatchGrainStorage storage, int[] drawn)
    {
        using var inFlight = new SemaphoreSlim(InFlight);
        var queries = drawn.Select(i => storage.RowOf("user", UserId(i))).Distinct()
            .GroupBy(row => row.PartitionKey)
            .SelectMany(partition => partition.Chunk(RowsPerQuery))
            .Select(chunk => TableClient.CreateQueryFilter($"PartitionKey eq {chunk[0].PartitionKey}") + " and ("
                + string.Join(" or ", chunk.Select(row => TableClient.CreateQueryFilter($"RowKey eq {row.RowKey}"))) + ")");
        await Task.WhenAll(queries.Select(async filter =>
        {
            await inFlight.WaitAsync();
            try
            {
                await foreach (var _ in table.QueryAsync<TableEntity>(filter))
                {
                }
            }
            finally
            {
                inFlight.Release();
            }
        }));
    }
}
