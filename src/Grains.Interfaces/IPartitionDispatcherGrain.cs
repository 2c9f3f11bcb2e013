using Orleans;

namespace OrleansStreams.Grains;

/// <summary>Processes one Kafka partition of an input topic: the key is the partition number.</summary>
[Alias("OrleansStreams.IPartitionDispatcherGrain")]
public interface IPartitionDispatcherGrain : IGrainWithStringKey
{
    /// <summary>Advances the partition's durable offset to what its grains have persisted (one commit at a time).</summary>
    [Alias("Commit")]
    Task CommitAsync();

    /// <summary>Answers at once, even while the dispatcher is busy with a large batch (it only reads counters).</summary>
    [Alias("GetStatus")]
    [Orleans.Concurrency.AlwaysInterleave]
    Task<PartitionStatus> GetStatusAsync();
}

/// <summary>Processes one partition of <c>pageviews</c>.</summary>
[Alias("OrleansStreams.IPageViewDispatcherGrain")]
public interface IPageViewDispatcherGrain : IPartitionDispatcherGrain;

/// <summary>Processes one partition of <c>clicks</c>.</summary>
[Alias("OrleansStreams.IClickDispatcherGrain")]
public interface IClickDispatcherGrain : IPartitionDispatcherGrain;

/// <summary>
/// What a partition's processor has done since it was activated; <c>FirstFetchedAtMs</c> is when the first record
/// it took was read from Kafka (epoch ms, 0 before any).
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.PartitionStatus")]
public sealed record PartitionStatus(
    [property: Id(0)] string Source,
    [property: Id(1)] long RecordsProcessed,
    [property: Id(2)] long RecordsRejected,
    [property: Id(3)] long CommittedOffset,
    [property: Id(4)] long NextOffset,
    [property: Id(5)] long DeadLetters = 0,
    [property: Id(6)] long Late = 0,
    [property: Id(7)] long FirstFetchedAtMs = 0);
