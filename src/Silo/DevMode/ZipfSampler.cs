namespace OrleansStreams.Silo.DevMode;

/// <summary>Draws ranks 0..n-1 with probability proportional to 1/(rank+1)^s.</summary>
public sealed class ZipfSampler
{
    private readonly double[] _cumulative;

    public ZipfSampler(int n, double exponent = 1.1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        _cumulative = new double[n];
        var sum = 0.0;
        for (var i = 0; i < n; i++)
        {
            sum += 1.0 / Math.Pow(i + 1, exponent);
            _cumulative[i] = sum;
        }

        for (var i = 0; i < n; i++)
        {
            _cumulative[i] /= sum;
        }
    }

    public int Next(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var index = Array.BinarySearch(_cumulative, random.NextDouble());
        return Math.Min(index >= 0 ? index : ~index, _cumulative.Length - 1);
    }
}
