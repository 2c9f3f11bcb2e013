using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using OrleansStreams.Grains;
using Prometheus;

namespace OrleansStreams.Silo.Hosting;

/// <summary>
/// Publishes Orleans' own meters (grain calls, activations, messaging, streams, ...) in the pipeline's Prometheus
/// registry: counters as counters, up-down counters and observable gauges as gauges, histograms as histograms.
/// Names are the instrument names with <c>.</c> and <c>-</c> turned into <c>_</c>; tags become labels.
/// </summary>
internal sealed class OrleansMeterExporter(PipelineMetrics metrics) : IHostedService, IDisposable
{
    private const string OrleansMeterPrefix = "Microsoft.Orleans";
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Exported> _exported = new();
    private readonly IMetricFactory _factory = Metrics.WithCustomRegistry(metrics.Registry);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name.StartsWith(OrleansMeterPrefix, StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<float>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
        metrics.Registry.AddBeforeCollectCallback(_listener.RecordObservableInstruments);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        // Orleans measures every message and call: look up first, so only an instrument's first measurement copies its tags.
        if (!_exported.TryGetValue(instrument, out var exported))
        {
            exported = _exported.GetOrAdd(instrument, (i, t) => Create(i, t), tags.ToArray());
        }

        if (exported.LabelNames.Length == 0)
        {
            // Most of Orleans' per-message instruments have no tags: no labels to build or look up.
            Update(exported, exported.Collector, value);
            return;
        }

        var labels = new string[exported.LabelNames.Length];
        foreach (var tag in tags)
        {
            var index = Array.IndexOf(exported.LabelKeys, tag.Key);
            if (index >= 0)
            {
                labels[index] = Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? string.Empty;
            }
        }

        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] ??= string.Empty;
        }

        Update(exported, exported.Collector switch
        {
            Counter counter => counter.WithLabels(labels),
            Gauge gauge => gauge.WithLabels(labels),
            Histogram histogram => histogram.WithLabels(labels),
            _ => null,
        }, value);
    }

    /// <summary>Applies a measurement to a metric: the collector itself (no labels) or one of its labelled children.</summary>
    private static void Update(Exported exported, object? metric, double value)
    {
        switch (metric)
        {
            case ICounter counter:
                counter.Inc(Math.Max(0, value));
                break;
            case IGauge gauge when exported.Observable:
                gauge.Set(value);
                break;
            case IGauge gauge:
                gauge.Inc(value);
                break;
            case IHistogram histogram:
                histogram.Observe(value);
                break;
        }
    }

    private Exported Create(Instrument instrument, KeyValuePair<string, object?>[] tags)
    {
        var keys = tags.Select(t => t.Key).Distinct(StringComparer.Ordinal).ToArray();
        var labels = keys.Select(Sanitize).ToArray();
        var name = Sanitize(instrument.Name);
        var help = string.IsNullOrEmpty(instrument.Description) ? instrument.Name : instrument.Description;
        Collector collector = instrument switch
        {
            Counter<long> or Counter<int> or Counter<double> or Counter<float> or ObservableCounter<long> or ObservableCounter<double>
                => _factory.CreateCounter(name.EndsWith("_total", StringComparison.Ordinal) ? name : name + "_total", help, labels),
            Histogram<long> or Histogram<int> or Histogram<double> or Histogram<float> => _factory.CreateHistogram(name, help, labels),
            _ => _factory.CreateGauge(name, help, labels),
        };
        var observable = instrument.IsObservable;
        return new Exported(collector, keys, labels, observable);
    }

    private static string Sanitize(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? char.ToLowerInvariant(c) : '_');
        }

        if (builder.Length == 0 || char.IsAsciiDigit(builder[0]))
        {
            builder.Insert(0, '_');
        }

        return builder.ToString();
    }

    private sealed record Exported(Collector Collector, string[] LabelKeys, string[] LabelNames, bool Observable);
}
