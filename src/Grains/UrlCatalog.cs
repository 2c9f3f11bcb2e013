using System.Collections.Concurrent;

namespace OrleansStreams.Grains;

/// <summary>The URLs whose grains have been active in this silo, for summaries.</summary>
public sealed class UrlCatalog
{
    private readonly ConcurrentDictionary<string, byte> _urls = new(StringComparer.Ordinal);

    public void Add(string url) => _urls.TryAdd(url, 0);

    public IReadOnlyCollection<string> Urls => (IReadOnlyCollection<string>)_urls.Keys;
}
