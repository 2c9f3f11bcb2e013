using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;

namespace OrleansStreams.Grains;

[GenerateSerializer, Alias("OrleansStreams.UserState")]
public sealed class UserState : SinkState
{
    [Id(0)]
    public long Views { get; set; }
}

/// <summary>Durable views of one user (the key).</summary>
internal sealed class UserGrain(
    [PersistentState("user", GrainStorage.Name)] IPersistentState<UserState> state,
    ILogger<UserGrain> logger) : PageViewSinkGrain<UserState>(state, logger), IUserGrain
{
    public Task<UserTotals> GetTotalsAsync() => Task.FromResult(new UserTotals(this.GetPrimaryKeyString(), State.Views));

    protected override void Apply(PageView view) => State.Views++;
}
