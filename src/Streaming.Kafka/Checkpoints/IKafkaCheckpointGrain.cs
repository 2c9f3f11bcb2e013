using System.Globalization;
using Orleans;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// The durable position of one Kafka partition: the offset of the first record not yet durably applied.
/// Only the partition's processor advances it, after everything below it is persisted; its receiver moves it past
/// offsets that hold no records, when it stands right before them.
/// </summary>
[Alias("OrleansStreams.IKafkaCheckpointGrain")]
public interface IKafkaCheckpointGrain : IGrainWithStringKey
{
    [Alias("Get")]
    Task<KafkaCheckpoint> GetAsync();

    /// <summary>What the partition's receiver reports now and then: which silo reads it, and its log end offset.</summary>
    [Alias("ReportReader")]
    Task<KafkaCheckpoint> ReportReaderAsync(string silo, long logEndOffset);

    /// <summary>The checkpoint with the partition's last reported reader and log end offset.</summary>
    [Alias("GetStatus")]
    Task<KafkaPartitionStatus> GetStatusAsync();

    /// <summary>Records that every record below <paramref name="nextOffset"/> is durably applied.</summary>
    [Alias("Commit")]
    Task CommitAsync(long nextOffset);

    /// <summary>
    /// What the partition's receiver reports when it finds that offsets <paramref name="from"/> to
    /// <paramref name="to"/> (exclusive) hold no record a consumer reads (the commit marker that ends a transaction,
    /// records of aborted ones): if the durable offset is <paramref name="from"/>, it moves to <paramref name="to"/>,
    /// as nothing lies between. Otherwise, nothing changes. Returns the checkpoint as it is then.
    /// </summary>
    [Alias("PassEmpty")]
    Task<KafkaCheckpoint> PassEmptyAsync(long from, long to);

    /// <summary>Asks the partition's receiver to read again from <paramref name="offset"/>.</summary>
    [Alias("Rewind")]
    Task RewindAsync(long offset);
}

/// <summary>A partition's durable offset (-1: none yet) and its latest rewind request.</summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.KafkaCheckpoint")]
public sealed record KafkaCheckpoint(
    [property: Id(0)] long NextOffset,
    [property: Id(1)] int RewindGeneration,
    [property: Id(2)] long RewindOffset);

/// <summary>A partition's durable offset, log end offset, lag and reader (silo), as last reported.</summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.KafkaPartitionStatus")]
public sealed record KafkaPartitionStatus(
    [property: Id(0)] long DurableOffset,
    [property: Id(1)] long LogEndOffset,
    [property: Id(2)] string? Reader,
    [property: Id(3)] DateTime? ReportedAt)
{
    public long? Lag => LogEndOffset >= 0 ? Math.Max(0, LogEndOffset - Math.Max(0, DurableOffset)) : null;
}

/// <summary>Names of the checkpoint grains.</summary>
public static class KafkaCheckpoints
{
    /// <summary>The grain storage that holds checkpoints.</summary>
    public const string StorageName = "PubSubStore";

    public static string Key(string providerName, string topic, int partition) =>
        string.Create(CultureInfo.InvariantCulture, $"{providerName}/{topic}/{partition}");

    public static IKafkaCheckpointGrain Get(IGrainFactory grains, string providerName, string topic, int partition) =>
        grains.GetGrain<IKafkaCheckpointGrain>(Key(providerName, topic, partition));
}
