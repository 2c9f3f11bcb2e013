using System.Globalization;
using Orleans;
using Orleans.Streams;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// Position of a record in its Kafka partition: the offset is the sequence number, within the partition's rewind
/// generation. A record read again after a rewind is newer than everything read before the rewind, so the
/// stream cache, which keeps records in the order they were read, sees its tokens only ever grow.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.KafkaSequenceToken")]
public sealed class KafkaSequenceToken : StreamSequenceToken
{
    public KafkaSequenceToken(int partition, long offset, int rewindGeneration, int eventIndex = 0)
    {
        Partition = partition;
        SequenceNumber = offset;
        RewindGeneration = rewindGeneration;
        EventIndex = eventIndex;
    }

    /// <summary>The Kafka partition.</summary>
    [Id(0)]
    public int Partition { get; private set; }

    /// <summary>The Kafka offset.</summary>
    [Id(1)]
    public override long SequenceNumber { get; protected set; }

    [Id(2)]
    public override int EventIndex { get; protected set; }

    /// <summary>How many times the partition had been rewound when the record was read.</summary>
    [Id(3)]
    public int RewindGeneration { get; private set; }

    public long Offset => SequenceNumber;

    public override bool Equals(StreamSequenceToken? other) =>
        other is KafkaSequenceToken token
        && token.Partition == Partition
        && token.SequenceNumber == SequenceNumber
        && token.RewindGeneration == RewindGeneration
        && token.EventIndex == EventIndex;

    public override bool Equals(object? obj) => Equals(obj as StreamSequenceToken);

    public override int GetHashCode() => HashCode.Combine(Partition, SequenceNumber, RewindGeneration, EventIndex);

    public override int CompareTo(StreamSequenceToken? other)
    {
        if (other is null)
        {
            return 1;
        }

        if (other is not KafkaSequenceToken token)
        {
            throw new ArgumentOutOfRangeException(nameof(other), "Only Kafka sequence tokens can be compared.");
        }

        var byGeneration = RewindGeneration.CompareTo(token.RewindGeneration);
        if (byGeneration != 0)
        {
            return byGeneration;
        }

        var byOffset = SequenceNumber.CompareTo(token.SequenceNumber);
        return byOffset != 0 ? byOffset : EventIndex.CompareTo(token.EventIndex);
    }

    public override string ToString() =>
        string.Format(CultureInfo.InvariantCulture, "[KafkaSequenceToken: Partition={0}, Offset={1}, RewindGeneration={2}, EventIndex={3}]", Partition, SequenceNumber, RewindGeneration, EventIndex);
}
