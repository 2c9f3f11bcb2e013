using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Orleans;
using Orleans.Runtime;
using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Client;

/// <summary>What the CLI verbs do, against a connected cluster.</summary>
internal sealed class Commands(IClusterClient cluster, IConfiguration config, TextWriter output)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public async Task<int> SendAsync(string kind, string user, string url, double? time, string? eventId)
    {
        var now = time ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var (topic, value) = kind switch
        {
            "pageview" => (Topics.PageViews, JsonSerializer.SerializeToUtf8Bytes(new PageView(user, url, now, eventId))),
            "click" => (Topics.Clicks, JsonSerializer.SerializeToUtf8Bytes(new ClickEvent(user, url, now, eventId))),
            _ => throw new ArgumentException($"'{kind}' is neither pageview nor click."),
        };
        using var producer = await ProducerAsync();
        var result = await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = user, Value = value });
        output.WriteLine($"Sent {kind} of {user} on {url} at {now.ToString("0.000", CultureInfo.InvariantCulture)} to {topic}[{result.Partition.Value}]@{result.Offset.Value}");
        return 0;
    }

    public async Task<int> GenerateAsync(int rate, TimeSpan duration, int users, int urls, CancellationToken cancellationToken)
    {
        using var producer = await ProducerAsync();
        var random = new Random();
        var stopwatch = Stopwatch.StartNew();
        long sent = 0;
        var lastReport = TimeSpan.Zero;
        while (stopwatch.Elapsed < duration && !cancellationToken.IsCancellationRequested)
        {
            var due = (long)(stopwatch.Elapsed.TotalSeconds * rate);
            for (; sent < due; sent++)
            {
                var user = $"user-{random.Next(users)}";
                var view = new PageView(user, $"/page/{(int)Math.Floor(Math.Pow(random.NextDouble(), 2) * urls)}", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
                ProduceWithBackpressure(producer, Topics.PageViews, user, JsonSerializer.SerializeToUtf8Bytes(view));
            }

            if (stopwatch.Elapsed - lastReport >= TimeSpan.FromSeconds(1))
            {
                lastReport = stopwatch.Elapsed;
                output.Write($"\r{lastReport:mm\\:ss}  sent {sent,10:N0}  rate {sent / Math.Max(0.001, lastReport.TotalSeconds),10:N0}/s   ");
            }

            await Task.Delay(10, CancellationToken.None);
        }

        producer.Flush(TimeSpan.FromSeconds(30));
        output.WriteLine();
        output.WriteLine($"Sent {sent:N0} page views in {stopwatch.Elapsed.TotalSeconds:0.0} s ({sent / Math.Max(0.001, stopwatch.Elapsed.TotalSeconds):N0}/s).");
        return 0;
    }

    public async Task<int> UrlAsync(string url, int last)
    {
        var grain = cluster.GetGrain<IUrlGrain>(url);
        var totals = await grain.GetTotalsAsync();
        var conversions = await grain.GetConversionsAsync();
        var windows = await grain.GetWindowsAsync(last);
        output.WriteLine($"{url}: {totals.Total} views, {conversions.Conversions} conversions ({conversions.Rate:P1})");
        foreach (var window in windows.Open)
        {
            output.WriteLine($"  open    {Time(window.WindowStart)} .. {Time(window.WindowEnd)}  {window.Count,8}");
        }

        foreach (var window in windows.Closed)
        {
            output.WriteLine($"  closed  {Time(window.WindowStart)} .. {Time(window.WindowEnd)}  {window.Count,8}");
        }

        return 0;
    }

    public async Task<int> TopAsync(int count)
    {
        foreach (var entry in await cluster.GetGrain<IUrlIndexGrain>(0).TopAsync(count))
        {
            output.WriteLine($"{entry.Total,10}  {entry.Url}");
        }

        return 0;
    }

    public async Task<int> UserAsync(string id)
    {
        var profile = await cluster.GetGrain<IUserGrain>(id).GetProfileAsync();
        output.WriteLine($"{id}: {profile.Views} views, {profile.Clicks} clicks, {profile.Conversions} conversions");
        foreach (var conversion in profile.RecentConversions)
        {
            output.WriteLine($"  {conversion.Url}: viewed {Time(conversion.ViewTime)}, clicked {(conversion.ClickTime is { } c ? Time(c) : "-")}");
        }

        return 0;
    }

    public async Task<int> DeadLetterListAsync(string? reason, int limit)
    {
        foreach (var deadLetter in await DeadLetters.ListAsync(cluster, reason, limit))
        {
            var payload = deadLetter.Payload is null ? "null" : Encoding.UTF8.GetString(deadLetter.Payload, 0, Math.Min(deadLetter.Payload.Length, 80));
            output.WriteLine($"{deadLetter.Id,-28} {deadLetter.Reason,-16} {deadLetter.Error}  [{payload}]");
        }

        return 0;
    }

    public async Task<int> DeadLetterStatsAsync()
    {
        var stats = await DeadLetters.StatsAsync(cluster);
        output.WriteLine($"total {stats.Total}");
        foreach (var (reason, count) in stats.ByReason.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {reason,-16} {count}");
        }

        return 0;
    }

    public async Task<int> DeadLetterReplayAsync(string[] ids)
    {
        var kafka = await KafkaAsync();
        using var kafkaOutput = new KafkaOutput(Options(kafka));
        var replayed = await DeadLetters.ReplayAsync(cluster, kafkaOutput, ids);
        output.WriteLine($"Replayed {replayed.Length} of {ids.Length}: {string.Join(", ", replayed)}");
        return replayed.Length == ids.Length ? 0 : 1;
    }

    public async Task<int> StatusAsync()
    {
        var hosts = await cluster.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        output.WriteLine($"Silos ({hosts.Count}):");
        foreach (var (silo, status) in hosts.OrderBy(h => h.Key.ToString(), StringComparer.Ordinal))
        {
            output.WriteLine($"  {silo}  {status}");
        }

        var kafka = await KafkaAsync();
        output.WriteLine($"Kafka {kafka.BootstrapServers}");
        output.WriteLine($"  {"partition",-16} {"silo",-36} {"durable",10} {"end",10} {"lag",8}");
        foreach (var topic in kafka.Topics)
        {
            var statuses = await Task.WhenAll(Enumerable.Range(0, topic.Partitions)
                .Select(p => KafkaCheckpoints.Get(cluster, Topics.StreamProvider, topic.Topic, p).GetStatusAsync()));
            for (var p = 0; p < statuses.Length; p++)
            {
                var s = statuses[p];
                output.WriteLine($"  {$"{topic.Topic}[{p}]",-16} {s.Reader ?? "-",-36} {s.DurableOffset,10} {s.LogEndOffset,10} {(s.Lag is { } lag ? lag.ToString(CultureInfo.InvariantCulture) : "-"),8}");
            }
        }

        return 0;
    }

    private async Task<KafkaInfo> KafkaAsync()
    {
        var info = await cluster.GetGrain<IClusterInfoGrain>(0).GetKafkaAsync();
        return config["Kafka:BootstrapServers"] is { Length: > 0 } configured ? info with { BootstrapServers = configured } : info;
    }

    private async Task<IProducer<string, byte[]>> ProducerAsync() =>
        new ProducerBuilder<string, byte[]>(KafkaClientConfigs.Producer(Options(await KafkaAsync()))).Build();

    private static KafkaStreamOptions Options(KafkaInfo kafka) =>
        new() { BootstrapServers = kafka.BootstrapServers, Topics = [.. kafka.Topics.Select(t => t.Topic)] };

    private static void ProduceWithBackpressure(IProducer<string, byte[]> producer, string topic, string key, byte[] value)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, new Message<string, byte[]> { Key = key, Value = value });
                return;
            }
            catch (ProduceException<string, byte[]> ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    private static string Time(double epochSeconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds((long)(epochSeconds * 1000)).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
