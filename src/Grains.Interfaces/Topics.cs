namespace OrleansStreams.Grains;

/// <summary>Kafka topics of the product's contracts, and the stream provider that carries them.</summary>
public static class Topics
{
    public const string PageViews = "pageviews";
    public const string Clicks = "clicks";
    public const string ProcessingFailures = "processing_failures";
    public const string PageViewCounts = "pageview-counts";
    public const string Conversions = "conversions";

    /// <summary>The topics the pipeline reads.</summary>
    public static IReadOnlyList<string> Inputs { get; } = [PageViews, Clicks];

    /// <summary>The topics the pipeline writes.</summary>
    public static IReadOnlyList<string> Outputs { get; } = [ProcessingFailures, PageViewCounts, Conversions];

    /// <summary>Every topic of the product's contracts.</summary>
    public static IReadOnlyList<string> All { get; } = [.. Inputs, .. Outputs];

    /// <summary>Name of the Kafka stream provider in every silo and client.</summary>
    public const string StreamProvider = "kafka";
}
