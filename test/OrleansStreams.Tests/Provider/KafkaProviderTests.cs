using System.Text;
using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka;
using OrleansStreams.Streaming.Kafka.Embedded;
using OrleansStreams.Tests.Infrastructure;

namespace OrleansStreams.Tests.Provider;

/// <summary>The Kafka stream provider alone, against the embedded Kafka.</summary>
[Collection(nameof(RecordingGrain))]
public sealed class KafkaProviderTests
{
    private const int Partitions = TestKafka.Partitions;

    [Fact]
    public async Task records_over_eight_partitions_are_all_delivered_in_offset_order_per_partition()
    {
        RecordingGrain.Delivered.Clear();
        using var kafka = TestKafka.Start(extraTopics: RecordingGrain.ProviderTopic);
        await using var app = await AppCluster.StartAsync(kafka, ProviderSettings());

        await ProduceAsync(kafka, 4_000, from: 0);
        var ends = KafkaTestData.EndOffsets(kafka.BootstrapServers, RecordingGrain.ProviderTopic, Partitions);
        await WaitDeliveredAsync(ends);

        foreach (var (partition, end) in ends)
        {
            Assert.Equal(Enumerable.Range(0, (int)end).Select(o => (long)o), RecordingGrain.Delivered[partition]);
        }

        // The durable offsets reach the consumer group, where lag tools read them.
        await Eventually.Until(
            () => Task.FromResult(KafkaTestData.CommittedOffsets(kafka.BootstrapServers, new KafkaStreamOptions().ConsumerGroupId, RecordingGrain.ProviderTopic, Partitions)),
            c => c.Count == Partitions && c.All(p => p.Value == ends[p.Key]),
            TimeSpan.FromSeconds(30),
            "the consumer group's offsets at the end");
    }

    [Fact]
    public async Task after_a_restart_delivery_resumes_from_the_durable_offset()
    {
        RecordingGrain.Delivered.Clear();
        using var kafka = TestKafka.Start(extraTopics: RecordingGrain.ProviderTopic);
        await using var azurite = await Azurite.StartAsync();
        var settings = ProviderSettings(
            ("Storage:Provider", "AzureTable"),
            ("Storage:ConnectionString", azurite.ConnectionString),
            ("Orleans:ServiceId", "provider-restart"));

        Dictionary<int, long> firstEnds;
        await using (var first = await AppCluster.StartAsync(kafka, settings))
        {
            await ProduceAsync(kafka, 2_000, from: 0);
            firstEnds = KafkaTestData.EndOffsets(kafka.BootstrapServers, RecordingGrain.ProviderTopic, Partitions);
            await WaitDeliveredAsync(firstEnds);
            await Eventually.Until(() => CheckpointsAsync(first), c => c.SequenceEqual(firstEnds.OrderBy(e => e.Key).Select(e => e.Value)), TimeSpan.FromSeconds(30), "checkpoints at the end");
        }

        // Records produced while no silo runs, then a new cluster on the same storage.
        await ProduceAsync(kafka, 2_000, from: 2_000);
        var ends = KafkaTestData.EndOffsets(kafka.BootstrapServers, RecordingGrain.ProviderTopic, Partitions);
        await using var second = await AppCluster.StartAsync(kafka, settings);
        await WaitDeliveredAsync(ends);

        foreach (var (partition, end) in ends)
        {
            // Nothing lost, nothing delivered twice: the second run started exactly at the durable offset.
            Assert.Equal(Enumerable.Range(0, (int)end).Select(o => (long)o), RecordingGrain.Delivered[partition]);
            Assert.True(firstEnds[partition] < end);
        }
    }

    private static Dictionary<string, string> ProviderSettings(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string> { ["Test:ProviderTopic"] = RecordingGrain.ProviderTopic };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static Task ProduceAsync(EmbeddedKafkaCluster kafka, int count, int from) =>
        KafkaTestData.ProduceAsync(
            kafka.BootstrapServers,
            RecordingGrain.ProviderTopic,
            Enumerable.Range(from, count).Select(i => ((string?)$"key-{i % 97}", (byte[]?)Encoding.UTF8.GetBytes($"record {i}"))),
            Partitions);

    private static Task WaitDeliveredAsync(Dictionary<int, long> ends) =>
        Eventually.Until(
            () => Task.FromResult(ends.Keys.Sum(p => RecordingGrain.Delivered.TryGetValue(p, out var q) ? q.Count : 0)),
            n => n >= ends.Values.Sum(),
            TimeSpan.FromSeconds(60),
            "every record delivered");

    private static async Task<long[]> CheckpointsAsync(AppCluster app) =>
        (await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => KafkaCheckpoints.Get(app.Grains, RecordingGrain.ProviderName, RecordingGrain.ProviderTopic, p).GetAsync())))
        .Select(c => c.NextOffset)
        .ToArray();
}
