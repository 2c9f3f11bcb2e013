namespace OrleansStreams.Grains;

/// <summary>Join entries buffered in this silo's active user grains.</summary>
public sealed class JoinBufferGauge
{
    private long _value;

    public long Value => Interlocked.Read(ref _value);

    public void Add(long delta) => Interlocked.Add(ref _value, delta);
}
