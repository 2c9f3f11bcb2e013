using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Silo.DevMode;

/// <summary>
/// Produces realistic demo traffic to Kafka: Zipf-distributed URLs, thousands of users, some views out of
/// event-time order, and clicks following some views. It is an ordinary Kafka producer, as users' apps are.
/// </summary>
internal sealed partial class DemoTrafficGenerator(
    IOptions<GeneratorOptions> options,
    IOptionsMonitor<KafkaStreamOptions> kafka,
    ILogger<DemoTrafficGenerator> logger) : BackgroundService
{
    private static readonly string[] NamedPages =
        ["/home", "/products", "/cart", "/checkout", "/search", "/about", "/blog", "/pricing", "/login", "/signup"];

    public static string UrlOf(int rank) => rank < NamedPages.Length ? NamedPages[rank] : $"/page/{rank}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var kafkaOptions = kafka.Get(Topics.StreamProvider);
        using var producer = new ProducerBuilder<string, byte[]>(KafkaClientConfigs.Producer(kafkaOptions)).Build();
        var urls = new ZipfSampler(settings.Urls);
        var random = new Random();
        var clicks = new List<(double Due, ClickEvent Click)>();
        const int TicksPerSecond = 10;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / TicksPerSecond));
        var carry = 0.0;
        long produced = 0;
        LogStarted(settings.RatePerSecond, settings.Urls, settings.Users);

        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
                carry += settings.RatePerSecond / (double)TicksPerSecond;
                var count = (int)carry;
                carry -= count;
                for (var i = 0; i < count; i++)
                {
                    var user = $"user-{random.Next(settings.Users)}";
                    var url = UrlOf(urls.Next(random));
                    var viewTime = random.NextDouble() < settings.OutOfOrderFraction
                        ? now - (random.NextDouble() * settings.MaxDisorder.TotalSeconds)
                        : now;
                    Produce(producer, Topics.PageViews, user, new PageView(user, url, Math.Round(viewTime, 3)));
                    if (random.NextDouble() < settings.ClickFraction)
                    {
                        var delay = random.NextDouble() * 6;
                        clicks.Add((now + delay, new ClickEvent(user, url, Math.Round(viewTime + delay, 3))));
                    }
                }

                produced += count;
                foreach (var due in clicks.Where(c => c.Due <= now).ToList())
                {
                    Produce(producer, Topics.Clicks, due.Click.UserId, due.Click);
                    clicks.Remove(due);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        producer.Flush(TimeSpan.FromSeconds(5));
        LogStopped(produced);
    }

    private void Produce<T>(IProducer<string, byte[]> producer, string topic, string key, T value)
    {
        try
        {
            producer.Produce(topic, new Message<string, byte[]> { Key = key, Value = JsonSerializer.SerializeToUtf8Bytes(value) });
        }
        catch (ProduceException<string, byte[]> ex)
        {
            LogProduceFailed(topic, ex.Error.Reason);
        }
        catch (KafkaException ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
        {
            producer.Poll(TimeSpan.FromMilliseconds(100));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo traffic: {Rate} page views/s over {Urls} URLs and {Users} users")]
    private partial void LogStarted(int rate, int urls, int users);

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo traffic stopped after {Produced} page views")]
    private partial void LogStopped(long produced);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Demo traffic could not produce to {Topic}: {Reason}")]
    private partial void LogProduceFailed(string topic, string reason);
}
