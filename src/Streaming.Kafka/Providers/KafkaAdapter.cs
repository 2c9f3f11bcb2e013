using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// Writes stream events to their Kafka partition with the idempotent producer and creates one receiver per partition.
/// </summary>
internal sealed class KafkaAdapter(
    string providerName,
    KafkaQueueMapper mapper,
    KafkaStreamOptions options,
    SharedProducer producer,
    IServiceProvider services) : IQueueAdapter
{
    public string Name => providerName;

    public bool IsRewindable => true;

    public StreamProviderDirection Direction => StreamProviderDirection.ReadWrite;

    public IQueueAdapterReceiver CreateReceiver(QueueId queueId) =>
        ActivatorUtilities.CreateInstance<KafkaAdapterReceiver>(services, providerName, mapper.PartitionOf(queueId), options);

    public async Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext)
    {
        ArgumentNullException.ThrowIfNull(events);
        mapper.GetQueueForStream(streamId);
        var partition = KafkaQueueMapper.PartitionOf(streamId);
        await Task.WhenAll(events.Select(e => producer.ProduceAsync(partition, ToMessage(e))));
    }

    internal static Message<byte[]?, byte[]?> ToMessage<T>(T item) => item switch
    {
        KafkaRecord record => new Message<byte[]?, byte[]?> { Key = record.Key, Value = record.Value, Headers = ToHeaders(record.Headers) },
        byte[] bytes => new Message<byte[]?, byte[]?> { Value = bytes },
        string text => new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes(text) },
        null => new Message<byte[]?, byte[]?> { Value = null },
        _ => new Message<byte[]?, byte[]?> { Value = JsonSerializer.SerializeToUtf8Bytes(item) },
    };

    private static Headers? ToHeaders(IReadOnlyList<KafkaHeader>? headers)
    {
        if (headers is null)
        {
            return null;
        }

        var result = new Headers();
        foreach (var header in headers)
        {
            result.Add(header.Name, header.Value);
        }

        return result;
    }
}
