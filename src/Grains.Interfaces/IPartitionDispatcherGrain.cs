using Orleans;

namespace OrleansStreams.Grains;

/// <summary>Processes one Kafka partition of <c>pageviews</c>: key is the partition number.</summary>
[Alias("OrleansStreams.IPageViewDispatcherGrain")]
public interface IPageViewDispatcherGrain : IGrainWithStringKey
{
    /// <summary>Flushes what the partition's grains applied and advances its durable offset.</summary>
    [Alias("Commit")]
    Task CommitAsync();

    [Alias("GetStatus")]
    Task<PartitionStatus> GetStatusAsync();
}

/// <summary>What a partition's processor has done since it was activated.</summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.PartitionStatus")]
public sealed record PartitionStatus(
    [property: Id(0)] string Source,
    [property: Id(1)] long RecordsProcessed,
    [property: Id(2)] long RecordsRejected,
    [property: Id(3)] long CommittedOffset,
    [property: Id(4)] long NextOffset);
