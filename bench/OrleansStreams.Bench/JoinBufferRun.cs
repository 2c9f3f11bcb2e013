using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using OrleansStreams.Grains.Core;

namespace OrleansStreams.Bench;

/// <summary>
/// What a user's join buffer costs each time its state is written, in the packed format the grains store
/// (<see cref="JoinBufferFormat"/>), against the baseline it replaced: the same entries as objects, written by the
/// Orleans serializer. Under steady traffic every user's state is written once per commit interval, buffer and all.
/// </summary>
public static class JoinBufferRun
{
    public const string MarkdownFile = "join-buffer.md";

    private const int Urls = 1_000;
    private static readonly TimeSpan PassTime = TimeSpan.FromMilliseconds(500);

    public static int Run(string outputFolder)
    {
        var serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();
        var md = new StringBuilder();
        md.AppendLine("# Writing a user's join buffer").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC with `dotnet run -c Release --project bench/OrleansStreams.Bench -- join-buffer`.").AppendLine();
        md.AppendLine(Machine.Describe()).AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"A buffer holds views over {Urls:N0} URLs (as the bench's datasets), clicks for a tenth of them (each joining the view before it), filled through the join as a user grain fills it; a user's buffer keeps what arrived within the join window and its grace (15 s by default), so 1,500 entries is a user receiving 100 views a second. Each figure is the best of three passes of {PassTime.TotalMilliseconds:N0} ms, after a pass that is not timed. A buffer a join works on is written with the URL of each entry read off the join's index; *without the join's index* is the same buffer written by looking each entry's URL up, as a buffer no join works on is. The baseline writes the same entries as objects with the Orleans serializer, as grain states held them before the packed format.").AppendLine();
        md.AppendLine("| entries | event ids | packed: write ns/entry | without the join's index | read ns/entry | bytes/entry | baseline, objects: write ns/entry | bytes/entry |");
        md.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (views, eventIds) in new[] { (100, false), (1_500, false), (10_000, false), (1_500, true) })
        {
            var buffer = Buffer(views, eventIds);
            var entries = buffer.Views.Count + buffer.Clicks.Count;
            var packed = JoinBufferFormat.Write(buffer);
            var objects = serializer.SerializeToArray((buffer.Views, buffer.Clicks));
            var write = NanosecondsPer(entries, () => JoinBufferFormat.Write(buffer));
            var detached = new JoinBufferState { Views = buffer.Views, Clicks = buffer.Clicks, Matched = buffer.Matched, Watermark = buffer.Watermark };
            var lookedUp = NanosecondsPer(entries, () => JoinBufferFormat.Write(detached));
            var read = NanosecondsPer(entries, () => JoinBufferFormat.Read(packed));
            var baseline = NanosecondsPer(entries, () => serializer.SerializeToArray((buffer.Views, buffer.Clicks)));
            md.AppendLine(CultureInfo.InvariantCulture, $"| {entries:N0} | {(eventIds ? "yes (36 characters)" : "no")} | {write:N1} | {lookedUp:N1} | {read:N1} | {(double)packed.Length / entries:N1} | {baseline:N1} | {(double)objects.Length / entries:N1} |");
            Console.WriteLine($"{entries:N0} entries{(eventIds ? " with event ids" : string.Empty)}: packed write {write:N1} ns/entry ({lookedUp:N1} without the join's index), read {read:N1}, {(double)packed.Length / entries:N1} bytes/entry; baseline write {baseline:N1} ns/entry, {(double)objects.Length / entries:N1} bytes/entry");
        }

        Directory.CreateDirectory(outputFolder);
        File.WriteAllText(Path.Combine(outputFolder, MarkdownFile), md.ToString());
        Console.WriteLine($"Results: {Path.Combine(outputFolder, MarkdownFile)}");
        return 0;
    }

    /// <summary>
    /// A buffer as a user grain holds it: filled through the join, which indexes it by URL, with one string per URL
    /// (the parser hands out one per URL, mostly).
    /// </summary>
    private static JoinBufferState Buffer(int views, bool eventIds)
    {
        var random = new Random(7);
        var urls = Enumerable.Range(0, Urls).Select(Dataset.Url).ToArray();
        var buffer = new JoinBufferState();
        var join = new IntervalJoin(withinMs: 5_000, graceMs: 10_000, buffer);
        var time = 1_700_000_000_000L;
        for (var i = 0; i < views; i++)
        {
            time += random.Next(0, 20);
            var url = urls[random.Next(Urls)];
            join.AddView(new(url, time, eventIds ? Guid.NewGuid().ToString() : null));
            if (i % 10 == 0)
            {
                join.AddClick(new(url, time + random.Next(0, 5_000), eventIds ? Guid.NewGuid().ToString() : null));
            }
        }

        return buffer;
    }

    /// <summary>The best of three timed passes, in nanoseconds per entry.</summary>
    private static double NanosecondsPer(int entries, Action write)
    {
        var best = double.MaxValue;
        for (var pass = 0; pass < 4; pass++)
        {
            var clock = Stopwatch.StartNew();
            var times = 0;
            while (clock.Elapsed < PassTime)
            {
                write();
                times++;
            }

            best = pass == 0 ? best : Math.Min(best, clock.Elapsed.TotalNanoseconds / times / entries);
        }

        return best;
    }
}
