using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Placement;
using OrleansStreams.Grains.Core;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Grains.Dispatch;

/// <summary>Processes one partition of <c>pageviews</c>: each view counts for its URL and its user.</summary>
[ImplicitStreamSubscription(Topics.PageViews)]
[PreferLocalPlacement]
internal sealed class PageViewDispatcherGrain(IOptions<ProcessingOptions> options, IOptions<WindowOptions> windows, KafkaOutput output, WatermarkCache watermarks, PipelineMetrics metrics, SinkCalls sinkCalls, IHostApplicationLifetime lifetime, ILogger<PageViewDispatcherGrain> logger)
    : PartitionDispatcherGrain<PageView>(options, windows, output, watermarks, metrics, lifetime, logger), IPageViewDispatcherGrain
{
    protected override string Topic => Topics.PageViews;

    protected override Route<PageView>[] CreateRoutes() =>
    [
        new("url", view => view.Url, key => GrainFactory.GetKeyed<IUrlGrain>(key),
            sinkCalls.Sender<PageView>("url views", static (grain, parts) => ((IUrlGrain)grain).ApplyPageViewsAsync(parts))),
        new("user", view => view.UserId, key => GrainFactory.GetKeyed<IUserGrain>(key),
            sinkCalls.Sender<PageView>("user views", static (grain, parts) => ((IUserGrain)grain).ApplyPageViewsAsync(parts))),
    ];

    protected override bool TryParse(byte[] value, out PageView parsed, out string error) =>
        EventParser.TryParsePageView(value, out parsed, out error);

    protected override double EventTimeOf(PageView parsed) => parsed.ViewTime;

    protected override string? Validate(PageView parsed) => Options.ValidateUrl(parsed.Url);
}
