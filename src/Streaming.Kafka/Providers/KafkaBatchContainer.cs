using System.Text;
using System.Text.Json;
using Orleans;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// A run of records of one partition, as read one after another. Subscribers of <see cref="KafkaRecord"/> see the records
/// as read; subscribers of <see cref="KafkaBatchContainer"/> see each run whole, as one item with the token of
/// its last record (what a batch consumer wants: no per-record item, token or tuple); subscribers of <c>byte[]</c>
/// or <c>string</c> see the values; any other type is read as JSON.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.KafkaBatchContainer")]
public sealed class KafkaBatchContainer(StreamId streamId, long readFrom, KafkaRecord[] records, int rewindGeneration, bool reachesLogEnd = false) : IBatchContainer
{
    [Id(0)]
    public StreamId StreamId { get; } = streamId;

    [Id(1)]
    public KafkaRecord[] Records { get; } = records;

    /// <summary>
    /// The offset the reader stood at before the first record: the one after the record it read last, or where it was
    /// told to start. Offsets between it and the first record's hold nothing a consumer reads (the commit markers of
    /// transactions, records compacted away), so a consumer that has applied everything below it misses nothing.
    /// Offsets within the run may skip likewise.
    /// </summary>
    [Id(4)]
    public long ReadFrom { get; } = readFrom;

    /// <summary>The partition's rewind generation when the records were read (see <see cref="KafkaSequenceToken"/>).</summary>
    [Id(2)]
    public int RewindGeneration { get; } = rewindGeneration;

    /// <summary>
    /// Whether the last record was the partition's last as far as the reader knew (its high watermark when it read):
    /// a consumer that has applied this run has caught up, and need not wait for a quiet spell to know it.
    /// </summary>
    [Id(3)]
    public bool ReachesLogEnd { get; } = reachesLogEnd;

    /// <summary>
    /// The token of the last record (each record carries its own): a consumer whose last delivery had this token
    /// has every record up to it. Batches are cut where each read ended, differently on each silo, so after a
    /// queue moves a batch held by the new silo may start before that token and still end after it; it counts as
    /// newer and is delivered, its records already applied being ignored by the consumer.
    /// </summary>
    public StreamSequenceToken SequenceToken => TokenOf(Records[^1]);

    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>()
    {
        if (typeof(T) == typeof(KafkaBatchContainer))
        {
            yield return Tuple.Create((T)(object)this, SequenceToken);
            yield break;
        }

        foreach (var record in Records)
        {
            if (TryConvert(record, out T item))
            {
                yield return Tuple.Create(item, TokenOf(record));
            }
        }
    }

    public bool ImportRequestContext() => false;

    private StreamSequenceToken TokenOf(KafkaRecord record) => new KafkaSequenceToken(record.Partition, record.Offset, RewindGeneration);

    public override string ToString() =>
        $"[KafkaBatchContainer: Stream={StreamId}, Offsets={Records[0].Offset}..{Records[^1].Offset}]";

    private static bool TryConvert<T>(KafkaRecord record, out T item)
    {
        object? converted;
        if (typeof(T) == typeof(KafkaRecord) || typeof(T) == typeof(object))
        {
            converted = record;
        }
        else if (typeof(T) == typeof(byte[]))
        {
            converted = record.Value;
        }
        else if (typeof(T) == typeof(string))
        {
            converted = record.Value is null ? null : Encoding.UTF8.GetString(record.Value);
        }
        else if (record.Value is null)
        {
            converted = null;
        }
        else
        {
            try
            {
                converted = JsonSerializer.Deserialize<T>(record.Value);
            }
            catch (JsonException)
            {
                converted = null;
            }
        }

        if (converted is T typed)
        {
            item = typed;
            return true;
        }

        item = default!;
        return false;
    }
}
