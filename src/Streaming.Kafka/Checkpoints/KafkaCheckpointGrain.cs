using Orleans;
using Orleans.Runtime;

namespace OrleansStreams.Streaming.Kafka;

internal sealed class KafkaCheckpointGrain(
    [PersistentState("checkpoint", KafkaCheckpoints.StorageName)] IPersistentState<KafkaCheckpointState> state)
    : Grain, IKafkaCheckpointGrain
{
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
