using System.Diagnostics;
using System.Text.Json;
using OrleansStreams.Grains;

namespace OrleansStreams.Bench;

/// <summary>
/// Produces valid page views with event time now at a steady rate, for the latency measurement, and counts what
/// it produced per URL so that runs can check their totals afterwards.
/// </summary>
public static class LiveLoad
{
    /// <summary>
    /// The rate latency is measured at unless the command gives one: half the maximum, which is the median of the
    /// measured runs' rates (the run that measures latency included), as the results report it.
    /// </summary>
    public static double HalfOfMedian(IEnumerable<double> measuredRates) =>
        RunResult.Median(measuredRates, r => r) / 2;

    public static async Task<Dictionary<string, long>> ProduceAsync(string bootstrapServers, DatasetSpec spec, double ratePerSecond, TimeSpan duration)
    {
        var random = new Random(spec.Seed + 1);
        var perUrl = new Dictionary<string, long>();
        using var producer = Dataset.Producer(bootstrapServers);
        var clock = Stopwatch.StartNew();
        long sent = 0;
        while (clock.Elapsed < duration)
        {
            var due = (long)(clock.Elapsed.TotalSeconds * ratePerSecond);
            for (; sent < due; sent++)
            {
                var user = Dataset.UserId(random.Next(spec.Users));
                var url = Dataset.Url(random.Next(spec.Urls));
                var view = new PageView(user, url, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
                Dataset.Send(producer, Topics.PageViews, user, JsonSerializer.SerializeToUtf8Bytes(view));
                perUrl[url] = perUrl.GetValueOrDefault(url) + 1;
            }

            await Task.Delay(5);
        }

        Dataset.Flush(producer);
        return perUrl;
    }
}
