using Prometheus;

namespace OrleansStreams.Grains;

/// <summary>
/// The pipeline's Prometheus metrics, in a registry of this silo's own (so that silos hosted in one process
/// never mix their counts). Names follow the Faust reference where it has them.
/// </summary>
public sealed class PipelineMetrics
{
    /// <summary>
    /// Upper bounds (seconds) of the latency histograms' buckets: from 1 ms to 10 s each bound is at most 1.5 times
    /// the one before (1, 1.5, 2, 3, 4, 5, 7.5 in every decade), so a quantile interpolated inside a bucket, as
    /// <c>histogram_quantile</c> does, is within a factor of 1.5 of the true one; above 10 s, where only a stalled
    /// pipeline's records fall, they are coarser.
    /// </summary>
    public static IReadOnlyList<double> LatencyBuckets { get; } =
    [
        0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075,
        0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075,
        0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75,
        1, 1.5, 2, 3, 4, 5, 7.5,
        10, 15, 20, 30, 60,
    ];

    public PipelineMetrics()
        : this(Metrics.NewCustomRegistry())
    {
    }

    public PipelineMetrics(CollectorRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        Registry = registry;
        var factory = Metrics.WithCustomRegistry(registry);
        MessagesConsumed = factory.CreateCounter("app_messages_consumed_total", "Records taken from Kafka and processed, by topic and partition.", "topic", "partition");
        ProcessLatency = LatencyHistogram(factory, "app_process_latency_seconds", "Time from a record's fetch from Kafka to its effects being applied.");
        EndToEndLatency = LatencyHistogram(factory, "app_end_to_end_latency_seconds", "Time from a record's Kafka timestamp (when it was produced) to its effects being applied.");
        EventTimeLag = LatencyHistogram(factory, "app_event_time_lag_seconds", "Time from a record's event time to its effects being applied.");
        ConsumerLag = factory.CreateGauge("app_consumer_lag", "Records of a partition not yet durably processed: log end offset minus durable offset.", "topic", "partition");
        DeadLetters = factory.CreateCounter("app_dead_letters_total", "Records sent to the dead-letter queue, by reason.", "reason");
        WindowsClosed = factory.CreateCounter("app_windows_closed_total", "Event-time windows closed and emitted.");
        LateRecords = factory.CreateCounter("app_late_records_total", "Records that arrived after their window or join interval had closed.");
        CheckpointDuration = LatencyHistogram(factory, "app_checkpoint_duration_seconds", "Time to flush a partition's grains and write its durable offset.");
        Conversions = factory.CreateCounter("app_conversions_total", "Views joined with a later click on the same URL.");
        JoinBuffered = factory.CreateGauge("app_join_buffered_entries", "Views and clicks waiting in join buffers of active user grains.");
        DeliveryFailures = factory.CreateCounter("app_stream_delivery_failures_total", "Batches Orleans could not deliver to a partition's processor (they are read again from the durable offset).");
    }

    public CollectorRegistry Registry { get; }

    public Counter MessagesConsumed { get; }

    public Histogram ProcessLatency { get; }

    public Histogram EndToEndLatency { get; }

    public Histogram EventTimeLag { get; }

    public Gauge ConsumerLag { get; }

    public Counter DeadLetters { get; }

    public Counter WindowsClosed { get; }

    public Counter LateRecords { get; }

    public Histogram CheckpointDuration { get; }

    public Counter Conversions { get; }

    public Gauge JoinBuffered { get; }

    public Counter DeliveryFailures { get; }

    private static Histogram LatencyHistogram(IMetricFactory factory, string name, string help) =>
        factory.CreateHistogram(name, help, new HistogramConfiguration { Buckets = [.. LatencyBuckets] });
}

/// <summary>
/// Observes a delivery's values in a histogram, each run of equal consecutive values at once: the records of one
/// fetch share their fetch time, and records produced in the same millisecond share their age.
/// </summary>
internal struct RunLengthObservations(Histogram histogram)
{
    private double _value;
    private long _count;

    public void Add(double value)
    {
        if (_count > 0 && value == _value)
        {
            _count++;
            return;
        }

        Flush();
        _value = value;
        _count = 1;
    }

    /// <summary>Observes the run still open; call once after the last value.</summary>
    public void Flush()
    {
        if (_count > 0)
        {
            histogram.Observe(_value, _count);
            _count = 0;
        }
    }
}
