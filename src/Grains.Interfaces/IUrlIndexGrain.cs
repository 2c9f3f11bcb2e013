using Orleans;
using Orleans.Concurrency;

namespace OrleansStreams.Grains;

/// <summary>The cluster's busiest URLs: URL grains report their totals here now and then.</summary>
[Alias("OrleansStreams.IUrlIndexGrain")]
public interface IUrlIndexGrain : IGrainWithIntegerKey
{
    [Alias("Report"), OneWay]
    Task ReportAsync(string url, long total);

    /// <summary>The <paramref name="count"/> URLs with the largest totals, largest first.</summary>
    [Alias("Top")]
    Task<UrlTotals[]> TopAsync(int count);
}
