namespace OrleansStreams.Tests.Infrastructure;

/// <summary>Waits for a condition the system reaches asynchronously, failing with what was last seen.</summary>
public static class Eventually
{
    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        T last;
        while (true)
        {
            last = await probe();
            if (done(last))
            {
                return last;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}; last seen: {Describe(last)}");
            }

            await Task.Delay(200);
        }
    }

    private static string Describe<T>(T value) => value switch
    {
        System.Collections.IEnumerable items and not string => string.Join(", ", items.Cast<object>().Take(20)),
        _ => value?.ToString() ?? "null",
    };
}
