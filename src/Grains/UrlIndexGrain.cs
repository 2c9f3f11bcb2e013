using Orleans;

namespace OrleansStreams.Grains;

/// <summary>
/// Keeps the totals URL grains report, bounded to the largest <see cref="Capacity"/> (a URL pushed out comes
/// back when it reports a larger total), so top-N queries stay cheap with millions of URLs. Kept in memory only:
/// after its activation is lost (a silo dies), active URLs report again within half a minute, and a URL whose grain
/// is no longer active comes back with its next view.
/// </summary>
internal sealed class UrlIndexGrain : Grain, IUrlIndexGrain
{
    public const int Capacity = 10_000;
    private readonly Dictionary<string, long> _totals = new(StringComparer.Ordinal);

    public Task ReportAsync(string url, long total)
    {
        _totals[url] = total;
        if (_totals.Count > Capacity * 2)
        {
            foreach (var small in _totals.OrderBy(kv => kv.Value).Take(_totals.Count - Capacity).Select(kv => kv.Key).ToList())
            {
                _totals.Remove(small);
            }
        }

        return Task.CompletedTask;
    }

    public Task<UrlTotals[]> TopAsync(int count) =>
        Task.FromResult(_totals
            .OrderByDescending(kv => kv.Value)
            .ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(Math.Clamp(count, 0, Capacity))
            .Select(kv => new UrlTotals(kv.Key, kv.Value))
            .ToArray());
}
