using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Runtime;
using OrleansStreams.Grains.Core;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Grains;

[GenerateSerializer, Alias("OrleansStreams.UserState")]
public sealed class UserState : SinkState
{
    [Id(0)]
    public long Views { get; set; }

    [Id(1)]
    public long Clicks { get; set; }

    [Id(2)]
    public JoinBufferState Join { get; set; } = new();

    [Id(3)]
    public long Conversions { get; set; }

    /// <summary>Join results not yet confirmed in Kafka and by their URL grains.</summary>
    [Id(4)]
    public List<Conversion> Outbox { get; set; } = [];

    [Id(5)]
    public List<Conversion> Recent { get; set; } = [];
}

/// <summary>
/// Durable views and clicks of one user (the key), and the interval join of the two: each view followed by a
/// click on the same URL within the join window is a conversion, emitted to <c>conversions</c> and counted by
/// the URL's grain.
/// </summary>
[Orleans.Placement.PreferLocalPlacement]
internal sealed partial class UserGrain(
    [PersistentState("user", GrainStorage.Name)] IPersistentState<UserState> state,
    IOptions<JoinOptions> options,
    IOptions<ProcessingOptions> processing,
    WatermarkCache watermarks,
    JoinBufferGauge gauge,
    KafkaOutput output,
    ConversionCourier courier,
    JoinExpiry expiry,
    PipelineMetrics metrics,
    IHostApplicationLifetime lifetime,
    ILogger<UserGrain> logger) : SinkGrain<UserState>(state, processing, logger), IUserGrain
{
    private IntervalJoin _join = null!;
    private int _reported;
    private Task? _delivering;
    private bool _deactivating;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var join = options.Value;
        _join = new IntervalJoin((long)join.Within.TotalMilliseconds, (long)join.Grace.TotalMilliseconds, State.Join);
        // Entries the watermark passed while this user was out of memory leave first, before any record meets them;
        // the silo wakes it when the watermark passes those that stay.
        AfterChange();
        return base.OnActivateAsync(cancellationToken);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // Results still in the outbox are persisted with the state and delivered by the next activation.
        _deactivating = true;
        await base.OnDeactivateAsync(reason, cancellationToken);
        gauge.Add(-_reported);
        _reported = 0;
        if (!options.Value.LeftJoin)
        {
            // Its entries wait in storage until its user's next record or query activates it and expires them. Waking
            // it to expire them now would bring it back into memory for nothing; a left join emits what expires, on time.
            expiry.Forget(this.GetPrimaryKeyString());
        }
    }

    public Task<SinkPartResult[]> ApplyPageViewsAsync(SinkPart<PageView>[] parts)
    {
        var results = ApplyParts(parts, part => Apply(part, view =>
        {
            State.Views++;
            var added = _join.AddView(new JoinEntry(view.Url, EventTime.ToMilliseconds(view.ViewTime), view.EventId));
            Record(added.Matches);
            return added.Late;
        },
        view => (view.EventId is { } id ? "v:" + id : null, EventTime.ToMilliseconds(view.ViewTime))));
        AfterChange();
        return Task.FromResult(results);
    }

    public Task<SinkPartResult[]> ApplyClicksAsync(SinkPart<ClickEvent>[] parts)
    {
        var results = ApplyParts(parts, part => Apply(part, click =>
        {
            State.Clicks++;
            var added = _join.AddClick(new JoinEntry(click.Url, EventTime.ToMilliseconds(click.ClickTime), click.EventId));
            Record(added.Matches);
            return added.Late;
        },
        click => (click.EventId is { } id ? "c:" + id : null, EventTime.ToMilliseconds(click.ClickTime))));
        AfterChange();
        return Task.FromResult(results);
    }

    public Task<UserTotals> GetTotalsAsync() => Task.FromResult(new UserTotals(this.GetPrimaryKeyString(), State.Views, State.Clicks));

    public Task<UserProfile> GetProfileAsync() =>
        Task.FromResult(new UserProfile(this.GetPrimaryKeyString(), State.Views, State.Clicks, State.Conversions, [.. State.Recent.AsEnumerable().Reverse()], _join.Buffered));

    private void Record(IReadOnlyList<JoinMatch> matches)
    {
        foreach (var match in matches)
        {
            var conversion = new Conversion(this.GetPrimaryKeyString(), match.View.Url, EventTime.ToSeconds(match.View.TimeMs), EventTime.ToSeconds(match.Click.TimeMs));
            State.Conversions++;
            State.Outbox.Add(conversion);
            State.Recent.Add(conversion);
            if (State.Recent.Count > options.Value.RecentConversions)
            {
                State.Recent.RemoveAt(0);
            }
        }
    }

    public Task ExpireAsync()
    {
        AfterChange();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Expires what the watermark has passed, sends new results on, and has the silo wake this grain when the watermark
    /// passes what stays. Expiring with every delivery as well keeps the buffer (and so each state write) small while
    /// a backlog is read, when event time runs far ahead of the wake-ups.
    /// </summary>
    private void AfterChange()
    {
        Expire();
        DeliverSoon();
        Report();
        WakeWhenDue();
    }

    private void WakeWhenDue() => expiry.WakeAfter(this.GetPrimaryKeyString(), _join.ExpiresAfter);

    /// <summary>Moves the join to the silo's join watermark.</summary>
    private void Expire()
    {
        if (watermarks.Join is not { } watermark || watermark <= State.Join.Watermark)
        {
            return;
        }

        var unmatched = _join.Advance(watermark);
        if (options.Value.LeftJoin)
        {
            State.Outbox.AddRange(unmatched.Select(v => new Conversion(this.GetPrimaryKeyString(), v.Url, EventTime.ToSeconds(v.TimeMs), null)));
        }

        MarkDirty();
    }

    /// <summary>
    /// Delivers the outbox in the background, one delivery at a time: records keep being applied meanwhile
    /// (the results are in the state, so a crash before they are confirmed delivers them again).
    /// </summary>
    private void DeliverSoon()
    {
        if (State.Outbox.Count > 0 && _delivering is not { IsCompleted: false })
        {
            _delivering = DeliverInBackgroundAsync();
        }
    }

    private async Task DeliverInBackgroundAsync()
    {
        // Once the silo is stopping, the results wait in the state for the next activation.
        for (var attempt = 0; State.Outbox.Count > 0 && !_deactivating && !lifetime.ApplicationStopping.IsCancellationRequested;)
        {
            try
            {
                await DeliverOutboxAsync();
                attempt = 0;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException && lifetime.ApplicationStopping.IsCancellationRequested)
            {
                // The silo stopped under the delivery: the results wait in the state for the next activation.
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Kept in the outbox: tried again after a pause.
                LogDeliveryFailed(ex, this.GetPrimaryKeyString());
                await Task.Delay(Retry.Delay(attempt++));
            }
        }
    }

    /// <summary>
    /// Emits outstanding results to Kafka (deterministic keys) and to their URL grains (which count each key
    /// once), then forgets them. A failure keeps them for the next attempt.
    /// </summary>
    private async Task DeliverOutboxAsync()
    {
        var outbox = State.Outbox.ToArray();
        await Task.WhenAll(outbox.Select(c => output.ProduceAsync(Topics.Conversions, Encoding.UTF8.GetBytes(c.Key), JsonSerializer.SerializeToUtf8Bytes(new ConversionRecord(c)))));
        await courier.DeliverAsync(outbox.Where(c => c.ClickTime is not null));
        foreach (var conversion in outbox.Where(c => c.ClickTime is not null))
        {
            metrics.Conversions.Inc();
            LogConversion(conversion.UserId, conversion.Url, conversion.ViewTime, conversion.ClickTime!.Value);
        }

        State.Outbox.RemoveRange(0, outbox.Length);
        MarkDirty();
    }

    private void Report()
    {
        var buffered = _join.Buffered;
        gauge.Add(buffered - _reported);
        _reported = buffered;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not deliver the join results of {UserId}; trying again")]
    private partial void LogDeliveryFailed(Exception exception, string userId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Conversion: {UserId} viewed {Url} at {ViewTime} and clicked at {ClickTime}")]
    private partial void LogConversion(string userId, string url, double viewTime, double clickTime);

    /// <summary>The <c>conversions</c> record.</summary>
    private sealed record ConversionRecord(
        [property: JsonPropertyName("user_id")] string UserId,
        [property: JsonPropertyName("url")] string Url,
        [property: JsonPropertyName("view_time")] double ViewTime,
        [property: JsonPropertyName("click_time")] double? ClickTime)
    {
        public ConversionRecord(Conversion conversion)
            : this(conversion.UserId, conversion.Url, conversion.ViewTime, conversion.ClickTime)
        {
        }
    }
}
