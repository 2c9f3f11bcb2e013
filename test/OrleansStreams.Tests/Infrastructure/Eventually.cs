namespace OrleansStreams.Tests.Infrastructure;

/// <summary>Waits for a condition the system reaches asynchronously, failing with what was last seen.</summary>
public static class Eventually
{
    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "nothing";
        while (true)
        {
            try
            {
                var value = await probe();
                if (done(value))
                {
                    return value;
                }

                last = Describe(value);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The system may be between states (a silo just died, a grain moving): ask again.
                last = $"{ex.GetType().Name}: {ex.Message}";
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}; last seen: {last}");
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
