namespace OrleansStreams.Grains;

/// <summary>Names of the grain storages the application's grains use.</summary>
public static class GrainStorage
{
    /// <summary>Counters, windows and buffers of the processing grains.</summary>
    public const string Name = "state";
}

/// <summary>
/// Registered when grain state is kept in silo memory (dev mode). Such state does not outlive the silo, and the storage
/// grains that hold it stop with it: grains deactivated because the silo stops do not write it.
/// </summary>
public sealed class VolatileGrainState;
