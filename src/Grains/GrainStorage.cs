namespace OrleansStreams.Grains;

/// <summary>Names of the grain storages the application's grains use.</summary>
public static class GrainStorage
{
    /// <summary>Counters, windows and buffers of the processing grains.</summary>
    public const string Name = "state";
}
