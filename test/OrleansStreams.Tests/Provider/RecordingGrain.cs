using System.Collections.Concurrent;
using Orleans.Streams;
using Orleans.Streams.Core;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Tests.Provider;

public interface IRecordingGrain : IGrainWithStringKey
{
    Task PingAsync();
}

/// <summary>
/// A minimal processor on the Kafka provider's test topic: it records every offset delivered to it, in delivery
/// order, and then advances the partition's durable checkpoint past the batch, as a real processor would after
/// persisting its effects.
/// </summary>
[ImplicitStreamSubscription(ProviderTopic)]
public sealed class RecordingGrain : Grain, IRecordingGrain, IAsyncBatchObserver<KafkaRecord>, IStreamSubscriptionObserver
{
    public const string ProviderName = "kafka-provider-test";
    public const string ProviderTopic = "provider-test";

    /// <summary>Offsets delivered, per partition, in the order they arrived, across activations and silos of this process.</summary>
    public static ConcurrentDictionary<int, ConcurrentQueue<long>> Delivered { get; } = new();

    public Task PingAsync() => Task.CompletedTask;

    public Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        handleFactory.Create<KafkaRecord>().ResumeAsync(this);

    public async Task OnNextAsync(IList<SequentialItem<KafkaRecord>> items)
    {
        foreach (var item in items)
        {
            Assert.Equal(item.Item.Offset, item.Token.SequenceNumber);
            Delivered.GetOrAdd(item.Item.Partition, _ => new()).Enqueue(item.Item.Offset);
        }

        var last = items[^1].Item;
        await KafkaCheckpoints.Get(GrainFactory, ProviderName, last.Topic, last.Partition).CommitAsync(last.Offset + 1);
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;
}
