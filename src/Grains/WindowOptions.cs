using OrleansStreams.Grains.Core;

namespace OrleansStreams.Grains;

/// <summary>Event-time windows of page views per URL (configuration section <c>Windows</c>).</summary>
public sealed class WindowOptions
{
    public const string Section = "Windows";

    /// <summary>Window length.</summary>
    public TimeSpan Size { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Distance between window starts; equal to <see cref="Size"/> (the default, when unset) for tumbling windows.</summary>
    public TimeSpan? Hop { get; set; }

    /// <summary>How long after a window's end (in event time) records are still counted in it.</summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How far behind the largest event time seen a partition's watermark stays.</summary>
    public TimeSpan OutOfOrderness { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A partition with no records for this long stops holding the watermark back.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long closed windows stay queryable, in event time past their end (Faust's <c>expires</c>).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(1);

    public WindowSpec Spec => Hop is { } hop ? WindowSpec.Hopping(Size, hop) : WindowSpec.Tumbling(Size);

    public static IEnumerable<string> Validate(WindowOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Size < TimeSpan.FromMilliseconds(1))
        {
            yield return $"{Section}:{nameof(Size)} must be positive (was {options.Size}).";
        }

        if (options.Hop is { } hop && (hop < TimeSpan.FromMilliseconds(1) || hop > options.Size))
        {
            yield return $"{Section}:{nameof(Hop)} must be positive and at most {Section}:{nameof(Size)} (was {hop}).";
        }

        foreach (var (name, value) in new[] { (nameof(Grace), options.Grace), (nameof(OutOfOrderness), options.OutOfOrderness), (nameof(Retention), options.Retention) })
        {
            if (value < TimeSpan.Zero)
            {
                yield return $"{Section}:{name} must not be negative (was {value}).";
            }
        }

        if (options.IdleTimeout <= TimeSpan.Zero)
        {
            yield return $"{Section}:{nameof(IdleTimeout)} must be positive (was {options.IdleTimeout}).";
        }
    }
}
