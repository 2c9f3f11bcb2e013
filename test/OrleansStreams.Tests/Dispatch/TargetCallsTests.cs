using Microsoft.Extensions.Logging.Abstractions;
using OrleansStreams.Grains;
using OrleansStreams.Grains.Dispatch;

namespace OrleansStreams.Tests.Dispatch;

public sealed class TargetCallsTests
{
    private static readonly RetryPolicy NoWait = new(3, TimeSpan.Zero, NullLogger.Instance);

    [Fact]
    public async Task no_more_calls_than_the_limit_are_outstanding_and_every_call_runs()
    {
        var calls = new TargetCalls(NoWait, maxInFlight: 3);
        var outstanding = 0;
        var most = 0;
        var ran = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var all = Task.WhenAll(Enumerable.Range(0, 20).Select(_ => calls.RunAsync("test", async () =>
        {
            most = Math.Max(most, Interlocked.Increment(ref outstanding));
            await release.Task;
            Interlocked.Increment(ref ran);
            Interlocked.Decrement(ref outstanding);
        })));

        await Task.Delay(100);
        Assert.Equal(3, Volatile.Read(ref outstanding));
        release.SetResult();
        await all;
        Assert.Equal(3, most);
        Assert.Equal(20, ran);
    }

    [Fact]
    public async Task a_fault_is_retried_and_gives_its_slot_up_meanwhile()
    {
        var calls = new TargetCalls(NoWait, maxInFlight: 1);
        var attempts = 0;
        await calls.RunAsync("test", () => ++attempts < 3 ? throw new TimeoutException("storage is slow") : Task.CompletedTask);
        Assert.Equal(3, attempts);

        // The slot came back after each fault: another call still gets one.
        var next = false;
        await calls.RunAsync("test", () =>
        {
            next = true;
            return Task.CompletedTask;
        });
        Assert.True(next);
    }

    [Fact]
    public async Task once_the_silo_is_stopping_a_fault_is_not_retried_and_frees_its_slot()
    {
        using var stopping = new CancellationTokenSource();
        var calls = new TargetCalls(new RetryPolicy(3, TimeSpan.FromMinutes(1), NullLogger.Instance), maxInFlight: 1, stopping.Token);
        var attempts = 0;
        var first = calls.RunAsync("test", () =>
        {
            attempts++;
            throw new TimeoutException("the target's silo is gone");
        });

        // Waiting out its backoff when the silo begins to stop: the wait ends, and the call fails with it.
        await Task.Delay(100);
        await stopping.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);

        // A fault that comes once the silo is stopping is the call's own failure, at the first attempt.
        await Assert.ThrowsAsync<TimeoutException>(() => calls.RunAsync("test", () =>
        {
            attempts++;
            throw new TimeoutException("the target's silo is gone");
        }));
        Assert.Equal(2, attempts);
        await calls.RunAsync("test", () => Task.CompletedTask);
    }

    [Fact]
    public Task a_processing_error_is_not_retried_here_and_frees_its_slot() =>
        AssertNotRetriedAndSlotFreedAsync(new RecordProcessingException(7, "bad url"));

    [Fact]
    public Task a_programming_error_is_not_retried_either() =>
        // What a dispatcher sees when it calls on from an activation its silo has already torn down.
        AssertNotRetriedAndSlotFreedAsync(new InvalidOperationException("Attempt to access an invalid activation"));

    private static async Task AssertNotRetriedAndSlotFreedAsync<TException>(TException error)
        where TException : Exception
    {
        var calls = new TargetCalls(NoWait, maxInFlight: 1);
        var attempts = 0;
        await Assert.ThrowsAsync<TException>(() => calls.RunAsync("test", () =>
        {
            attempts++;
            throw error;
        }));
        Assert.Equal(1, attempts);
        await calls.RunAsync("test", () => Task.CompletedTask);
    }
}
