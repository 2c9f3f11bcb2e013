using Confluent.Kafka;
using OrleansStreams.Grains;
using OrleansStreams.Streaming.Kafka;
using OrleansStreams.Tests.Infrastructure;

namespace OrleansStreams.Tests.Provider;

/// <summary>The producer the provider and the output share, against the embedded Kafka.</summary>
public sealed class SharedProducerTests
{
    [Fact]
    public async Task disposing_while_others_write_lets_every_accepted_write_reach_kafka_and_refuses_later_ones()
    {
        using var kafka = TestKafka.Start();
        var producer = new SharedProducer(KafkaClientConfigs.Producer(new KafkaStreamOptions { BootstrapServers = kafka.BootstrapServers }));
        var accepted = new List<Task>[4];
        var refused = new bool[4];
        using var started = new CountdownEvent(accepted.Length);
        var writers = Enumerable.Range(0, accepted.Length).Select(w => new Thread(() =>
        {
            // Each writer writes until the producer refuses, a little at a time so that its queue never fills.
            accepted[w] = [];
            started.Signal();
            while (!refused[w] && accepted[w].Count < 50_000)
            {
                try
                {
                    accepted[w].Add(producer.ProduceAsync(new TopicPartition(Topics.PageViews, w), new Message<byte[]?, byte[]?> { Value = [(byte)w] }));
                    Thread.SpinWait(500);
                }
                catch (ObjectDisposedException)
                {
                    refused[w] = true;
                }
            }
        })).ToArray();

        foreach (var writer in writers)
        {
            writer.Start();
        }

        started.Wait();
        Thread.Sleep(20);
        producer.Dispose();
        foreach (var writer in writers)
        {
            writer.Join();
        }

        // Every write the producer accepted reached Kafka; every writer was refused once it was disposed.
        await Task.WhenAll(accepted.SelectMany(a => a));
        Assert.All(refused, Assert.True);
        Assert.Equal(accepted.Sum(a => a.Count), KafkaTestData.EndOffsets(kafka.BootstrapServers, Topics.PageViews, TestKafka.Partitions).Values.Sum());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => producer.ProduceAsync(Topics.PageViews, new Message<byte[]?, byte[]?> { Value = [1] }));
    }
}
