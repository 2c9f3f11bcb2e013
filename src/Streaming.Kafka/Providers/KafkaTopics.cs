using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>Creates missing topics at startup and reads every topic's partition count.</summary>
internal static partial class KafkaTopics
{
    public static IReadOnlyList<(string Topic, int Partitions)> Provision(string providerName, KafkaStreamOptions options, ILogger logger)
    {
        using var admin = new AdminClientBuilder(KafkaClientConfigs.Admin(options))
            .SetLogHandler((_, message) => KafkaClientLog.Message(logger, "admin", message.Level.ToString(), message.Message))
            .Build();

        if (options.CreateTopics)
        {
            CreateMissing(admin, options, logger);
        }

        var deadline = DateTime.UtcNow + options.MetadataTimeout;
        var result = new List<(string, int)>();
        foreach (var topic in options.Topics)
        {
            while (true)
            {
                string problem;
                try
                {
                    var metadata = admin.GetMetadata(topic, options.MetadataTimeout).Topics.SingleOrDefault(t => t.Topic == topic);
                    if (metadata is { Error.IsError: false, Partitions.Count: > 0 })
                    {
                        result.Add((topic, metadata.Partitions.Count));
                        break;
                    }

                    problem = metadata?.Error.Reason ?? "no metadata";
                }
                catch (KafkaException ex)
                {
                    problem = ex.Error.Reason;
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new OrleansConfigurationException(
                        $"Kafka stream provider '{providerName}': topic '{topic}' is not available at {options.BootstrapServers} ({problem}); check {nameof(KafkaStreamOptions.BootstrapServers)} and {nameof(KafkaStreamOptions.Topics)}.");
                }

                Thread.Sleep(250);
            }
        }

        return result;
    }

    private static void CreateMissing(IAdminClient admin, KafkaStreamOptions options, ILogger logger)
    {
        List<string> missing;
        try
        {
            var existing = admin.GetMetadata(options.MetadataTimeout).Topics
                .Where(t => !t.Error.IsError)
                .Select(t => t.Topic)
                .ToHashSet(StringComparer.Ordinal);
            missing = options.Topics.Concat(options.OutputTopics).Distinct(StringComparer.Ordinal).Where(t => !existing.Contains(t)).ToList();
        }
        catch (KafkaException ex)
        {
            LogCannotListTopics(logger, ex.Error.Reason);
            return;
        }

        if (missing.Count == 0)
        {
            return;
        }

        try
        {
            admin.CreateTopicsAsync(missing.Select(t => new TopicSpecification
            {
                Name = t,
                NumPartitions = options.PartitionCount,
                ReplicationFactor = options.ReplicationFactor,
            })).GetAwaiter().GetResult();
            foreach (var topic in missing)
            {
                LogTopicCreated(logger, topic, options.PartitionCount);
            }
        }
        catch (CreateTopicsException ex)
        {
            foreach (var report in ex.Results)
            {
                if (report.Error.Code == Confluent.Kafka.ErrorCode.TopicAlreadyExists)
                {
                    continue;
                }

                LogTopicNotCreated(logger, report.Topic, report.Error.Reason);
            }
        }
        catch (KafkaException ex)
        {
            LogTopicNotCreated(logger, string.Join(",", missing), ex.Error.Reason);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created Kafka topic {Topic} with {Partitions} partitions")]
    private static partial void LogTopicCreated(ILogger logger, string topic, int partitions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka topic {Topic} was not created ({Reason}); using it as the cluster has it")]
    private static partial void LogTopicNotCreated(ILogger logger, string topic, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not list Kafka topics ({Reason}); no topic is created")]
    private static partial void LogCannotListTopics(ILogger logger, string reason);
}
