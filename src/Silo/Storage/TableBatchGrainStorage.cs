using System.Globalization;
using System.Net;
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
/// </summary>
internal sealed partial class TableBatchGrainStorage(
    TableClient table,
    string serviceId,
    int partitions,
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

    /// <summary>Row keys hold at most 1 KiB; longer ones are shortened and made unique by a hash.</summary>
    private const int MaxRowKeyChars = 250;

    private readonly Partition[] _partitions = [.. Enumerable.Range(0, partitions).Select(_ => new Partition())];
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
        await EnsureTableAsync();
        var (_, partitionKey, rowKey) = KeysOf(stateName, grainId);
        var found = await table.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey);
        if (!found.HasValue || found.Value is not { } entity)
        {
            grainState.State = activators.GetActivator<T>().Create();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        grainState.State = serializer.Deserialize<T>(Join(entity));
        grainState.ETag = entity.ETag.ToString();
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var (partition, partitionKey, rowKey) = KeysOf(stateName, grainId);
        var data = serializer.Serialize(grainState.State);
        var entity = new TableEntity(partitionKey, rowKey) { ["GrainId"] = grainId.ToString(), ["StateName"] = stateName };
        Split(data, entity, grainId);
        var action = grainState.ETag is null
            ? new TableTransactionAction(TableTransactionActionType.Add, entity)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, new ETag(grainState.ETag));
        var etag = await SubmitAsync(partition, new Write(rowKey, action, data.ToMemory().Length, grainId, grainState.ETag));
        grainState.ETag = etag.ToString();
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        if (grainState.ETag is { } current)
        {
            var (partition, partitionKey, rowKey) = KeysOf(stateName, grainId);
            var action = new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partitionKey, rowKey), new ETag(current));
            await SubmitAsync(partition, new Write(rowKey, action, 0, grainId, current));
        }

        grainState.State = activators.GetActivator<T>().Create();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    /// <summary>The table partition of a grain: a stable hash of its id (FNV-1a), the same on every silo and run.</summary>
    internal int PartitionOf(GrainId grainId)
    {
        var hash = 2166136261;
        foreach (var c in grainId.ToString())
        {
            hash = (hash ^ c) * 16777619;
        }

        return (int)(hash % (uint)_partitions.Length);
    }

    internal (int Partition, string PartitionKey, string RowKey) KeysOf(string stateName, GrainId grainId)
    {
        var partition = PartitionOf(grainId);
        var partitionKey = Escape(string.Create(CultureInfo.InvariantCulture, $"{serviceId}_{partition:D3}"));
        var rowKey = Escape($"{stateName}_{grainId}");
        if (rowKey.Length > MaxRowKeyChars)
        {
            rowKey = rowKey[..(MaxRowKeyChars - 65)] + "_" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(rowKey)));
        }

        return (partition, partitionKey, rowKey);
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

    private static void Split(BinaryData data, TableEntity entity, GrainId grainId)
    {
        var bytes = data.ToMemory();
        var chunks = (bytes.Length + ChunkBytes - 1) / ChunkBytes;
        if (chunks > MaxChunks)
        {
            throw new InvalidOperationException($"The state of {grainId} is {bytes.Length:N0} bytes; a table entity holds at most {MaxChunks * ChunkBytes:N0}.");
        }

        for (var i = 0; i < chunks; i++)
        {
            var start = i * ChunkBytes;
            entity["Data" + i.ToString(CultureInfo.InvariantCulture)] = bytes.Slice(start, Math.Min(ChunkBytes, bytes.Length - start)).ToArray();
        }
    }

    private static BinaryData Join(TableEntity entity)
    {
        var chunks = new List<byte[]>();
        for (var i = 0; entity.GetBinary("Data" + i.ToString(CultureInfo.InvariantCulture)) is { } chunk; i++)
        {
            chunks.Add(chunk);
        }

        return chunks.Count == 1 ? new BinaryData(chunks[0]) : new BinaryData(chunks.SelectMany(c => c).ToArray());
    }

    private Task EnsureTableAsync()
    {
        var ready = _tableReady;
        if (ready is null || ready.IsFaulted || ready.IsCanceled)
        {
            _tableReady = ready = table.CreateIfNotExistsAsync();
        }

        return ready;
    }

    private Task<ETag> SubmitAsync(int index, Write write)
    {
        var partition = _partitions[index];
        var start = false;
        lock (partition)
        {
            partition.Queue.Enqueue(write);
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

    /// <summary>Sends what queued for one partition, a transaction at a time, until nothing is left.</summary>
    private async Task DrainAsync(Partition partition)
    {
        while (true)
        {
            var batch = new List<Write>();
            lock (partition)
            {
                var rows = new HashSet<string>(StringComparer.Ordinal);
                var bytes = 0;
                while (partition.Queue.TryPeek(out var next)
                    && batch.Count < MaxActions
                    && (batch.Count == 0 || bytes + next.Bytes <= MaxTransactionBytes)
                    && rows.Add(next.RowKey))
                {
                    batch.Add(partition.Queue.Dequeue());
                    bytes += next.Bytes;
                }

                if (batch.Count == 0)
                {
                    partition.Sending = false;
                    return;
                }
            }

            await SendAsync(batch);
        }
    }

    private async Task SendAsync(List<Write> batch)
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

    private sealed class Partition
    {
        public Queue<Write> Queue { get; } = new();

        public bool Sending { get; set; }
    }

    private sealed class Write(string rowKey, TableTransactionAction action, int bytes, GrainId grainId, string? etag)
    {
        public string RowKey => rowKey;

        public TableTransactionAction Action => action;

        public int Bytes => bytes;

        public GrainId GrainId => grainId;

        public string? ExpectedETag => etag;

        public TaskCompletionSource<ETag> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
