using Microsoft.Extensions.Logging.Abstractions;
using OrleansStreams.Grains;
using OrleansStreams.Grains.Dispatch;

namespace OrleansStreams.Tests.Dispatch;

/// <summary>
/// A route against sinks that keep the grains' contract (<see cref="ISink"/>): offsets applied once per source,
/// persisted on flush, and an activation that can be lost with whatever it had not persisted.
/// </summary>
public sealed class RouteTests
{
    private const string Source = "pageviews/0";
    private static readonly RetryPolicy NoWait = new(3, TimeSpan.Zero, NullLogger.Instance);

    [Fact]
    public async Task records_a_target_took_while_its_batch_is_still_in_flight_are_resent_when_a_commit_finds_it_on_a_new_activation()
    {
        var a = new Sink();
        var b = new Sink();
        var route = RouteTo(new() { ["a"] = a, ["b"] = b });
        var calls = Calls();
        await route.ApplyAsync(Source, [new(0, "a"), new(1, "a")], calls);

        // The next batch: "a" takes its records at once, "b" keeps the batch in flight.
        var held = b.Hold();
        var batch = route.ApplyAsync(Source, [new(2, "a"), new(3, "a"), new(4, "b")], calls);
        Assert.Equal(3, a.Applied);

        // "a" loses its activation, and nothing it applied was persisted; the commit that runs alongside the batch
        // finds the new activation and resends what "a" had taken.
        a.Lose();
        await route.FlushAsync(Source, calls, quiet: true);
        held.SetResult();
        await batch;
        await route.FlushAsync(Source, calls, quiet: true);

        Assert.Equal([0, 1, 2, 3], a.Offsets);
        Assert.Equal(3, a.Persisted);
        Assert.Equal(5, route.DurableBefore(5));
    }

    [Fact]
    public async Task records_applied_before_one_whose_processing_keeps_failing_hold_the_durable_offset_until_persisted_and_are_resent_to_a_new_activation()
    {
        var a = new Sink { Failing = 2 };
        var route = RouteTo(new() { ["a"] = a });
        var calls = Calls();

        // Every call of the batch ends in the failing record: no call of it is ever accepted.
        var result = await route.ApplyAsync(Source, [new(0, "a"), new(1, "a"), new(2, "a")], calls);
        Assert.Equal([2L], result.Failures.Select(f => f.Offset));
        Assert.Equal(0, route.DurableBefore(3));

        a.Lose();
        await route.FlushAsync(Source, calls, quiet: true);
        Assert.Equal([0, 1], a.Offsets);
        Assert.Equal(3, route.DurableBefore(3));
    }

    [Fact]
    public async Task a_record_that_fails_when_sent_again_to_a_new_activation_is_left_out_and_holds_the_durable_offset_until_dead_lettered()
    {
        var (a, route, calls) = await LostAfterTakingThreeAsync();

        // The next batch finds a new activation: what the lost one had taken goes first, and record 1 now fails.
        var result = await route.ApplyAsync(Source, [new(3, "a")], calls);
        Assert.Empty(result.Failures);
        Assert.Equal([0, 2, 3], a.Offsets);
        Assert.Equal([1L], route.FailedResends.Select(f => f.Offset));

        await route.FlushAsync(Source, calls, quiet: true);
        Assert.Equal(1, route.DurableBefore(4));
        Assert.Equal("test record 1, which failed when sent again and waits to be dead-lettered", route.Holding(1));
        route.DeadLettered(1);
        Assert.Equal(4, route.DurableBefore(4));
    }

    [Fact]
    public async Task a_record_that_fails_when_a_commit_sends_it_again_is_left_out_too()
    {
        var (a, route, calls) = await LostAfterTakingThreeAsync();
        await route.FlushAsync(Source, calls, quiet: true);
        Assert.Equal([0, 2], a.Offsets);
        Assert.Equal(2, a.Persisted);
        Assert.Equal([1L], route.FailedResends.Select(f => f.Offset));
        Assert.Equal(1, route.DurableBefore(3));
    }

