using System.Globalization;
using System.Text;
using OrleansStreams.Grains;
using Prometheus;

namespace OrleansStreams.Bench;

/// <summary>
/// Latency counts in the pipeline's own histogram buckets, so that every run's percentiles are computed the
/// same way: linear interpolation inside the bucket that holds the quantile, as Prometheus'
/// <c>histogram_quantile</c> does.
/// </summary>
public sealed class LatencyHistogram
{
    private readonly long[] _counts = new long[PipelineMetrics.LatencyBuckets.Count + 1];

    public long Count => _counts.Sum();

    public void Observe(double seconds)
    {
        var i = 0;
        while (i < PipelineMetrics.LatencyBuckets.Count && seconds > PipelineMetrics.LatencyBuckets[i])
        {
            i++;
        }

        Interlocked.Increment(ref _counts[i]);
    }

    /// <summary>A histogram of <paramref name="registry"/> as a scrape of it shows it.</summary>
    public static async Task<LatencyHistogram> ScrapeAsync(CollectorRegistry registry, string metric)
    {
        ArgumentNullException.ThrowIfNull(registry);
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return FromExposition(Encoding.UTF8.GetString(stream.ToArray()), metric);
    }

    /// <summary>Reads a histogram's cumulative <c>_bucket</c> lines from Prometheus text exposition.</summary>
    public static LatencyHistogram FromExposition(string text, string metric)
    {
        var histogram = new LatencyHistogram();
        var cumulative = new long[histogram._counts.Length];
        var prefix = metric + "_bucket{le=\"";
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var close = line.IndexOf('"', prefix.Length);
            var bound = line[prefix.Length..close];
            var value = long.Parse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
            var index = bound == "+Inf"
                ? PipelineMetrics.LatencyBuckets.Count
                : IndexOf(double.Parse(bound, CultureInfo.InvariantCulture));
            cumulative[index] = value;
        }

        for (var i = 0; i < cumulative.Length; i++)
        {
            histogram._counts[i] = cumulative[i] - (i > 0 ? cumulative[i - 1] : 0);
        }

        return histogram;
    }

    /// <summary>What was observed after <paramref name="earlier"/> was taken.</summary>
    public LatencyHistogram Minus(LatencyHistogram earlier)
    {
        var difference = new LatencyHistogram();
        for (var i = 0; i < _counts.Length; i++)
        {
            difference._counts[i] = _counts[i] - earlier._counts[i];
        }

        return difference;
    }

    /// <summary>The <paramref name="q"/> quantile in milliseconds, or null without observations.</summary>
    public double? QuantileMs(double q)
    {
        var total = Count;
        if (total == 0)
        {
            return null;
        }

        var rank = q * total;
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            if (seen + _counts[i] >= rank && _counts[i] > 0)
            {
                var lower = i == 0 ? 0 : PipelineMetrics.LatencyBuckets[i - 1];
                if (i == PipelineMetrics.LatencyBuckets.Count)
                {
                    return lower * 1000;
                }

                var upper = PipelineMetrics.LatencyBuckets[i];
                return (lower + ((upper - lower) * (rank - seen) / _counts[i])) * 1000;
            }

            seen += _counts[i];
        }

        return PipelineMetrics.LatencyBuckets[^1] * 1000;
    }

    private static int IndexOf(double bound)
    {
        for (var i = 0; i < PipelineMetrics.LatencyBuckets.Count; i++)
        {
            if (Math.Abs(PipelineMetrics.LatencyBuckets[i] - bound) < 1e-9)
            {
                return i;
            }
        }

        throw new InvalidDataException($"Histogram bucket {bound} is not one of the pipeline's.");
    }
}
