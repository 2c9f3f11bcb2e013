using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Concurrency;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Grains;

/// <summary>Answers from whichever silo it runs on: each silo knows the Kafka it reads.</summary>
[StatelessWorker]
internal sealed class ClusterInfoGrain(IOptionsMonitor<KafkaStreamOptions> options, KafkaProviderStats stats) : Grain, IClusterInfoGrain
{
    public Task<KafkaInfo> GetKafkaAsync() =>
        Task.FromResult(new KafkaInfo(
            options.Get(Topics.StreamProvider).BootstrapServers,
            [.. stats.Topics.Select(t => new TopicInfo(t.Topic, t.Partitions))]));
}
