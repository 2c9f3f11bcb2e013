using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using OrleansStreams.Client;
using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka.Embedded;
using OrleansStreams.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansStreams.Tests.Faults;

/// <summary>
/// Two real silo processes, clustered through Azure Table storage on Azurite, reading the embedded Kafka of the
/// test process over TCP.
/// </summary>
public sealed class SiloProcessTests(ITestOutputHelper output)
{
    private const int Partitions = TestKafka.Partitions;

    [Fact]
    public async Task partitions_spread_when_a_second_silo_joins_and_move_back_when_it_is_killed_with_totals_exact()
    {
        using var kafka = TestKafka.Start();

        await using var azurite = await Azurite.StartAsync();
        var cluster = "procs-" + Guid.NewGuid().ToString("N")[..8];
        using var first = SiloProcess.Start(kafka, azurite, cluster, output);
        await first.WaitReadyAsync();

        var views = KafkaTestData.PageViews(30_000, urls: 50, users: 1_000, seed: 3);
        var producing = Task.Run(async () =>
        {
            foreach (var chunk in views.Chunk(1_000))
            {
                await KafkaTestData.ProduceViewsAsync(kafka.BootstrapServers, chunk);
                await Task.Delay(200);
            }
        });

        using var second = SiloProcess.Start(kafka, azurite, cluster, output);
        await second.WaitReadyAsync();

        // While both run, the partitions are spread over both.
        var readers = await Eventually.Until(
            () => ReadersAsync(first, cluster),
            r => r.Count == 2 * Partitions && r.Values.Distinct().Count() == 2,
            TimeSpan.FromSeconds(90),
            "partitions read by both silos");
        Assert.Equal(2 * Partitions, readers.Count);

        await Eventually.Until(() => TotalAsync(first), n => n >= 10_000, TimeSpan.FromSeconds(120), "a third of the stream counted");
        second.Kill();
        await producing;

        var expected = views.GroupBy(v => v.Url).ToDictionary(g => g.Key, g => (long)g.Count());
        try
        {
            await Eventually.Until(() => TotalAsync(first), n => n >= views.Count, TimeSpan.FromMinutes(3), "every view counted by the survivor");
        }
        catch (TimeoutException ex)
        {
            // Tell a short top list from lost counts: the URLs' own totals, each read from its grain.
            var own = await Task.WhenAll(expected.Keys.Select(url => UrlTotalAsync(first, url)));
            throw new TimeoutException($"{ex.Message}; the URLs' own totals add up to {own.Sum()}; status:\n{await StatusAsync(first, cluster)}", ex);
        }
        await Task.Delay(2_000);
        var totals = new Dictionary<string, long>();
        foreach (var url in expected.Keys)
        {
            // A URL grain that lived on the killed silo is unavailable (503) until the cluster declares that silo dead.
            totals[url] = await Eventually.Until(() => UrlTotalAsync(first, url), _ => true, TimeSpan.FromSeconds(60), $"{url} readable");
        }

        Assert.Equal(expected, totals);

        // Every partition, busy or not, ends up read by the survivor.
        await Eventually.Until(() => ReadersAsync(first, cluster), r => r.Count == 2 * Partitions && r.Values.Distinct().Count() == 1, TimeSpan.FromSeconds(60), "every partition read by the survivor");
    }

    private static async Task<long> TotalAsync(SiloProcess silo)
    {
        using var http = new HttpClient { BaseAddress = silo.Http };
        var top = await http.GetFromJsonAsync<JsonElement>("/api/urls?top=100");
        return top.EnumerateArray().Sum(u => u.GetProperty("total").GetInt64());
    }

    private static async Task<long> UrlTotalAsync(SiloProcess silo, string url)
    {
        using var http = new HttpClient { BaseAddress = silo.Http };
        using var response = await http.GetAsync("/api/urls/" + Uri.EscapeDataString(url));
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            throw new HttpRequestException($"{url}: 503, retry after {response.Headers.RetryAfter}");
        }

