using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using OrleansStreams.Grains;
using OrleansStreams.Grains.Core;

namespace OrleansStreams.Bench;

/// <summary>
/// What a grain's state costs each time it is written, in its two parts that grow with the traffic a grain receives:
/// a user's join buffer, in the packed format the grains store (<see cref="JoinBufferFormat"/>), against the baseline
/// it replaced (the same entries as objects, written by the Orleans serializer); and the event ids a grain keeps to
/// count an event produced twice once (<c>Processing:EventIdDedupHorizon</c>). Under steady traffic every grain's
/// state is written whole once per commit interval.
/// </summary>
public static class StateWritesRun
{
    public const string MarkdownFile = "state-writes.md";

    private const int Urls = 1_000;
    private static readonly TimeSpan PassTime = TimeSpan.FromMilliseconds(500);

    public static int Run(string outputFolder)
    {
        var serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();
        var md = new StringBuilder();
        md.AppendLine("# Writing grain state").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC with `dotnet run -c Release --project bench/OrleansStreams.Bench -- state-writes`.").AppendLine();
        md.AppendLine(Machine.Describe()).AppendLine();
        md.AppendLine("## A user's join buffer").AppendLine();
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

        md.AppendLine().AppendLine("## Event ids kept to count an event produced twice once").AppendLine();
        md.AppendLine("A grain receiving events that carry an `event_id` keeps each id, with its event time, for `Processing:EventIdDedupHorizon` of event time (10 minutes by default), in its state, which is written whole: ids of the form the bench's producers would send (`v:` and a UUID), a user's state holding nothing else, written by the Orleans serializer as the grain storage writes it. Each figure is the best of three passes after one that is not timed.").AppendLine();
        md.AppendLine("| events per second per grain | horizon | ids kept | ms per state write | bytes |");
        md.AppendLine("|---:|---:|---:|---:|---:|");
        foreach (var (perSecond, horizon) in new[] { (10, TimeSpan.FromMinutes(10)), (100, TimeSpan.FromMinutes(1)), (100, TimeSpan.FromMinutes(10)) })
        {
            var ids = (int)(perSecond * horizon.TotalSeconds);
            var state = new UserState();
            for (var i = 0; i < ids; i++)
            {
                state.RecentEventIds["v:" + Guid.NewGuid()] = 1_700_000_000_000 + (i * 1_000L / perSecond);
            }

            var bytes = serializer.SerializeToArray(state).Length;
            var ms = NanosecondsPer(1, () => serializer.SerializeToArray(state)) / 1e6;
            md.AppendLine(CultureInfo.InvariantCulture, $"| {perSecond:N0} | {horizon.TotalMinutes:N0} min | {ids:N0} | {ms:N2} | {bytes:N0} |");
            Console.WriteLine($"{perSecond} events/s per grain, horizon {horizon.TotalMinutes} min: {ids:N0} ids kept, {ms:N2} ms and {bytes:N0} bytes per state write");
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
