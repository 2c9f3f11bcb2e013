using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// Counts and logs batches Orleans could not deliver. Nothing is lost: the partition's processor sees the gap
/// and the partition is read again from its durable offset.
/// </summary>
internal sealed partial class KafkaStreamFailureHandler(KafkaProviderStats stats, ILogger<KafkaStreamFailureHandler> logger) : IStreamFailureHandler
{
    public bool ShouldFaultSubsriptionOnError => false;

    public Task OnDeliveryFailure(GuidId subscriptionId, string streamProviderName, StreamId streamId, StreamSequenceToken? sequenceToken)
    {
        stats.DeliveryFailed();
        LogDeliveryFailure(streamProviderName, streamId.ToString(), sequenceToken?.ToString() ?? "none");
        return Task.CompletedTask;
    }

    public Task OnSubscriptionFailure(GuidId subscriptionId, string streamProviderName, StreamId streamId, StreamSequenceToken? sequenceToken)
    {
        LogSubscriptionFailure(streamProviderName, streamId.ToString());
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Provider}: delivery to the processor of {Stream} failed at {Token}; it will be read again from the durable offset")]
    private partial void LogDeliveryFailure(string provider, string stream, string token);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Provider}: subscription to {Stream} failed")]
    private partial void LogSubscriptionFailure(string provider, string stream);
}
