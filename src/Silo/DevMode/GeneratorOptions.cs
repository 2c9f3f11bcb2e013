namespace OrleansStreams.Silo.DevMode;

/// <summary>Demo traffic (configuration section <c>Generator</c>).</summary>
public sealed class GeneratorOptions
{
    public const string Section = "Generator";

    /// <summary>On by default in dev mode (embedded Kafka), off when <c>Kafka:BootstrapServers</c> is set.</summary>
    public bool? Enabled { get; set; }

    /// <summary>Page views per second.</summary>
    public int RatePerSecond { get; set; } = 200;

    /// <summary>Distinct URLs, Zipf-distributed (a few are very popular).</summary>
    public int Urls { get; set; } = 50;

    /// <summary>Distinct users.</summary>
    public int Users { get; set; } = 5000;

    /// <summary>Share of views whose event time lags behind, as from a slow producer.</summary>
    public double OutOfOrderFraction { get; set; } = 0.05;

    /// <summary>How far behind an out-of-order view's event time may be.</summary>
    public TimeSpan MaxDisorder { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>Share of views followed by a click on the same URL within a few seconds.</summary>
    public double ClickFraction { get; set; } = 0.1;

    public static IEnumerable<string> Validate(GeneratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.RatePerSecond is < 1 or > 1_000_000)
        {
            yield return $"{Section}:{nameof(RatePerSecond)} must be between 1 and 1000000 (was {options.RatePerSecond}).";
        }

        if (options.Urls < 1)
        {
            yield return $"{Section}:{nameof(Urls)} must be at least 1 (was {options.Urls}).";
        }

        if (options.Users < 1)
        {
            yield return $"{Section}:{nameof(Users)} must be at least 1 (was {options.Users}).";
        }

        if (options.OutOfOrderFraction is < 0 or > 1)
        {
            yield return $"{Section}:{nameof(OutOfOrderFraction)} must be between 0 and 1 (was {options.OutOfOrderFraction}).";
        }

        if (options.ClickFraction is < 0 or > 1)
        {
            yield return $"{Section}:{nameof(ClickFraction)} must be between 0 and 1 (was {options.ClickFraction}).";
        }

        if (options.MaxDisorder < TimeSpan.Zero)
        {
            yield return $"{Section}:{nameof(MaxDisorder)} must not be negative (was {options.MaxDisorder}).";
        }
    }
}
