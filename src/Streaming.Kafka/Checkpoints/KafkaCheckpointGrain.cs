using Orleans;
using Orleans.Runtime;

namespace OrleansStreams.Streaming.Kafka;

internal sealed class KafkaCheckpointGrain(
    [PersistentState("checkpoint", KafkaCheckpoints.StorageName)] IPersistentState<KafkaCheckpointState> state)
    : Grain, IKafkaCheckpointGrain
{
    private string? _reader;
    private long _logEnd = -1;
    private DateTime? _reportedAt;

    public Task<KafkaCheckpoint> ReportReaderAsync(string silo, long logEndOffset)
    {
        _reader = silo;
        _logEnd = Math.Max(_logEnd, logEndOffset);
        _reportedAt = DateTime.UtcNow;
        return GetAsync();
    }

    public Task<KafkaPartitionStatus> GetStatusAsync() =>
        Task.FromResult(new KafkaPartitionStatus(state.State.NextOffset, _logEnd, _reader, _reportedAt));

    public Task<KafkaCheckpoint> GetAsync() =>
        Task.FromResult(new KafkaCheckpoint(state.State.NextOffset, state.State.RewindGeneration, state.State.RewindOffset));

    public async Task CommitAsync(long nextOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nextOffset);
        if (state.State.NextOffset == nextOffset)
        {
            return;
        }

        state.State.NextOffset = nextOffset;
        await state.WriteStateAsync();
    }

    public async Task<KafkaCheckpoint> PassEmptyAsync(long from, long to)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(to, from);
        if (state.State.NextOffset == from)
        {
            await CommitAsync(to);
        }

        return await GetAsync();
    }

    public async Task RewindAsync(long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        state.State.NextOffset = offset;
        state.State.RewindOffset = offset;
        state.State.RewindGeneration++;
        await state.WriteStateAsync();
    }
}

[GenerateSerializer, Alias("OrleansStreams.KafkaCheckpointState")]
internal sealed class KafkaCheckpointState
{
    [Id(0)]
    public long NextOffset { get; set; } = -1;

    [Id(1)]
    public int RewindGeneration { get; set; }

    [Id(2)]
    public long RewindOffset { get; set; }
}
