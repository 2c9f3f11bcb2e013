namespace OrleansStreams.Grains;

/// <summary>Settings of the processing pipeline (configuration section <c>Processing</c>).</summary>
public sealed class ProcessingOptions
{
    public const string Section = "Processing";

    /// <summary>
    /// How often each partition advances its durable offset to what its grains have persisted, and how often a
    /// grain persists at most while records keep arriving (each partition's offset trails by about one to two
    /// intervals).
    /// </summary>
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Largest record value accepted; larger ones are dead-lettered as malformed, whole.</summary>
    public int MaxValueBytes { get; set; } = 64 * 1024;

    /// <summary>Retries of a record whose processing throws, before it is dead-lettered.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>First retry delay; each retry doubles it.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Grain calls (applies and flushes) each partition's dispatcher has outstanding at most; more wait for a slot.
    /// Bounds what a burst of many distinct keys puts on the silos, so calls queue at the dispatchers rather than
    /// time out at their targets.
    /// </summary>
    public int MaxCallsInFlight { get; set; } = 1000;

    /// <summary>Validation rule: URLs containing any of these are rejected as invalid (the Faust reference's rule is "test").</summary>
    public List<string> RejectUrlsContaining { get; set; } = [];

    /// <summary>How long (in event time) an <c>event_id</c> is remembered to count a re-sent event once.</summary>
    public TimeSpan EventIdDedupHorizon { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Validation rule: longest URL accepted.</summary>
    public int MaxUrlLength { get; set; } = 2048;

    /// <summary>
    /// How long a user's grain stays in memory after its last call. Then it is deactivated, its state written first,
    /// and its user's next record or query activates it again from storage: a silo keeps in memory the users active
    /// lately, not every user it has seen since it started.
    /// </summary>
    public TimeSpan UserIdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Every problem with the options, each naming its setting.</summary>
    public static IEnumerable<string> Validate(ProcessingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.CommitInterval <= TimeSpan.Zero || options.CommitInterval > TimeSpan.FromMinutes(10))
        {
            yield return $"{Section}:{nameof(CommitInterval)} must be between 0 and 10 minutes (was {options.CommitInterval}).";
        }

        if (options.MaxValueBytes < 64)
        {
            yield return $"{Section}:{nameof(MaxValueBytes)} must be at least 64 (was {options.MaxValueBytes}).";
        }

        if (options.MaxRetries is < 0 or > 20)
        {
            yield return $"{Section}:{nameof(MaxRetries)} must be between 0 and 20 (was {options.MaxRetries}).";
        }

        if (options.MaxCallsInFlight < 1)
        {
            yield return $"{Section}:{nameof(MaxCallsInFlight)} must be at least 1 (was {options.MaxCallsInFlight}).";
        }

        if (options.RetryBaseDelay < TimeSpan.Zero || options.RetryBaseDelay > TimeSpan.FromMinutes(1))
        {
            yield return $"{Section}:{nameof(RetryBaseDelay)} must be between 0 and 1 minute (was {options.RetryBaseDelay}).";
        }

        if (options.EventIdDedupHorizon < TimeSpan.Zero)
        {
            yield return $"{Section}:{nameof(EventIdDedupHorizon)} must not be negative (was {options.EventIdDedupHorizon}).";
        }

        if (options.MaxUrlLength < 1)
        {
            yield return $"{Section}:{nameof(MaxUrlLength)} must be at least 1 (was {options.MaxUrlLength}).";
        }

        if (options.UserIdleTimeout < TimeSpan.FromSeconds(1))
        {
            yield return $"{Section}:{nameof(UserIdleTimeout)} must be at least 1 second (was {options.UserIdleTimeout}).";
        }

        if (options.RejectUrlsContaining.Any(string.IsNullOrEmpty))
        {
            yield return $"{Section}:{nameof(RejectUrlsContaining)} must not contain an empty entry.";
        }
    }

    /// <summary>Why a URL breaks the validation rules, or null.</summary>
    public string? ValidateUrl(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (url.Length > MaxUrlLength)
        {
            return $"url is longer than {Section}:{nameof(MaxUrlLength)} ({MaxUrlLength})";
        }

        foreach (var fragment in RejectUrlsContaining)
        {
            if (url.Contains(fragment, StringComparison.Ordinal))
            {
                return $"url contains \"{fragment}\" ({Section}:{nameof(RejectUrlsContaining)})";
            }
        }

        return null;
    }
}
