namespace OrleansStreams.Grains;

/// <summary>Kafka topics of the product's contracts, and the stream provider that carries them.</summary>
public static class Topics
{
    public const string PageViews = "pageviews";
    public const string Clicks = "clicks";
    public const string ProcessingFailures = "processing_failures";
    public const string PageViewCounts = "pageview-counts";
    public const string Conversions = "conversions";

    /// <summary>Name of the Kafka stream provider in every silo and client.</summary>
    public const string StreamProvider = "kafka";
}
