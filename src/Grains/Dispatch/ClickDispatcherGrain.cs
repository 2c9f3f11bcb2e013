using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Placement;
using OrleansStreams.Grains.Core;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Grains.Dispatch;

/// <summary>Processes one partition of <c>clicks</c>: each click goes to its user.</summary>
[ImplicitStreamSubscription(Topics.Clicks)]
[PreferLocalPlacement]
internal sealed class ClickDispatcherGrain(IOptions<ProcessingOptions> options, IOptions<WindowOptions> windows, KafkaOutput output, WatermarkCache watermarks, PipelineMetrics metrics, SinkCalls sinkCalls, IHostApplicationLifetime lifetime, ILogger<ClickDispatcherGrain> logger)
    : PartitionDispatcherGrain<ClickEvent>(options, windows, output, watermarks, metrics, lifetime, logger), IClickDispatcherGrain
{
    protected override string Topic => Topics.Clicks;

    protected override Route<ClickEvent>[] CreateRoutes() =>
    [
        new("user", click => click.UserId, key => GrainFactory.GetKeyed<IUserGrain>(key),
            sinkCalls.Sender<ClickEvent>("user clicks", static (grain, parts) => ((IUserGrain)grain).ApplyClicksAsync(parts))),
    ];

    protected override bool TryParse(byte[] value, out ClickEvent parsed, out string error) =>
        EventParser.TryParseClick(value, out parsed, out error);

    protected override double EventTimeOf(ClickEvent parsed) => parsed.ClickTime;

    protected override string? Validate(ClickEvent parsed) => Options.ValidateUrl(parsed.Url);
}
