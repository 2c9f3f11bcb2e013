using Orleans.Configuration;

namespace OrleansStreams.Grains;

/// <summary>How long the application's grains stay in memory without calls.</summary>
public static class GrainLifetimes
{
    /// <summary>
    /// Has a user grain deactivated once <see cref="ProcessingOptions.UserIdleTimeout"/> has passed since its last call
    /// (within one collection quantum more), leaving the other grains at Orleans' defaults. Orleans takes an age only
    /// above the quantum, so a quantum not below the timeout becomes half of it.
    /// </summary>
    public static void Configure(GrainCollectionOptions collection, ProcessingOptions processing)
    {
        ArgumentNullException.ThrowIfNull(collection);
        ArgumentNullException.ThrowIfNull(processing);
        if (processing.UserIdleTimeout <= TimeSpan.Zero)
        {
            // Not a valid setting: the processing options' validator stops startup naming it.
            return;
        }

        collection.ClassSpecificCollectionAge[typeof(UserGrain).FullName!] = processing.UserIdleTimeout;
        if (collection.CollectionQuantum >= processing.UserIdleTimeout)
        {
            collection.CollectionQuantum = processing.UserIdleTimeout / 2;
        }
    }
}
