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

    /// <summary>The pipeline watermark (epoch ms), if any record was seen, and whether some partition is active.</summary>
    [Alias("Get")]
    Task<WatermarkReading> GetAsync();
}

/// <summary>
/// A topic's watermark (epoch ms; null before any record) and whether some partition of it is active (it
/// reported within the idle timeout, or, right after a start, not all partitions have reported yet).
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.WatermarkReading")]
public readonly record struct WatermarkReading([property: Id(0)] long? Watermark, [property: Id(1)] bool Active);
