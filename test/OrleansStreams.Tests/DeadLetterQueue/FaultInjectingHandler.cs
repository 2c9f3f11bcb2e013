using System.Collections.Concurrent;
using OrleansStreams.Grains;

namespace OrleansStreams.Tests.DeadLetterQueue;

/// <summary>
/// Processing logic with injected faults: views of <c>/flaky-*</c> URLs fail twice, then succeed; views of
/// <c>/broken</c> fail until <see cref="BrokenFixed"/> is set.
/// </summary>
public sealed class FaultInjectingHandler : IPageViewHandler
{
    public static ConcurrentDictionary<string, int> Attempts { get; } = new(StringComparer.Ordinal);

    public static volatile bool BrokenFixed;

    public static void Reset()
    {
        Attempts.Clear();
        BrokenFixed = false;
    }

    public void Handle(PageView view)
    {
        var attempt = Attempts.AddOrUpdate(view.Url, 1, (_, n) => n + 1);
        if (view.Url.StartsWith("/flaky-", StringComparison.Ordinal) && attempt <= 2)
        {
            throw new TimeoutException($"transient fault {attempt} on {view.Url}");
        }

        if (view.Url == "/broken" && !BrokenFixed)
        {
            throw new InvalidOperationException("permanent fault on /broken");
        }
    }
}
