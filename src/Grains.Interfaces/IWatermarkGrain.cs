using Orleans;

namespace OrleansStreams.Grains;

/// <summary>The event-time watermark of one input topic (the key), from its partitions' progress.</summary>
[Alias("OrleansStreams.IWatermarkGrain")]
public interface IWatermarkGrain : IGrainWithStringKey
{
    /// <summary>Reports a partition's largest event time (epoch ms); returns the pipeline watermark (epoch ms), if any.</summary>
    [Alias("Report")]
    Task<long?> ReportAsync(int partition, long maxEventMs);

    /// <summary>
    /// Tells that a partition is still applying records (a batch or a commit in flight), so it is not idle however
    /// long they take; until it first reports an event time it holds the watermark where it is.
    /// </summary>
    [Alias("KeepActive")]
    Task KeepActiveAsync(int partition);

    /// <summary>The pipeline watermark (epoch ms), if any record was seen.</summary>
    [Alias("Get")]
    Task<long?> GetAsync();
}
