using Orleans;

namespace OrleansStreams.Grains;

/// <summary>Processes one Kafka partition of <c>pageviews</c>: key is the partition number.</summary>
[Alias("OrleansStreams.IPageViewDispatcherGrain")]
public interface IPageViewDispatcherGrain : IGrainWithStringKey
{
    /// <summary>Flushes what the partition's grains applied and advances its durable offset.</summary>
    [Alias("Commit")]
    Task CommitAsync();
}
