using System.Globalization;
using Orleans;
using Orleans.Streams;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>Position of a record in its Kafka partition: the offset is the sequence number.</summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.KafkaSequenceToken")]
public sealed class KafkaSequenceToken : StreamSequenceToken
{
    public KafkaSequenceToken(int partition, long offset, int eventIndex = 0)
    {
        Partition = partition;
        SequenceNumber = offset;
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

    public long Offset => SequenceNumber;

    public override bool Equals(StreamSequenceToken? other) =>
        other is KafkaSequenceToken token
        && token.Partition == Partition
        && token.SequenceNumber == SequenceNumber
        && token.EventIndex == EventIndex;

    public override bool Equals(object? obj) => Equals(obj as StreamSequenceToken);

    public override int GetHashCode() => HashCode.Combine(Partition, SequenceNumber, EventIndex);

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

        var byOffset = SequenceNumber.CompareTo(token.SequenceNumber);
        return byOffset != 0 ? byOffset : EventIndex.CompareTo(token.EventIndex);
    }

    public override string ToString() =>
        string.Format(CultureInfo.InvariantCulture, "[KafkaSequenceToken: Partition={0}, Offset={1}, EventIndex={2}]", Partition, SequenceNumber, EventIndex);
}