    [Fact]
    public async Task the_target_that_holds_the_durable_offset_is_named_until_it_persists()
    {
        var route = RouteTo(new() { ["a"] = new Sink(), ["b"] = new Sink() });
        var calls = Calls();
        await route.ApplyAsync(Source, [new(0, "b"), new(1, "a"), new(2, "b")], calls);

        Assert.Equal(0, route.DurableBefore(3));
        Assert.Equal("test b (sent up to 2, persisted up to -1)", route.Holding(0));

        await route.FlushAsync(Source, calls, quiet: true);
        Assert.Equal(3, route.DurableBefore(3));
        Assert.Null(route.Holding(3));
    }

    private static TargetCalls Calls() => new(NoWait, maxInFlight: 8);

    /// <summary>A route whose target "a" took records 0 to 2 and then lost its activation; record 1 fails on every later one.</summary>
    private static async Task<(Sink A, Route<string> Route, TargetCalls Calls)> LostAfterTakingThreeAsync()
    {
        var a = new Sink { FailingAfterLoss = 1 };
        var route = RouteTo(new() { ["a"] = a });
        var calls = Calls();
        await route.ApplyAsync(Source, [new(0, "a"), new(1, "a"), new(2, "a")], calls);
        a.Lose();
        return (a, route, calls);
    }

    private static Route<string> RouteTo(Dictionary<string, Sink> sinks) =>
        new("test", key => key, key => sinks[key], (sink, source, expected, items) => ((Sink)sink).ApplyAsync(source, expected, items));

    /// <summary>One grain's state for one source: what it applied, what it persisted, and its activation.</summary>
    private sealed class Sink : ISink
    {
        private readonly List<long> _persisted = [];
        private TaskCompletionSource? _hold;

        public Guid Activation { get; private set; } = Guid.NewGuid();

        /// <summary>The offsets applied by the current activation (those persisted before it, then its own).</summary>
        public List<long> Offsets { get; private set; } = [];

        /// <summary>An offset whose processing always fails.</summary>
        public long? Failing { get; init; }

        /// <summary>An offset whose processing fails on every activation after the first is lost (it depends on something outside).</summary>
        public long? FailingAfterLoss { get; init; }

        private bool _lost;

        public long Applied => Offsets.Count == 0 ? -1 : Offsets[^1];

        public long Persisted => _persisted.Count == 0 ? -1 : _persisted[^1];

        /// <summary>Holds the next apply until the returned source is completed.</summary>
        public TaskCompletionSource Hold() => _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The activation is gone, and with it what it had not persisted.</summary>
        public void Lose()
        {
            Activation = Guid.NewGuid();
            Offsets = [.. _persisted];
            _lost = true;
        }

        public async Task<SinkReceipt> ApplyAsync(string source, Guid expected, Positioned<string>[] items)
        {
            Assert.Equal(Source, source);
            if (Interlocked.Exchange(ref _hold, null) is { } hold)
            {
                await hold.Task;
            }

            if (expected != Guid.Empty && expected != Activation)
            {
                return new SinkReceipt(Activation, Accepted: false, Persisted: Persisted);
            }

            foreach (var item in items.Where(i => i.Offset > Applied))
            {
                if (item.Offset == Failing || (_lost && item.Offset == FailingAfterLoss))
                {
                    throw new RecordProcessingException(item.Offset, "failing on purpose");
                }

                Offsets.Add(item.Offset);
            }

            return new SinkReceipt(Activation, Accepted: true, Persisted: Persisted);
        }

        public Task<SinkReceipt> FlushAsync(string source, Guid expectedActivation, long upTo)
        {
            _persisted.Clear();
            _persisted.AddRange(Offsets);
            return Task.FromResult(new SinkReceipt(Activation, expectedActivation == Activation, Persisted: Persisted));
        }
    }
}
