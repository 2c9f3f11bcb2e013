using Orleans;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>Stops startup when a <see cref="KafkaStreamOptions"/> setting is unusable, naming the setting.</summary>
public sealed class KafkaStreamOptionsValidator(KafkaStreamOptions options, string providerName) : IConfigurationValidator
{
    public void ValidateConfiguration()
    {
        foreach (var error in Validate(options))
        {
            throw new OrleansConfigurationException($"Kafka stream provider '{providerName}': {error}");
        }
    }

    /// <summary>Every problem with the options, each naming its setting.</summary>
    public static IEnumerable<string> Validate(KafkaStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.BootstrapServers))
        {
            yield return $"{nameof(KafkaStreamOptions.BootstrapServers)} is required.";
        }

        if (options.Topics is null || options.Topics.Count == 0)
        {
            yield return $"{nameof(KafkaStreamOptions.Topics)} must name at least one topic.";
        }
        else if (options.Topics.Distinct(StringComparer.Ordinal).Count() != options.Topics.Count)
        {
            yield return $"{nameof(KafkaStreamOptions.Topics)} names a topic twice.";
        }

        foreach (var (setting, topics) in new[] { (nameof(KafkaStreamOptions.Topics), options.Topics), (nameof(KafkaStreamOptions.OutputTopics), options.OutputTopics) })
        {
            foreach (var topic in (topics ?? []).Where(t => !IsValidTopicName(t)))
            {
                yield return $"{setting} contains '{topic}', which is not a valid Kafka topic name.";
            }
        }

        if (options.PartitionCount < 1)
        {
            yield return $"{nameof(KafkaStreamOptions.PartitionCount)} must be at least 1 (was {options.PartitionCount}).";
        }

        if (options.ReplicationFactor is 0 or < -1)
        {
            yield return $"{nameof(KafkaStreamOptions.ReplicationFactor)} must be -1 (broker default) or at least 1 (was {options.ReplicationFactor}).";
        }

        if (options.MaxBatchSize < 1)
        {
            yield return $"{nameof(KafkaStreamOptions.MaxBatchSize)} must be at least 1 (was {options.MaxBatchSize}).";
        }

        if (options.CacheSize < 1)
        {
            yield return $"{nameof(KafkaStreamOptions.CacheSize)} must be at least 1 (was {options.CacheSize}).";
        }

        if (string.IsNullOrWhiteSpace(options.ConsumerGroupId))
        {
            yield return $"{nameof(KafkaStreamOptions.ConsumerGroupId)} is required.";
        }

        if (options.CheckpointPollInterval <= TimeSpan.Zero)
        {
            yield return $"{nameof(KafkaStreamOptions.CheckpointPollInterval)} must be positive (was {options.CheckpointPollInterval}).";
        }

        if (options.MetadataTimeout <= TimeSpan.Zero)
        {
            yield return $"{nameof(KafkaStreamOptions.MetadataTimeout)} must be positive (was {options.MetadataTimeout}).";
        }

        if (options.Producer is null)
        {
            yield return $"{nameof(KafkaStreamOptions.Producer)} must not be null.";
        }

        if (options.Consumer is null)
        {
            yield return $"{nameof(KafkaStreamOptions.Consumer)} must not be null.";
        }
    }

    private static bool IsValidTopicName(string? topic) =>
        !string.IsNullOrEmpty(topic)
        && topic.Length <= 249
        && topic is not "." and not ".."
        && topic.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
