using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace OrleansStreams.Silo.Storage;

/// <summary>
/// Grain state in Azure Table storage, written in entity-group transactions. Grains are spread over a fixed set of
/// table partitions by a stable hash of their id; each partition has one transaction in flight at a time, and it
/// carries every write that queued for that partition meanwhile (up to 100 entities, the service's limit). Under
/// load a write costs a fraction of a request instead of a whole one; a lone write costs one request, as before.
/// Each write keeps its own ETag check: one that lost a race fails alone with an
/// <see cref="InconsistentStateException"/>, and the others of its transaction are sent again.
/// Reads are point queries, one grain's row each: the service finds a row by its two keys without scanning (a filter
/// that joins row keys with <c>or</c> scans the whole partition), whatever the table holds.
/// </summary>
internal sealed partial class TableBatchGrainStorage(
    TableClient table,
    string serviceId,
    int partitions,
    int maxInFlight,
    IGrainStorageSerializer serializer,
    IActivatorProvider activators,
    ILogger<TableBatchGrainStorage> logger) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>The table holding every grain's state.</summary>
    public const string TableName = "OrleansStreamsState";

    /// <summary>Table partitions the grains are spread over: as many transactions can be in flight at once.</summary>
    public const int DefaultPartitions = 32;

    /// <summary>Most actions in one transaction, the service's limit.</summary>
    public const int MaxActions = 100;

    /// <summary>Most state bytes in one transaction: the service takes 4 MiB, encoding and envelope included.</summary>
    private const int MaxTransactionBytes = 2 * 1024 * 1024;

    /// <summary>A binary property holds at most 64 KiB; an entity at most 1 MiB, so a state spans at most 15 of them.</summary>
    private const int ChunkBytes = 64 * 1024;

    private const int MaxChunks = 15;

    /// <summary>States from this size up are stored compressed; below it, compression saves too little to pay.</summary>
    private const int MinCompressedBytes = 256;

    /// <summary>The property noting a compressed state's uncompressed length; without it, the state is stored as it is.</summary>
    private const string RawLengthProperty = "RawLength";

    /// <summary>Row keys hold at most 1 KiB; longer ones are shortened and made unique by a hash.</summary>
    private const int MaxRowKeyChars = 250;

    private readonly Partition[] _partitions = [.. Enumerable.Range(0, partitions)
        .Select(p => new Partition(Escape(string.Create(CultureInfo.InvariantCulture, $"{serviceId}_{p:D3}"))))];
    private readonly SemaphoreSlim _inFlight = new(maxInFlight);
    private Task? _tableReady;

    /// <summary>The table is created while the silo starts: a storage it cannot reach stops startup.</summary>
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(TableBatchGrainStorage), ServiceLifecycleStage.ApplicationServices, async _ =>
        {
            try
            {
                await EnsureTableAsync();
            }
            catch (RequestFailedException ex)
            {
                throw new OrleansConfigurationException($"Table {table.Name} at Storage:ConnectionString could not be created: {ex.Message}", ex);
            }
        });

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var (partition, rowKey) = KeysOf(stateName, grainId.ToString());
        if (await ReadAsync(partition, rowKey) is not { } entity)
        {
            grainState.State = activators.GetActivator<T>().Create();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        grainState.State = serializer.Deserialize<T>(Decompress(Join(entity), entity));
        grainState.ETag = entity.ETag.ToString();
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var id = grainId.ToString();
        var (partition, rowKey) = KeysOf(stateName, id);
        var data = serializer.Serialize(grainState.State);
        var entity = new TableEntity(partition.Key, rowKey) { ["GrainId"] = id, ["StateName"] = stateName };
        var stored = Compress(data.ToMemory(), entity);
        Split(stored, entity, id);
        var action = grainState.ETag is null
            ? new TableTransactionAction(TableTransactionActionType.Add, entity)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, new ETag(grainState.ETag));
        var etag = await WriteAsync(partition, new Write(action, stored.Length, id, grainState.ETag));
        grainState.ETag = etag.ToString();
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        if (grainState.ETag is { } current)
        {
            var id = grainId.ToString();
            var (partition, rowKey) = KeysOf(stateName, id);
            var action = new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition.Key, rowKey), new ETag(current));
            await WriteAsync(partition, new Write(action, 0, id, current));
        }

        grainState.State = activators.GetActivator<T>().Create();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    /// <summary>The partition key and row key of a grain's state.</summary>
    internal (string PartitionKey, string RowKey) RowOf(string stateName, GrainId grainId)
    {
        var (partition, rowKey) = KeysOf(stateName, grainId.ToString());
        return (partition.Key, rowKey);
    }

    /// <summary>
    /// The table partition of a grain, chosen by a stable hash of its id (FNV-1a, the same on every silo and run),
    /// and its row key there.
    /// </summary>
    private (Partition Partition, string RowKey) KeysOf(string stateName, string grainId)
    {
        var hash = 2166136261;
        foreach (var c in grainId)
        {
            hash = (hash ^ c) * 16777619;
        }

        var rowKey = Escape($"{stateName}_{grainId}");
        if (rowKey.Length > MaxRowKeyChars)
        {
            rowKey = rowKey[..(MaxRowKeyChars - 65)] + "_" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(rowKey)));
        }

        return (_partitions[hash % (uint)_partitions.Length], rowKey);
    }

    /// <summary>
    /// Makes a string a valid table key: the characters keys may not hold ('/', '\', '#', '?', control characters)
    /// and the escape character itself become <c>%XXXX</c>, so distinct strings stay distinct.
    /// </summary>
    internal static string Escape(string key)
    {
        var builder = new StringBuilder(key.Length);
        foreach (var c in key)
        {
            if (c is '/' or '\\' or '#' or '?' or '%' || char.IsControl(c))
            {
                builder.Append('%').Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>
    /// A state of some size is stored Brotli-compressed at its fastest level (grain state repeats field names, ids
    /// and URLs: it halves), and the entity notes its uncompressed length; a small one, or one compression does not
    /// shrink by a tenth, is stored as it is. Fewer bytes make cheaper transactions for the service and the silo alike.
    /// </summary>
    private static ReadOnlyMemory<byte> Compress(ReadOnlyMemory<byte> data, TableEntity entity)
    {
        if (data.Length < MinCompressedBytes)
        {
            return data;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(BrotliEncoder.GetMaxCompressedLength(data.Length));
        try
        {
            if (!BrotliEncoder.TryCompress(data.Span, buffer, out var written, quality: 1, window: 22) || written > data.Length * 9 / 10)
            {
                return data;
            }

            entity[RawLengthProperty] = data.Length;
            return buffer.AsSpan(0, written).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static BinaryData Decompress(BinaryData stored, TableEntity entity)
    {
        if (entity.GetInt32(RawLengthProperty) is not { } length)
        {
            return stored;
        }

        var data = new byte[length];
        if (!BrotliDecoder.TryDecompress(stored.ToMemory().Span, data, out var written) || written != length)
        {
            throw new InvalidDataException($"The state in row {entity.RowKey} does not decompress to the {length:N0} bytes its entity notes.");
        }

        return new BinaryData(data);
    }

    private static void Split(ReadOnlyMemory<byte> bytes, TableEntity entity, string grainId)
    {
        var chunks = (bytes.Length + ChunkBytes - 1) / ChunkBytes;
        if (chunks > MaxChunks)
        {
            throw new InvalidOperationException($"The state of {grainId} is {bytes.Length:N0} bytes stored; a table entity holds at most {MaxChunks * ChunkBytes:N0}.");
        }

        if (chunks == 1 && MemoryMarshal.TryGetArray(bytes, out var whole) && whole is { Offset: 0, Array: { } array } && array.Length == bytes.Length)
        {
            // The serialized or compressed state is an array of its own: the entity takes it as it is.
            entity[DataProperty(0)] = array;
            return;
        }

        for (var i = 0; i < chunks; i++)
        {
            var start = i * ChunkBytes;
            entity[DataProperty(i)] = bytes.Slice(start, Math.Min(ChunkBytes, bytes.Length - start)).ToArray();
        }
    }

    private static BinaryData Join(TableEntity entity)
    {
        var chunks = new List<byte[]>();
        for (var i = 0; entity.GetBinary(DataProperty(i)) is { } chunk; i++)
        {
            chunks.Add(chunk);
        }

        return chunks.Count == 1 ? new BinaryData(chunks[0]) : new BinaryData(chunks.SelectMany(c => c).ToArray());
    }

    private static string DataProperty(int chunk) => "Data" + chunk.ToString(CultureInfo.InvariantCulture);

    private Task EnsureTableAsync()
    {
        var ready = _tableReady;
        if (ready is null || ready.IsFaulted || ready.IsCanceled)
        {
            _tableReady = ready = table.CreateIfNotExistsAsync();
        }

        return ready;
    }

    /// <summary>Reads a row by its keys, with the requests in flight kept within the limit; null when it does not exist.</summary>
    private async Task<TableEntity?> ReadAsync(Partition partition, string rowKey)
    {
        await _inFlight.WaitAsync();
        try
        {
            await EnsureTableAsync();
            var found = await table.GetEntityIfExistsAsync<TableEntity>(partition.Key, rowKey);
            return found.HasValue ? found.Value : null;
        }
        finally
        {
            _inFlight.Release();
        }
    }

    /// <summary>
    /// Writes (or deletes) a row with the next transaction of its partition, and starts the partition's sender if it
    /// is idle; returns the row's new ETag.
    /// </summary>
    private Task<ETag> WriteAsync(Partition partition, Write write)
    {
        var start = false;
        lock (partition)
        {
            partition.Writes.Enqueue(write);
            if (!partition.Sending)
            {
                partition.Sending = start = true;
            }
        }

        if (start)
        {
            _ = Task.Run(() => DrainAsync(partition));
        }

        return write.Done.Task;
    }

    /// <summary>
    /// Sends what queued for one partition, a transaction at a time, until nothing is left. A transaction's writes are
    /// taken only once it may go (at most <c>maxInFlight</c> requests are out at once, over all partitions), so what
    /// queues while storage is busy joins it rather than waiting in transactions of its own.
    /// </summary>
    private async Task DrainAsync(Partition partition)
    {
        while (true)
        {
            await _inFlight.WaitAsync();
            try
            {
                List<Write> batch;
                lock (partition)
                {
                    batch = TakeWrites(partition.Writes);
                    if (batch.Count == 0)
                    {
                        partition.Sending = false;
                        return;
                    }
                }

                await SendWritesAsync(batch);
            }
            finally
            {
                _inFlight.Release();
            }
        }
    }

    /// <summary>The next transaction's writes: up to 100, of distinct rows, within the size limit.</summary>
    private static List<Write> TakeWrites(Queue<Write> queue)
    {
        var batch = new List<Write>();
        var rows = new HashSet<string>(StringComparer.Ordinal);
        var bytes = 0;
        while (queue.TryPeek(out var next)
            && batch.Count < MaxActions
            && (batch.Count == 0 || bytes + next.Bytes <= MaxTransactionBytes)
            && rows.Add(next.RowKey))
        {
            batch.Add(queue.Dequeue());
            bytes += next.Bytes;
        }

        return batch;
    }

    private async Task SendWritesAsync(List<Write> batch)
    {
        while (batch.Count > 0)
        {
            try
            {
                await EnsureTableAsync();
                var response = await table.SubmitTransactionAsync(batch.Select(w => w.Action));
                for (var i = 0; i < batch.Count; i++)
                {
                    var etag = response.Value[i].Headers.ETag;
                    if (etag is not null || batch[i].Action.ActionType == TableTransactionActionType.Delete)
                    {
                        batch[i].Done.TrySetResult(etag.GetValueOrDefault());
                    }
                    else
                    {
                        batch[i].Done.TrySetException(new InvalidOperationException($"Table storage returned no ETag for the state of {batch[i].GrainId}."));
                    }
                }

                return;
            }
            catch (TableTransactionFailedException ex) when (ex.FailedTransactionActionIndex is int failed && failed < batch.Count)
            {
                // Only that write failed; the transaction applied none of them, so the others go again.
                var write = batch[failed];
                write.Done.TrySetException(IsConflict(ex)
                    ? new InconsistentStateException($"The state of {write.GrainId} changed in table storage since it was read ({(HttpStatusCode)ex.Status}).", "Unknown", write.ExpectedETag ?? "none", ex)
                    : ex);
                batch.RemoveAt(failed);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogTransactionFailed(ex, batch.Count);
                foreach (var write in batch)
                {
                    write.Done.TrySetException(ex);
                }

                return;
            }
        }
    }

    private static bool IsConflict(RequestFailedException ex) =>
        ex.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.Conflict or (int)HttpStatusCode.NotFound;

    [LoggerMessage(Level = LogLevel.Warning, Message = "A table transaction of {Count} grain state writes failed; each writer sees the error")]
    private partial void LogTransactionFailed(Exception exception, int count);

    /// <summary>One table partition: its key, the writes waiting for its next transaction, and whether a sender is taking them.</summary>
    private sealed class Partition(string key)
    {
        public string Key => key;

        public Queue<Write> Writes { get; } = new();

        public bool Sending { get; set; }
    }

    /// <summary>One queued write (or delete) of a grain's state, <paramref name="Bytes"/> of it, and who waits for its ETag.</summary>
    private sealed record Write(TableTransactionAction Action, int Bytes, string GrainId, string? ExpectedETag)
    {
        public string RowKey => Action.Entity.RowKey;

        public TaskCompletionSource<ETag> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
