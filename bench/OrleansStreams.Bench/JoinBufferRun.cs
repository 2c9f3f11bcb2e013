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
        md.AppendLine(CultureInfo.InvariantCulture, $"A buffer holds views over {Urls:N0} URLs (as the bench's datasets), clicks for a tenth of them and a fifteenth of the views joined; a user's buffer keeps what arrived within the join window and its grace (15 s by default), so 1,500 entries is a user receiving 100 views a second. Each figure is the best of three passes of {PassTime.TotalMilliseconds:N0} ms, after a pass that is not timed. The baseline writes the same entries as objects with the Orleans serializer, as grain states held them before the packed format.").AppendLine();
        md.AppendLine("| entries | event ids | packed: write ns/entry | read ns/entry | bytes/entry | baseline, objects: write ns/entry | bytes/entry |");
        md.AppendLine("|---:|---|---:|---:|---:|---:|---:|");
        foreach (var (views, eventIds) in new[] { (100, false), (1_500, false), (10_000, false), (1_500, true) })
        {
            var buffer = Buffer(views, eventIds);
            var entries = buffer.Views.Count + buffer.Clicks.Count;
            var packed = JoinBufferFormat.Write(buffer);
            var objects = serializer.SerializeToArray((buffer.Views, buffer.Clicks));
            var write = NanosecondsPer(entries, () => JoinBufferFormat.Write(buffer));
            var read = NanosecondsPer(entries, () => JoinBufferFormat.Read(packed));
            var baseline = NanosecondsPer(entries, () => serializer.SerializeToArray((buffer.Views, buffer.Clicks)));
            md.AppendLine(CultureInfo.InvariantCulture, $"| {entries:N0} | {(eventIds ? "yes (36 characters)" : "no")} | {write:N1} | {read:N1} | {(double)packed.Length / entries:N1} | {baseline:N1} | {(double)objects.Length / entries:N1} |");
            Console.WriteLine($"{entries:N0} entries{(eventIds ? " with event ids" : string.Empty)}: packed write {write:N1} ns/entry, read {read:N1}, {(double)packed.Length / entries:N1} bytes/entry; baseline write {baseline:N1} ns/entry, {(double)objects.Length / entries:N1} bytes/entry");
        }

        Directory.CreateDirectory(outputFolder);
        File.WriteAllText(Path.Combine(outputFolder, MarkdownFile), md.ToString());
        Console.WriteLine($"Results: {Path.Combine(outputFolder, MarkdownFile)}");
        return 0;
    }

    private static JoinBufferState Buffer(int views, bool eventIds)
    {
        var random = new Random(7);
        var buffer = new JoinBufferState { Watermark = 1_700_000_000_000 };
        var time = buffer.Watermark;
        for (var i = 0; i < views; i++)
        {
            time += random.Next(0, 20);
            buffer.Views.Add(new(Dataset.Url(random.Next(Urls)), time, eventIds ? Guid.NewGuid().ToString() : null));
            if (i % 15 == 0)
            {
                buffer.Matched.Add(buffer.Views[^1]);
            }

            if (i % 10 == 0)
            {
                buffer.Clicks.Add(new(buffer.Views[^1].Url, time + random.Next(0, 5_000), eventIds ? Guid.NewGuid().ToString() : null));
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
