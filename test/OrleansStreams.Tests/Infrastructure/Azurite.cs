using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace OrleansStreams.Tests.Infrastructure;

/// <summary>
/// Azurite's table service, installed on first use with npm into <c>.tools/azurite</c> (ignored by git) and
/// started on a free loopback port with in-memory persistence. Disposing stops it.
/// </summary>
public sealed class Azurite : IAsyncDisposable
{
    public const string Version = "3.37.0";
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private static readonly SemaphoreSlim InstallLock = new(1, 1);
    private readonly Process _process;

    private Azurite(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => string.Create(CultureInfo.InvariantCulture,
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};TableEndpoint=http://127.0.0.1:{Port}/devstoreaccount1;");

    public static async Task<Azurite> StartAsync()
    {
        var port = FreePort.Next();
        var azurite = new Azurite(await LaunchAsync(port), port);
        await azurite.WaitListeningAsync();
        return azurite;
    }

    private static async Task<Process> LaunchAsync(int port)
    {
        var script = await InstallAsync();
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { script, "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--tableHost", "127.0.0.1", "--tablePort", port.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node for Azurite.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task WaitListeningAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await IsListeningAsync())
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                await DisposeAsync();
                throw new InvalidOperationException($"Azurite did not start on port {Port}.");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Freezes Azurite (SIGSTOP): it accepts connections but answers nothing, as storage that is down.</summary>
    public Task PauseAsync() => SignalAsync("-STOP");

    /// <summary>Lets a paused Azurite answer again (SIGCONT), with all its data.</summary>
    public Task ResumeAsync() => SignalAsync("-CONT");

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await ResumeAsync();
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [signal, _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    private async Task<bool> IsListeningAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task<string> InstallAsync()
    {
        var folder = Path.Combine(RepositoryPaths.Root, ".tools", "azurite");
        var script = Path.Combine(folder, "node_modules", "azurite", "dist", "src", "table", "main.js");
        await InstallLock.WaitAsync();
        try
        {
            if (File.Exists(script))
            {
                return script;
            }

            Directory.CreateDirectory(folder);
            var npm = new ProcessStartInfo("npm")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { "install", "--prefix", folder, "--no-audit", "--no-fund", "--loglevel", "error", $"azurite@{Version}" })
            {
                npm.ArgumentList.Add(arg);
            }

            using var process = Process.Start(npm) ?? throw new InvalidOperationException("Could not start npm to install Azurite.");
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0 || !File.Exists(script))
            {
                throw new InvalidOperationException($"npm could not install azurite@{Version} (exit {process.ExitCode}): {await output} {await errors}");
            }

            return script;
        }
        finally
        {
            InstallLock.Release();
        }
    }
}
