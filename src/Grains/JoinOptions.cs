namespace OrleansStreams.Grains;

/// <summary>The view-click join (configuration section <c>Join</c>).</summary>
public sealed class JoinOptions
{
    public const string Section = "Join";

    /// <summary>A click joins a view on the same URL when <c>view_time &lt;= click_time &lt;= view_time + Within</c>.</summary>
    public TimeSpan Within { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long past their interval (in event time) entries wait for records out of order.</summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Also emit views no click followed (with no click time) once their interval has passed.</summary>
    public bool LeftJoin { get; set; }

    /// <summary>Conversions each user keeps for queries.</summary>
    public int RecentConversions { get; set; } = 20;

    /// <summary>How long a URL remembers conversion keys, to count each once when delivered again.</summary>
    public TimeSpan DedupHorizon { get; set; } = TimeSpan.FromMinutes(10);

    public static IEnumerable<string> Validate(JoinOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Within < TimeSpan.Zero)
        {
            yield return $"{Section}:{nameof(Within)} must not be negative (was {options.Within}).";
        }

        if (options.Grace < TimeSpan.Zero)
        {
            yield return $"{Section}:{nameof(Grace)} must not be negative (was {options.Grace}).";
        }

        if (options.RecentConversions is < 0 or > 10_000)
        {
            yield return $"{Section}:{nameof(RecentConversions)} must be between 0 and 10000 (was {options.RecentConversions}).";
        }

        if (options.DedupHorizon < options.Within + options.Grace)
        {
            yield return $"{Section}:{nameof(DedupHorizon)} must be at least {Section}:{nameof(Within)} + {Section}:{nameof(Grace)} (was {options.DedupHorizon}).";
        }
    }
}
