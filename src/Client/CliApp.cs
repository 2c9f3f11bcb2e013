using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace OrleansStreams.Client;

/// <summary>The <c>orleansstreams</c> command line.</summary>
public static class CliApp
{
    /// <summary>Runs the CLI; settings come from environment variables and <c>--Section:Key=value</c> style options.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter errors, IConfiguration? settings = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var config = settings ?? new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var root = new RootCommand("OrleansStreams client: send events, query grains, inspect and replay dead letters.");

        var kind = new Argument<string>("kind") { Description = "pageview or click" };
        kind.AcceptOnlyFromAmong("pageview", "click");
        var user = new Option<string>("--user") { Description = "user id", Required = true };
        var url = new Option<string>("--url") { Description = "URL, e.g. /home", Required = true };
        var time = new Option<double?>("--time") { Description = "event time, epoch seconds (default: now)" };
        var eventId = new Option<string?>("--event-id") { Description = "event id (duplicates of one id count once)" };
        var send = new Command("send", "Produce one page view or click to Kafka, like 'faust send'.") { kind, user, url, time, eventId };
        send.SetAction((result, ct) => Run(config, output, errors, ct, c => c.SendAsync(result.GetValue(kind)!, result.GetValue(user)!, result.GetValue(url)!, result.GetValue(time), result.GetValue(eventId))));

        var rate = new Option<int>("--rate") { Description = "page views per second", DefaultValueFactory = _ => 1000 };
        var duration = new Option<TimeSpan>("--duration") { Description = "how long, e.g. 00:00:30", DefaultValueFactory = _ => TimeSpan.FromSeconds(30) };
        var users = new Option<int>("--users") { Description = "distinct users", DefaultValueFactory = _ => 10_000 };
        var urls = new Option<int>("--urls") { Description = "distinct URLs", DefaultValueFactory = _ => 100 };
        var generate = new Command("generate", "Produce page views at a rate for a while, showing progress.") { rate, duration, users, urls };
        generate.SetAction((result, ct) => Run(config, output, errors, ct, c => c.GenerateAsync(result.GetValue(rate), result.GetValue(duration), result.GetValue(users), result.GetValue(urls), ct)));

        var urlArgument = new Argument<string>("url") { Description = "URL, e.g. /home" };
        var last = new Option<int>("--last") { Description = "closed windows to show", DefaultValueFactory = _ => 5 };
        var urlCommand = new Command("url", "Total, recent windows and conversions of a URL.") { urlArgument, last };
        urlCommand.SetAction((result, ct) => Run(config, output, errors, ct, c => c.UrlAsync(result.GetValue(urlArgument)!, result.GetValue(last))));

        var count = new Option<int>("--count") { Description = "how many", DefaultValueFactory = _ => 10 };
        var top = new Command("top", "The busiest URLs.") { count };
        top.SetAction((result, ct) => Run(config, output, errors, ct, c => c.TopAsync(result.GetValue(count))));

        var userId = new Argument<string>("id") { Description = "user id" };
        var userCommand = new Command("user", "Views, clicks and recent conversions of a user.") { userId };
        userCommand.SetAction((result, ct) => Run(config, output, errors, ct, c => c.UserAsync(result.GetValue(userId)!)));

        var reason = new Option<string?>("--reason") { Description = "malformed, invalid, processing_error or late" };
        var limit = new Option<int>("--limit") { Description = "how many", DefaultValueFactory = _ => 20 };
        var list = new Command("list", "Recent dead letters, newest first.") { reason, limit };
        list.SetAction((result, ct) => Run(config, output, errors, ct, c => c.DeadLetterListAsync(result.GetValue(reason), result.GetValue(limit))));
        var stats = new Command("stats", "Dead letters by reason.");
        stats.SetAction((result, ct) => Run(config, output, errors, ct, c => c.DeadLetterStatsAsync()));
        var ids = new Argument<string[]>("ids") { Description = "dead-letter ids (topic/partition/offset)", Arity = ArgumentArity.OneOrMore };
        var replay = new Command("replay", "Re-publish dead letters to their source topic, once their cause is fixed.") { ids };
        replay.SetAction((result, ct) => Run(config, output, errors, ct, c => c.DeadLetterReplayAsync(result.GetValue(ids)!)));
        var dlq = new Command("dlq", "The dead-letter queue.") { list, stats, replay };

        var status = new Command("status", "Silos, which silo reads which partition, and lag per partition.");
        status.SetAction((result, ct) => Run(config, output, errors, ct, c => c.StatusAsync()));

        foreach (var command in new[] { send, generate, urlCommand, top, userCommand, dlq, status })
        {
            root.Subcommands.Add(command);
        }

        var parsed = root.Parse(args);
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = errors });
    }

    private static async Task<int> Run(IConfiguration config, TextWriter output, TextWriter errors, CancellationToken cancellationToken, Func<Commands, Task<int>> action)
    {
        try
        {
            using var host = await ClusterConnection.ConnectAsync(config, cancellationToken);
            try
            {
                return await action(new Commands(host.Services.GetRequiredService<IClusterClient>(), config, output));
            }
            finally
            {
                await host.StopAsync(CancellationToken.None);
            }
        }
        catch (ClusterUnreachableException ex)
        {
            await errors.WriteLineAsync(ex.Message);
            return 2;
        }
        catch (Exception ex) when (ex is Confluent.Kafka.KafkaException or ArgumentException or Orleans.Runtime.OrleansException or TimeoutException)
        {
            await errors.WriteLineAsync($"Failed: {ex.Message}");
            return 1;
        }
    }
}
