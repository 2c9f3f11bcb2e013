using Microsoft.Extensions.Logging;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// What the Kafka clients (<paramref name="client"/>: consumer, producer, admin) report, logged the same way for each:
/// librdkafka's own messages at Debug, and errors at Warning, instead of librdkafka printing them to the console.
/// </summary>
internal static partial class KafkaClientLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "librdkafka {Client} {Level}: {Message}")]
    public static partial void Message(ILogger logger, string client, string level, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka {Client} error {Code}: {Reason}")]
    public static partial void Error(ILogger logger, string client, Confluent.Kafka.ErrorCode code, string reason);
}
