namespace OrleansStreams.Grains;

/// <summary>Settings of the processing pipeline (configuration section <c>Processing</c>).</summary>
public sealed class ProcessingOptions
{
    public const string Section = "Processing";

    /// <summary>How often each partition flushes the grains it touched and advances its durable offset.</summary>
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Every problem with the options, each naming its setting.</summary>
    public static IEnumerable<string> Validate(ProcessingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.CommitInterval <= TimeSpan.Zero || options.CommitInterval > TimeSpan.FromMinutes(10))
        {
            yield return $"{Section}:{nameof(CommitInterval)} must be between 0 and 10 minutes (was {options.CommitInterval}).";
        }
    }
}
