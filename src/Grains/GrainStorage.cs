using Microsoft.Extensions.Hosting;

namespace OrleansStreams.Grains;

/// <summary>Names of the grain storages the application's grains use.</summary>
public static class GrainStorage
{
    /// <summary>Counters, windows and buffers of the processing grains.</summary>
    public const string Name = "state";
}

/// <summary>
/// Registered when grain state is kept in silo memory (dev mode). Such state does not outlive the silo, and the storage
/// grains that hold it stop with it: once the silo is stopping, grains do not write it and dispatchers do not commit.
/// </summary>
public sealed class VolatileGrainState(IHostApplicationLifetime lifetime)
{
    /// <summary>Whether the silo is stopping: state written now would be lost, or fail to reach storage already gone.</summary>
    public bool Lost => lifetime.ApplicationStopping.IsCancellationRequested;
}
