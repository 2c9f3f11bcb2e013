using Orleans;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// One Kafka record as read from its partition: position, key and value bytes kept whole, and when this silo
/// fetched it (epoch ms, for latency).
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.KafkaRecord")]
public sealed record KafkaRecord(
    [property: Id(0)] string Topic,
    [property: Id(1)] int Partition,
    [property: Id(2)] long Offset,
    [property: Id(3)] byte[]? Key,
    [property: Id(4)] byte[]? Value,
    [property: Id(5)] long TimestampMs,
    [property: Id(6)] IReadOnlyList<KafkaHeader>? Headers = null,
    [property: Id(7)] long FetchedAtMs = 0)
{
    /// <summary>The value of the last header named <paramref name="name"/>, or null.</summary>
    public byte[]? GetHeader(string name)
    {
        if (Headers is null)
        {
            return null;
        }

        for (var i = Headers.Count - 1; i >= 0; i--)
        {
            if (string.Equals(Headers[i].Name, name, StringComparison.Ordinal))
            {
                return Headers[i].Value;
            }
        }

        return null;
    }
}

/// <summary>One Kafka record header.</summary>
[GenerateSerializer, Immutable, Alias("OrleansStreams.KafkaHeader")]
public sealed record KafkaHeader([property: Id(0)] string Name, [property: Id(1)] byte[]? Value);
