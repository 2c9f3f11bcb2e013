using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// Reads one Kafka partition with <c>Assign</c>, starting from the partition's durable checkpoint. Placement
/// belongs to Orleans' queue balancer, never to consumer-group rebalancing.
/// </summary>
internal sealed partial class KafkaAdapterReceiver(
    string providerName,
    TopicPartition partition,
    KafkaStreamOptions options,
    IGrainFactory grains,
    KafkaProviderStats stats,
    ILocalSiloDetails silo,
    ILogger<KafkaAdapterReceiver> logger) : IQueueAdapterReceiver
{
    private const int MaxContainersPerRead = 8;
    private const string Client = "consumer";
    private readonly StreamId _streamId = KafkaQueueMapper.StreamFor(partition.Topic, partition.Partition);
    private IConsumer<byte[]?, byte[]?>? _consumer;
    private KafkaRecordReader? _reader;
    private int _rewindGeneration;
    private long _mirroredOffset = -1;

    /// <summary>The offset after the last record read, or where the consumer was told to start; -1 for the partition's beginning.</summary>
    private long _position = -1;
    private DateTime _nextCheckpointPoll;
    private KafkaRecord[]? _readBuffer;

    private IKafkaCheckpointGrain Checkpoint => KafkaCheckpoints.Get(grains, providerName, partition.Topic, partition.Partition);

    public async Task Initialize(TimeSpan timeout)
    {
        var checkpoint = await Checkpoint.ReportReaderAsync(silo.SiloAddress.ToString(), -1).WaitAsync(timeout);
        _rewindGeneration = checkpoint.RewindGeneration;
        _mirroredOffset = checkpoint.NextOffset;
        _position = checkpoint.NextOffset;
        _nextCheckpointPoll = DateTime.UtcNow + options.CheckpointPollInterval;
        var start = checkpoint.NextOffset >= 0 ? new Offset(checkpoint.NextOffset) : Offset.Beginning;

        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(KafkaClientConfigs.Consumer(options))
            .SetErrorHandler((_, error) => KafkaClientLog.Error(logger, Client, error.Code, error.Reason))
            .SetLogHandler((_, message) => KafkaClientLog.Message(logger, Client, message.Level.ToString(), message.Message))
            .Build();
        _reader = KafkaRecordReader.For(_consumer);
        _consumer.Assign(new TopicPartitionOffset(partition, start));
        stats.Update(partition, durable: checkpoint.NextOffset);
        LogStarted(partition.Topic, partition.Partition, start.ToString());
    }

    public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount) => GetQueueMessagesAsync(maxCount, CancellationToken.None);

    public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount, CancellationToken cancellationToken)
    {
        var consumer = _consumer;
        if (consumer is null)
        {
            return [];
        }

        if (DateTime.UtcNow >= _nextCheckpointPoll)
        {
            await PollCheckpointAsync(consumer);
        }

        var fetchedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var containers = maxCount < 0 ? MaxContainersPerRead : Math.Clamp(maxCount, 1, MaxContainersPerRead);
        var chunks = ReadChunks(consumer, fetchedAt, containers, cancellationToken);
        var high = consumer.GetWatermarkOffsets(partition).High;
        if (high != Offset.Unset)
        {
            stats.Update(partition, logEnd: high.Value);
        }

        if (chunks is null)
        {
            return [];
        }

        var atLogEnd = high != Offset.Unset && chunks[^1][^1].Offset + 1 >= high.Value;
        var batches = new List<IBatchContainer>(chunks.Count);
        foreach (var chunk in chunks)
        {
            // Read from the beginning, the reader cannot tell where the partition's first offset is: it is the first record's.
            var from = _position >= 0 ? _position : chunk[0].Offset;
            _position = chunk[^1].Offset + 1;
            batches.Add(new KafkaBatchContainer(_streamId, from, chunk, _rewindGeneration, reachesLogEnd: atLogEnd && batches.Count == chunks.Count - 1));
        }

        return batches;
    }

    /// <summary>
    /// Reads what the consumer has fetched, up to <paramref name="containers"/> batches of <c>MaxBatchSize</c>
    /// records, each an array of its records alone; null when there was nothing. The records gather in a buffer kept
    /// for the next read (the pulling agent reads a queue one call at a time), so a read that finds nothing, as an idle
    /// partition's reads every poll do, allocates nothing.
    /// </summary>
    private List<KafkaRecord[]>? ReadChunks(IConsumer<byte[]?, byte[]?> consumer, long fetchedAtMs, int containers, CancellationToken cancellationToken)
    {
        var buffer = _readBuffer ??= new KafkaRecord[options.MaxBatchSize];
        List<KafkaRecord[]>? chunks = null;
        var filled = 0;
        while ((chunks?.Count ?? 0) < containers && !cancellationToken.IsCancellationRequested && TryRead(consumer, fetchedAtMs, out var record))
        {
            if (record is null)
            {
                continue;
            }

            buffer[filled++] = record;
            if (filled == buffer.Length)
            {
                (chunks ??= []).Add(Take(buffer, filled));
                filled = 0;
            }
        }

        if (filled > 0)
        {
            (chunks ??= []).Add(Take(buffer, filled));
        }

        return chunks;

        static KafkaRecord[] Take(KafkaRecord[] buffer, int count)
        {
            var chunk = buffer.AsSpan(0, count).ToArray();
            // The buffer outlives the read: it holds no record the pipeline has let go.
            Array.Clear(buffer, 0, count);
            return chunk;
        }
    }

    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages) => Task.CompletedTask;

    public Task Shutdown(TimeSpan timeout)
    {
        var consumer = Interlocked.Exchange(ref _consumer, null);
        if (consumer is not null)
        {
            Interlocked.Exchange(ref _reader, null)?.Dispose();
            try
            {
                consumer.Close();
            }
            catch (KafkaException ex)
            {
                KafkaClientLog.Error(logger, Client, ex.Error.Code, ex.Error.Reason);
            }

            consumer.Dispose();
            stats.Remove(partition);
            LogStopped(partition.Topic, partition.Partition);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Follows rewind requests, moves the durable offset past offsets the consumer found empty, and mirrors the durable
    /// offset to the consumer group for lag tools.
    /// </summary>
    private async Task PollCheckpointAsync(IConsumer<byte[]?, byte[]?> consumer)
    {
        _nextCheckpointPoll = DateTime.UtcNow + options.CheckpointPollInterval;
        KafkaCheckpoint checkpoint;
        try
        {
            var logEnd = stats.Partitions.TryGetValue(partition, out var position) ? position.LogEndOffset : -1;
            checkpoint = await Checkpoint.ReportReaderAsync(silo.SiloAddress.ToString(), logEnd);
            if (_position >= 0 && checkpoint.NextOffset == _position && checkpoint.RewindGeneration == _rewindGeneration
                && ConsumerPosition(consumer) is var passed && passed > _position)
            {
                // Every record read is durable, and the offsets the consumer passed since hold none: the partition is
                // durable up to where it stands.
                checkpoint = await Checkpoint.PassEmptyAsync(_position, passed);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogCheckpointUnavailable(ex, partition.Topic, partition.Partition);
            return;
        }

        if (checkpoint.RewindGeneration != _rewindGeneration)
        {
            _rewindGeneration = checkpoint.RewindGeneration;
            consumer.Assign(new TopicPartitionOffset(partition, new Offset(checkpoint.RewindOffset)));
            _position = checkpoint.RewindOffset;
            LogRewound(partition.Topic, partition.Partition, checkpoint.RewindOffset);
        }

        stats.Update(partition, durable: checkpoint.NextOffset);
        if (checkpoint.NextOffset >= 0 && checkpoint.NextOffset != _mirroredOffset)
        {
            try
            {
                // Stored for the consumer's background commit: a synchronous commit holds this pool thread for a round
                // trip to the group coordinator, once per checkpoint poll and partition.
                consumer.StoreOffset(new TopicPartitionOffset(partition, new Offset(checkpoint.NextOffset)));
                _mirroredOffset = checkpoint.NextOffset;
            }
            catch (KafkaException ex)
            {
                KafkaClientLog.Error(logger, Client, ex.Error.Code, ex.Error.Reason);
            }
        }
    }

    /// <summary>
    /// The offset the consumer stands at (-1 when it has none yet). It moves only as the consumer takes records, or
    /// passes offsets that hold none (the commit marker that ends each transaction of a transactional producer, say):
    /// past the offset after the last record read, it has passed only such offsets, and the durable offset may follow
    /// it there. Else a partition whose last offset is a marker would show a lag of one for good.
    /// </summary>
    private long ConsumerPosition(IConsumer<byte[]?, byte[]?> consumer)
    {
        try
        {
            var at = consumer.Position(partition);
            return at == Offset.Unset ? -1 : at.Value;
        }
        catch (KafkaException ex)
        {
            KafkaClientLog.Error(logger, Client, ex.Error.Code, ex.Error.Reason);
            return -1;
        }
    }

    /// <summary>
    /// Takes the next record if one is ready (false when none is, or the read failed); <paramref name="record"/> is
    /// null for an event that is no record. Read straight from librdkafka where it can be, else through Confluent.
    /// </summary>
    private bool TryRead(IConsumer<byte[]?, byte[]?> consumer, long fetchedAtMs, out KafkaRecord? record)
    {
        Error? error;
        var read = _reader is { } reader
            ? reader.TryRead(partition.Topic, fetchedAtMs, out record, out error)
            : TryConsume(consumer, fetchedAtMs, out record, out error);
        if (error is not null)
        {
            KafkaClientLog.Error(logger, Client, error.Code, error.Reason);
            return false;
        }

        return read;
    }

    /// <summary>What <see cref="KafkaRecordReader.TryRead"/> does, through Confluent's <c>Consume</c>.</summary>
    private bool TryConsume(IConsumer<byte[]?, byte[]?> consumer, long fetchedAtMs, out KafkaRecord? record, out Error? error)
    {
        record = null;
        error = null;
        ConsumeResult<byte[]?, byte[]?>? result;
        try
        {
            result = consumer.Consume(TimeSpan.Zero);
        }
        catch (ConsumeException ex)
        {
            error = ex.Error;
            return true;
        }

        if (result is null)
        {
            return false;
        }

        record = result.IsPartitionEOF ? null : ToRecord(partition.Topic, result, fetchedAtMs);
        return true;
    }

    internal static KafkaRecord ToRecord(string topic, ConsumeResult<byte[]?, byte[]?> result, long fetchedAtMs)
    {
        KafkaHeader[]? headers = null;
        if (result.Message.Headers is { Count: > 0 } source)
        {
            headers = new KafkaHeader[source.Count];
            for (var i = 0; i < source.Count; i++)
            {
                headers[i] = new KafkaHeader(source[i].Key, source[i].GetValueBytes());
            }
        }

        return new KafkaRecord(
            topic,
            result.Partition.Value,
            result.Offset.Value,
            result.Message.Key,
            result.Message.Value,
            result.Message.Timestamp.UnixTimestampMs,
            headers,
            fetchedAtMs);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reading Kafka {Topic}[{Partition}] from {Offset}")]
    private partial void LogStarted(string topic, int partition, string offset);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped reading Kafka {Topic}[{Partition}]")]
    private partial void LogStopped(string topic, int partition);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rewound Kafka {Topic}[{Partition}] to offset {Offset} on request")]
    private partial void LogRewound(string topic, int partition, long offset);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checkpoint of Kafka {Topic}[{Partition}] is unavailable; retrying later")]
    private partial void LogCheckpointUnavailable(Exception exception, string topic, int partition);
}
