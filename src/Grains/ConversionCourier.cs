using Orleans;

namespace OrleansStreams.Grains;

/// <summary>
/// Carries join results from this silo's user grains to their URL grains, one call per URL at a time: what users
/// hand over while a URL's call is out goes with its next call, whichever users it came from. Each user had its own
/// call per URL before, about one per conversion, and those calls were the pipeline's most frequent. A user's
/// delivery completes once every URL grain it reached has persisted its results, or fails with the first error.
/// </summary>
public sealed class ConversionCourier(IGrainFactory grains)
{
    private readonly Lock _lock = new();

    /// <summary>Per URL, what waits for its next call; a URL is listed while its call is out.</summary>
    private readonly Dictionary<string, List<Parcel>> _waiting = new(StringComparer.Ordinal);

    /// <summary>Delivers <paramref name="conversions"/> (of any URLs): done when their URL grains have persisted them.</summary>
    public Task DeliverAsync(IEnumerable<Conversion> conversions)
    {
        ArgumentNullException.ThrowIfNull(conversions);
        return Task.WhenAll(conversions.GroupBy(c => c.Url, StringComparer.Ordinal).Select(url => Hand(url.Key, [.. url])));
    }

    private Task Hand(string url, Conversion[] conversions)
    {
        var parcel = new Parcel(conversions);
        bool start;
        lock (_lock)
        {
            start = !_waiting.TryGetValue(url, out var waiting);
            if (start)
            {
                _waiting[url] = [];
            }
            else
            {
                waiting!.Add(parcel);
            }
        }

        if (start)
        {
            _ = Task.Run(() => CarryAsync(url, [parcel]));
        }

        return parcel.Done.Task;
    }

    /// <summary>Calls the URL grain with the parcels, then with what waited meanwhile, until nothing waits.</summary>
    private async Task CarryAsync(string url, List<Parcel> parcels)
    {
        while (true)
        {
            try
            {
                await grains.GetKeyed<IUrlGrain>(url).ApplyConversionsAsync([.. parcels.SelectMany(p => p.Conversions)]);
                parcels.ForEach(p => p.Done.TrySetResult());
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Each user keeps its results and tries again; the URL grain counts each conversion once.
                parcels.ForEach(p => p.Done.TrySetException(ex));
            }

            lock (_lock)
            {
                parcels = _waiting[url];
                if (parcels.Count == 0)
                {
                    _waiting.Remove(url);
                    return;
                }

                _waiting[url] = [];
            }
        }
    }

    /// <summary>One user's conversions of one URL, and who waits for them to be persisted.</summary>
    private sealed record Parcel(Conversion[] Conversions)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
