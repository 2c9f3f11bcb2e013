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
    IEnumerable<IPageViewHandler> handlers,
    ILogger<UrlGrain> logger) : SinkGrain<UrlState>(state, logger), IUrlGrain
{
    private readonly IPageViewHandler[] _handlers = [.. handlers];

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        catalog.Add(this.GetPrimaryKeyString());
        return base.OnActivateAsync(cancellationToken);
    }

    public Task<SinkReceipt> ApplyPageViewsAsync(string source, Guid expectedActivation, Positioned<PageView>[] views) =>
        ApplyAsync(source, expectedActivation, views, view =>
        {
            foreach (var handler in _handlers)
            {
                handler.Handle(view);
            }

            State.Total++;
        });

    public Task<UrlTotals> GetTotalsAsync() => Task.FromResult(new UrlTotals(this.GetPrimaryKeyString(), State.Total));
}