        // Anything else (a 500) is a failure; the wait ends with it as the last thing seen.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        return json.GetProperty("total").GetInt64();
    }

    /// <summary>Partition → silo reading it, from the CLI's <c>status</c>.</summary>
    private static async Task<Dictionary<string, string>> ReadersAsync(SiloProcess silo, string cluster) =>
        (await StatusAsync(silo, cluster)).Split('\n')
            .Select(l => l.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length >= 2 && (p[0].StartsWith("pageviews[", StringComparison.Ordinal) || p[0].StartsWith("clicks[", StringComparison.Ordinal)) && p[1].StartsWith('S'))
            .ToDictionary(p => p[0], p => p[1]);

    /// <summary>What the CLI's <c>status</c> prints.</summary>
    private static async Task<string> StatusAsync(SiloProcess silo, string cluster)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Orleans:Gateways"] = $"127.0.0.1:{silo.GatewayPort}",
            ["Orleans:ClusterId"] = cluster,
            ["Orleans:ServiceId"] = cluster,
        }).Build();
        await CliApp.RunAsync(["status"], output, errors, config);
        return output.ToString();
    }

    /// <summary>A silo started as its own process, as users run it.</summary>
    private sealed class SiloProcess : IDisposable
    {
        private const int TailLines = 300;
        private readonly Process _process;
        private readonly Queue<string> _tail = new();
        private readonly ITestOutputHelper _output;
        private readonly string _logPath = Path.Combine(Path.GetTempPath(), "orleansstreams-test-logs", $"silo-{Guid.NewGuid():N}.log");
        private readonly StreamWriter _log;

        private SiloProcess(Process process, Uri http, int gatewayPort, ITestOutputHelper output)
        {
            _process = process;
            _output = output;
            Directory.CreateDirectory(Path.GetDirectoryName(_logPath)!);
            _log = new StreamWriter(_logPath) { AutoFlush = true };
            Http = http;
            GatewayPort = gatewayPort;
        }

        public Uri Http { get; }

        public int GatewayPort { get; }

        public static SiloProcess Start(EmbeddedKafkaCluster kafka, Azurite azurite, string cluster, ITestOutputHelper output)
        {
            var testBin = AppContext.BaseDirectory;
            var configuration = new DirectoryInfo(testBin.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
            var dll = Path.Combine(RepositoryPaths.Root, "src", "Silo", "bin", configuration, "net10.0", "OrleansStreams.Silo.dll");
            Assert.True(File.Exists(dll), $"The silo is not built at {dll}");
            var httpPort = FreePort.Next();
            var gatewayPort = FreePort.Next();
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(dll)! };
            start.ArgumentList.Add(dll);
            var env = new Dictionary<string, string>
            {
                ["Urls"] = $"http://127.0.0.1:{httpPort}",
                ["Kafka__BootstrapServers"] = kafka.BootstrapServers,
                ["Storage__Provider"] = "AzureTable",
                ["Storage__ConnectionString"] = azurite.ConnectionString,
                ["Clustering__Provider"] = "AzureTable",
                ["Orleans__SiloPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
                ["Orleans__GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
                ["Orleans__ClusterId"] = cluster,
                ["Orleans__ServiceId"] = cluster,
                ["Generator__Enabled"] = "false",
                ["Reporter__Interval"] = "00:00:00",
                ["Logging__LogLevel__Default"] = "Warning",
            };
            foreach (var (key, value) in env)
            {
                start.Environment[key] = value;
            }

            var process = Process.Start(start)!;
            var silo = new SiloProcess(process, new Uri($"http://127.0.0.1:{httpPort}"), gatewayPort, output);
            process.OutputDataReceived += (_, e) => silo.Keep(e.Data);
            process.ErrorDataReceived += (_, e) => silo.Keep(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return silo;
        }

        private void Keep(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_tail)
            {
                _log.WriteLine(line);
                if (line.TrimStart().StartsWith("at ", StringComparison.Ordinal))
                {
                    // Stack frames would push the messages out of the tail; the whole output is in the log file.
                    return;
                }

                _tail.Enqueue(line);
                if (_tail.Count > TailLines)
                {
                    _tail.Dequeue();
                }
            }
        }

        public async Task WaitReadyAsync()
        {
            using var http = new HttpClient { BaseAddress = Http, Timeout = TimeSpan.FromSeconds(5) };
            await Eventually.Until(
                async () =>
                {
                    try
                    {
                        return (await http.GetAsync("/health/ready")).StatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        return HttpStatusCode.ServiceUnavailable;
                    }
                },
                status => status == HttpStatusCode.OK || _process.HasExited,
                TimeSpan.FromSeconds(90),
                "the silo process ready");
            Assert.False(_process.HasExited, "the silo process exited");
        }

        /// <summary>SIGKILL: no shutdown, no flush.</summary>
        public void Kill()
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        public void Dispose()
        {
            // Killing a process that has exited does nothing; either way this waits for the last of its output.
            Kill();

            // xUnit shows a test's output only when it fails: the silo's last words explain the failure.
            lock (_tail)
            {
                _output.WriteLine($"--- last {_tail.Count} lines of silo {Http} (stack frames left out; all of it in {_logPath}) ---");
                _output.WriteLine(string.Join('\n', _tail));
                _log.Dispose();
            }

            _process.Dispose();
        }
    }
}
