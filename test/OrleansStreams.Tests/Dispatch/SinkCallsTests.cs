using OrleansStreams.Grains;
using OrleansStreams.Grains.Dispatch;

namespace OrleansStreams.Tests.Dispatch;

/// <summary>How dispatchers share calls to a sink: what waits, what goes together, and what each caller gets back.</summary>
public sealed class SinkCallsTests
{
    private const string Kind = "views";

    [Fact]
    public async Task parts_sent_to_a_sink_while_its_call_is_in_flight_go_together_in_the_next_call_in_the_order_they_came()
    {
        var calls = new SinkCalls();
        var sink = new Sink();
        var (first, second, third) = ThreePartitions(calls, sink);
        Assert.Equal([["pageviews/0"]], sink.Calls);

        sink.Answer();
        Assert.Equal(0, (await first).Persisted);
        sink.Answer();
        Assert.Equal([["pageviews/0"], ["pageviews/1", "pageviews/2"]], sink.Calls);
        Assert.Equal(5, (await second).Persisted);
        Assert.Equal(9, (await third).Persisted);

        // Nothing in flight any more: the next part goes at once, alone.
        var fourth = calls.ApplyAsync(sink, Kind, Part("pageviews/1", 6), sink.SendAsync);
        Assert.Equal(3, sink.Calls.Count);
        sink.Answer();
        Assert.Equal(6, (await fourth).Persisted);
    }

    [Fact]
    public async Task a_part_whose_processing_fails_fails_alone_with_the_offset_of_its_record()
    {
        var calls = new SinkCalls();
        var sink = new Sink { FailingOffset = 5 };
        var (first, failing, after) = ThreePartitions(calls, sink);
        sink.Answer();
        sink.Answer();

        await first;
        var ex = await Assert.ThrowsAsync<RecordProcessingException>(() => failing);
        Assert.Equal(5, ex.Offset);
        Assert.Equal("record 5 failed", ex.Error);
        Assert.Equal(9, (await after).Persisted);
    }

    [Fact]
    public async Task a_call_that_fails_fails_every_part_in_it_and_the_parts_that_waited_meanwhile_still_go()
    {
        var calls = new SinkCalls();
        var sink = new Sink();
        var (first, second, third) = ThreePartitions(calls, sink);
        sink.Answer();
        await first;
        sink.WaitForCalls(2);

        // The call carrying the second and third parts times out while a fourth part waits.
        var fourth = calls.ApplyAsync(sink, Kind, Part("pageviews/0", 1), sink.SendAsync);
        sink.Fail(new TimeoutException("no answer"));
        await Assert.ThrowsAsync<TimeoutException>(() => second);
        await Assert.ThrowsAsync<TimeoutException>(() => third);

        Assert.Equal(["pageviews/0"], sink.Calls[^1]);
        sink.Answer();
        Assert.Equal(1, (await fourth).Persisted);
    }

    [Fact]
    public async Task parts_for_another_sink_or_of_another_kind_do_not_wait_for_a_call_in_flight()
    {
        var calls = new SinkCalls();
        var sink = new Sink();
        var other = new Sink();
        _ = calls.ApplyAsync(sink, Kind, Part("pageviews/0", 0), sink.SendAsync);
        var otherSink = calls.ApplyAsync(other, Kind, Part("pageviews/0", 0), other.SendAsync);
        var otherKind = calls.ApplyAsync(sink, "clicks", Part("clicks/0", 3), sink.SendAsync);

        Assert.Equal(2, sink.Calls.Count);
        Assert.Single(other.Calls);
        other.Answer();
        Assert.Equal(0, (await otherSink).Persisted);
        sink.Answer(call: 1);
        Assert.Equal(3, (await otherKind).Persisted);
    }

    /// <summary>One part of each of three partitions, at offsets 0, 5 and 9, sent one after the other.</summary>
    private static (Task<SinkReceipt> First, Task<SinkReceipt> Second, Task<SinkReceipt> Third) ThreePartitions(SinkCalls calls, Sink sink) =>
        (calls.ApplyAsync(sink, Kind, Part("pageviews/0", 0), sink.SendAsync),
         calls.ApplyAsync(sink, Kind, Part("pageviews/1", 5), sink.SendAsync),
         calls.ApplyAsync(sink, Kind, Part("pageviews/2", 9), sink.SendAsync));

    private static SinkPart<PageView> Part(string source, long offset) =>
        new(source, Guid.Empty, [new Positioned<PageView>(offset, new PageView("u", "/home", 1.0))]);

    /// <summary>
    /// A sink whose calls stay in flight until the test answers them: each part is applied (or fails on
    /// <see cref="FailingOffset"/>) and its receipt says it persisted up to its last offset.
    /// </summary>
    private sealed class Sink : ISink
    {
        private readonly List<(SinkPart<PageView>[] Parts, TaskCompletionSource<SinkPartResult[]> Answer)> _calls = [];

        public long FailingOffset { get; init; } = -1;

        public List<string[]> Calls
        {
            get
            {
                lock (_calls)
                {
                    return [.. _calls.Select(c => c.Parts.Select(p => p.Source).ToArray())];
                }
            }
        }

        public Task<SinkPartResult[]> SendAsync(ISink sink, SinkPart<PageView>[] parts)
        {
            Assert.Same(this, sink);
            var answer = new TaskCompletionSource<SinkPartResult[]>();
            lock (_calls)
            {
                _calls.Add((parts, answer));
            }

            return answer.Task;
        }

        /// <summary>Waits until <paramref name="count"/> calls have come.</summary>
        public void WaitForCalls(int count) =>
            Assert.True(SpinWait.SpinUntil(() => Calls.Count >= count, TimeSpan.FromSeconds(10)), $"Fewer than {count} calls came.");

        /// <summary>Answers the oldest call not answered yet (or the one given).</summary>
        public void Answer(int? call = null)
        {
            var (parts, answer) = call is { } index ? _calls[index] : Unanswered();
            answer.SetResult([.. parts.Select(p => p.Items.Any(i => i.Offset == FailingOffset)
                ? new SinkPartResult(default, FailingOffset, $"record {FailingOffset} failed")
                : new SinkPartResult(new SinkReceipt(Guid.Empty, Accepted: true, Persisted: p.Items[^1].Offset)))]);
        }

        public void Fail(Exception exception) => Unanswered().Answer.SetException(exception);

        /// <summary>The oldest call not answered yet; a call that follows an answer leaves from the thread pool, so it may take a moment.</summary>
        private (SinkPart<PageView>[] Parts, TaskCompletionSource<SinkPartResult[]> Answer) Unanswered()
        {
            (SinkPart<PageView>[], TaskCompletionSource<SinkPartResult[]>) found = default;
            Assert.True(SpinWait.SpinUntil(
                () =>
                {
                    lock (_calls)
                    {
                        found = _calls.FirstOrDefault(c => !c.Answer.Task.IsCompleted);
                        return found.Item1 is not null;
                    }
                },
                TimeSpan.FromSeconds(10)), "No call is waiting for an answer.");
            return found;
        }

        public Task<SinkReceipt> FlushAsync(string source, Guid expectedActivation, long upTo) => throw new NotSupportedException();
    }
}
