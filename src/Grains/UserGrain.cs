using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;

namespace OrleansStreams.Grains;

[GenerateSerializer, Alias("OrleansStreams.UserState")]
public sealed class UserState : SinkState
{
    [Id(0)]
    public long Views { get; set; }

    [Id(1)]
    public long Clicks { get; set; }
}

/// <summary>Durable views and clicks of one user (the key).</summary>
internal sealed class UserGrain(
    [PersistentState("user", GrainStorage.Name)] IPersistentState<UserState> state,
    ILogger<UserGrain> logger) : SinkGrain<UserState>(state, logger), IUserGrain
{
    public Task<SinkReceipt> ApplyPageViewsAsync(string source, Guid expectedActivation, Positioned<PageView>[] views) =>
        ApplyAsync(source, expectedActivation, views, _ => State.Views++);

    public Task<SinkReceipt> ApplyClicksAsync(string source, Guid expectedActivation, Positioned<ClickEvent>[] clicks) =>
        ApplyAsync(source, expectedActivation, clicks, _ => State.Clicks++);

    public Task<UserTotals> GetTotalsAsync() => Task.FromResult(new UserTotals(this.GetPrimaryKeyString(), State.Views, State.Clicks));
}
