namespace OrleansStreams.Grains.Core;

/// <summary>Event times travel as epoch seconds (the contract) and are computed on as epoch milliseconds.</summary>
public static class EventTime
{
    /// <summary>To the nearest millisecond: event times carry millisecond precision, and 1005.001 s must be 1005001 ms.</summary>
    public static long ToMilliseconds(double epochSeconds) => (long)Math.Round(epochSeconds * 1000);

    public static double ToSeconds(long epochMilliseconds) => epochMilliseconds / 1000.0;
}
