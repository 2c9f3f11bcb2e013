using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Runtime;

namespace OrleansStreams.Grains;

[GenerateSerializer, Alias("OrleansStreams.DeadLetterState")]
public sealed class DeadLetterState : SinkState
{
    /// <summary>Most recent last; bounded by count and bytes (the topic keeps every entry).</summary>
    [Id(0)]
    public List<DeadLetter> Recent { get; set; } = [];

    [Id(1)]
    public Dictionary<string, long> ByReason { get; set; } = [];
}

/// <summary>One shard of the dead-letter queue (key: shard number).</summary>
internal sealed class DeadLetterGrain(
    [PersistentState("deadletters", GrainStorage.Name)] IPersistentState<DeadLetterState> state,
    IOptions<ProcessingOptions> processing,
    ILogger<DeadLetterGrain> logger) : SinkGrain<DeadLetterState>(state, processing, logger), IDeadLetterGrain
{
    private const int MaxRecent = 1000;
    private const long MaxRecentBytes = 4 * 1024 * 1024;

    public Task<SinkReceipt> ApplyDeadLettersAsync(string source, Guid expectedActivation, Positioned<DeadLetter>[] deadLetters) =>
        ApplyAsync(source, expectedActivation, deadLetters, Add);

    public async Task AddAsync(DeadLetter[] deadLetters)
    {
        ArgumentNullException.ThrowIfNull(deadLetters);
        foreach (var deadLetter in deadLetters)
        {
            if (!State.Recent.Exists(d => string.Equals(d.Id, deadLetter.Id, StringComparison.Ordinal)))
            {
                Add(deadLetter);
                MarkDirty();
            }
        }

        await PersistAsync();
    }

    public Task<DeadLetter[]> ListAsync(string? reason, int limit) =>
        Task.FromResult(State.Recent
            .AsEnumerable()
            .Reverse()
            .Where(d => reason is null || string.Equals(d.Reason, reason, StringComparison.Ordinal))
            .Take(Math.Max(0, limit))
            .ToArray());

    public Task<DeadLetter?> GetAsync(string id) =>
        Task.FromResult(State.Recent.LastOrDefault(d => string.Equals(d.Id, id, StringComparison.Ordinal)));

    public Task<DeadLetterStats> GetStatsAsync() =>
        Task.FromResult(new DeadLetterStats(State.ByReason.Values.Sum(), new Dictionary<string, long>(State.ByReason)));

    private void Add(DeadLetter deadLetter)
    {
        State.ByReason[deadLetter.Reason] = State.ByReason.GetValueOrDefault(deadLetter.Reason) + 1;
        State.Recent.Add(deadLetter);
        var bytes = State.Recent.Sum(d => (long)(d.Payload?.Length ?? 0) + (d.Key?.Length ?? 0));
        while (State.Recent.Count > 1 && (State.Recent.Count > MaxRecent || bytes > MaxRecentBytes))
        {
            bytes -= (State.Recent[0].Payload?.Length ?? 0) + (State.Recent[0].Key?.Length ?? 0);
            State.Recent.RemoveAt(0);
        }
    }
}
