namespace OrleansStreams.Grains.Core;

/// <summary>Event times travel as epoch seconds (the contract) and are computed on as epoch milliseconds.</summary>
public static class EventTime
{
    public static long ToMilliseconds(double epochSeconds) => (long)Math.Floor(epochSeconds * 1000);

    public static double ToSeconds(long epochMilliseconds) => epochMilliseconds / 1000.0;
}
