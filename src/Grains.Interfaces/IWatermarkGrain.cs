using Orleans;

namespace OrleansStreams.Grains;

/// <summary>The event-time watermark of one input topic (the key), from its partitions' progress.</summary>
[Alias("OrleansStreams.IWatermarkGrain")]
public interface IWatermarkGrain : IGrainWithStringKey
{
    /// <summary>Reports a partition's largest event time (epoch ms); returns the pipeline watermark (epoch ms), if any.</summary>
    [Alias("Report")]
    Task<long?> ReportAsync(int partition, long maxEventMs);

    /// <summary>The pipeline watermark (epoch ms), if any record was seen.</summary>
    [Alias("Get")]
    Task<long?> GetAsync();
}
