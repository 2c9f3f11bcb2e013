using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;

namespace OrleansStreams.Grains;

[GenerateSerializer, Alias("OrleansStreams.UrlState")]
public sealed class UrlState : SinkState
{
    [Id(0)]
    public long Total { get; set; }
}

/// <summary>Durable total views of one URL (the key).</summary>
internal sealed class UrlGrain(
    [PersistentState("url", GrainStorage.Name)] IPersistentState<UrlState> state,
    UrlCatalog catalog,
    ILogger<UrlGrain> logger) : PageViewSinkGrain<UrlState>(state, logger), IUrlGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        catalog.Add(this.GetPrimaryKeyString());
        return base.OnActivateAsync(cancellationToken);
    }

    public Task<UrlTotals> GetTotalsAsync() => Task.FromResult(new UrlTotals(this.GetPrimaryKeyString(), State.Total));

    protected override void Apply(PageView view) => State.Total++;
}
