using System.Reflection;
using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// Reads an assigned consumer's records straight from librdkafka into <see cref="KafkaRecord"/>s: the key, value and
/// headers are copied once, and nothing else is made per record. Confluent's <c>Consume</c> builds five more objects
/// for each (a copy of the native message, the result, the message, its position and headers): about 280 of the
/// 1,700 bytes the bench's pipeline allocated per record. The consumer is still Confluent's:
/// its configuration, assignment, commits and callbacks work as before, and errors that librdkafka reports on the
/// consumer's queue reach its handlers as they did. <see cref="For"/> gives none where the library or the consumer's
/// handle cannot be reached, and the caller reads through Confluent instead.
/// </summary>
internal sealed unsafe class KafkaRecordReader : IDisposable
{
    private const int PartitionEof = -191;
    private const int NoTimestamp = 0;

    private static readonly Lazy<Api?> Bound = new(Bind);
    private readonly Api _api;
    private readonly SafeHandle _handle;
    private readonly nint _client;
    private bool _released;

    private KafkaRecordReader(Api api, SafeHandle handle)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        _api = api;
        _handle = handle;
        _client = handle.DangerousGetHandle();
    }

    /// <summary>A reader of <paramref name="consumer"/>'s records, or null where records are read through Confluent.</summary>
    public static KafkaRecordReader? For(IConsumer<byte[]?, byte[]?> consumer)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        return Bound.Value is { } api && api.ClientHandle.GetValue(consumer.Handle) is SafeHandle { IsInvalid: false } handle
            ? new KafkaRecordReader(api, handle)
            : null;
    }

    /// <summary>
    /// Takes the next record if one is ready. Returns false when none is; otherwise <paramref name="record"/> holds it,
    /// or <paramref name="error"/> holds why the read failed, or neither is set for an event that is no record (the
    /// end of a partition, when the consumer reports it).
    /// </summary>
    public bool TryRead(string topic, long fetchedAtMs, out KafkaRecord? record, out Error? error)
    {
        ObjectDisposedException.ThrowIf(_released, this);
        var api = _api;
        record = null;
        error = null;
        var message = api.Poll(_client, 0);
        if (message is null)
        {
            return false;
        }

        try
        {
            if (message->Error == PartitionEof)
            {
                return true;
            }

            if (message->Error != 0)
            {
                error = new Error((Confluent.Kafka.ErrorCode)message->Error, Marshal.PtrToStringUTF8((nint)api.ErrorString(message->Error)));
                return true;
            }

            int timestampType;
            var timestamp = api.Timestamp(message, &timestampType);
            record = new KafkaRecord(
                topic,
                message->Partition,
                message->Offset,
                Copy(message->Key, message->KeyLength),
                Copy(message->Payload, message->Length),
                timestampType == NoTimestamp ? 0 : timestamp,
                Headers(api, message),
                fetchedAtMs);
            return true;
        }
        finally
        {
            api.Destroy(message);
        }
    }

    /// <summary>Lets the consumer's handle go; call before disposing the consumer.</summary>
    public void Dispose()
    {
        if (!_released)
        {
            _released = true;
            _handle.DangerousRelease();
        }
    }

    private static byte[]? Copy(byte* data, nuint length) =>
        data is null ? null : new ReadOnlySpan<byte>(data, checked((int)length)).ToArray();

    private static KafkaHeader[]? Headers(Api api, Message* message)
    {
        nint headers;
        if (api.Headers(message, &headers) != 0)
        {
            // No headers (RD_KAFKA_RESP_ERR__NOENT).
            return null;
        }

        var result = new KafkaHeader[checked((int)api.HeaderCount(headers))];
        for (var i = 0; i < result.Length; i++)
        {
            byte* name;
            byte* value;
            nuint size;
            if (api.HeaderGetAll(headers, (nuint)i, &name, &value, &size) != 0)
            {
                // Fewer headers than counted: keep those read.
                return result[..i];
            }

            result[i] = new KafkaHeader(Marshal.PtrToStringUTF8((nint)name) ?? string.Empty, Copy(value, size));
        }

        return result;
    }

    private static Api? Bind()
    {
        var clientHandle = typeof(Handle).GetProperty("LibrdkafkaHandle", BindingFlags.Instance | BindingFlags.NonPublic);
        if (clientHandle is null || !typeof(SafeHandle).IsAssignableFrom(clientHandle.PropertyType) || Librdkafka.Handle == 0)
        {
            return null;
        }

        return new Api
        {
            ClientHandle = clientHandle,
            Poll = (delegate* unmanaged<nint, int, Message*>)Librdkafka.Export("rd_kafka_consumer_poll"),
            Destroy = (delegate* unmanaged<Message*, void>)Librdkafka.Export("rd_kafka_message_destroy"),
            Timestamp = (delegate* unmanaged<Message*, int*, long>)Librdkafka.Export("rd_kafka_message_timestamp"),
            Headers = (delegate* unmanaged<Message*, nint*, int>)Librdkafka.Export("rd_kafka_message_headers"),
            HeaderCount = (delegate* unmanaged<nint, nuint>)Librdkafka.Export("rd_kafka_header_cnt"),
            HeaderGetAll = (delegate* unmanaged<nint, nuint, byte**, byte**, nuint*, int>)Librdkafka.Export("rd_kafka_header_get_all"),
            ErrorString = (delegate* unmanaged<int, byte*>)Librdkafka.Export("rd_kafka_err2str"),
        };
    }

    /// <summary>The functions used, and where Confluent keeps a client's <c>rd_kafka_t</c> (an internal property of its public handle).</summary>
    private sealed class Api
    {
        public required PropertyInfo ClientHandle { get; init; }
        public required delegate* unmanaged<nint, int, Message*> Poll { get; init; }
        public required delegate* unmanaged<Message*, void> Destroy { get; init; }
        public required delegate* unmanaged<Message*, int*, long> Timestamp { get; init; }
        public required delegate* unmanaged<Message*, nint*, int> Headers { get; init; }
        public required delegate* unmanaged<nint, nuint> HeaderCount { get; init; }
        public required delegate* unmanaged<nint, nuint, byte**, byte**, nuint*, int> HeaderGetAll { get; init; }
        public required delegate* unmanaged<int, byte*> ErrorString { get; init; }
    }

    /// <summary><c>rd_kafka_message_t</c>, as librdkafka lays it out.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Message
    {
        public int Error;
        public nint Topic;
        public int Partition;
        public byte* Payload;
        public nuint Length;
        public byte* Key;
        public nuint KeyLength;
        public long Offset;
        public nint Private;
    }
}
