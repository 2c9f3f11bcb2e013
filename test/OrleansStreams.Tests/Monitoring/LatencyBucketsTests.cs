using OrleansStreams.Bench;
using OrleansStreams.Grains;

namespace OrleansStreams.Tests.Monitoring;

/// <summary>The latency histograms' buckets, as a dashboard's <c>histogram_quantile</c> and the bench read them.</summary>
public sealed class LatencyBucketsTests
{
    [Fact]
    public void from_a_millisecond_to_ten_seconds_each_bucket_ends_at_most_half_again_above_where_it_starts()
    {
        var bounds = PipelineMetrics.LatencyBuckets;
        Assert.Equal(0.001, bounds[0]);
        Assert.Contains(10.0, bounds);
        for (var i = 1; i < bounds.Count; i++)
        {
            Assert.True(bounds[i] > bounds[i - 1], $"bucket {bounds[i]} follows {bounds[i - 1]}");
            if (bounds[i] <= 10)
            {
                Assert.True(bounds[i] <= bounds[i - 1] * 1.5 + 1e-12, $"bucket ({bounds[i - 1]}, {bounds[i]}] spans more than half again");
            }
        }
    }

    [Theory]
    [InlineData(0.0012)]
    [InlineData(0.012)]
    [InlineData(0.072)]
    [InlineData(0.12)]
    [InlineData(0.245)]
    [InlineData(0.9)]
    [InlineData(6)]
    public async Task a_scraped_latency_histogram_gives_its_median_and_99th_percentile_within_a_factor_of_one_and_a_half(double seconds)
    {
        var metrics = new PipelineMetrics();
        metrics.ProcessLatency.Observe(seconds, 1_000);

        var histogram = await LatencyHistogram.ScrapeAsync(metrics.Registry, "app_process_latency_seconds");

        Assert.Equal(1_000, histogram.Count);
        foreach (var quantile in new[] { 0.5, 0.99 })
        {
            var ms = histogram.QuantileMs(quantile)!.Value;
            Assert.InRange(ms, seconds * 1000 / 1.5, seconds * 1000 * 1.5);
        }
    }
}
