using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Runtime;
using Orleans.Streams;
using Orleans.Streams.Core;
using OrleansStreams.Grains.Core;
using OrleansStreams.Streaming.Kafka;
using Prometheus;

namespace OrleansStreams.Grains.Dispatch;

/// <summary>
/// Processes one partition of an input topic (the grain key is the partition number). It takes the partition's
/// records in offset order, dead-letters those it cannot use, routes the others by key to their grains with
/// sub-batches in parallel (at most <c>Processing:MaxCallsInFlight</c> calls at a time) and awaits them all before
/// the next batch. Every commit interval, alongside the batches, it advances the partition's durable offset to
/// below the first record some grain has not persisted yet, so a restart resumes where persisted work ends (records
/// applied again are ignored by their grains' high-water marks); when the durable offset falls far behind, batches
/// wait for it. Once a delivery reads a backlog through to the end of the partition as read, or no batch has come for a
/// quarter of the interval, it commits at once (at most once per quarter interval), with every grain persisting what it
/// holds, so the durable offset reaches the end of a burst without waiting out the interval. Live traffic, whose every
/// delivery is at the end, commits at the interval like any other. Its watermark
/// report rides on the commit; while a batch or a commit is in flight it tells the watermark it is still active, so a
/// slow partition is never taken for an idle one.
/// </summary>
internal abstract partial class PartitionDispatcherGrain<TEvent>(
    IOptions<ProcessingOptions> options,
    IOptions<WindowOptions> windows,
    KafkaOutput output,
    WatermarkCache watermarks,
    PipelineMetrics metrics,
    IHostApplicationLifetime lifetime,
    ILogger logger) : Grain, IPartitionDispatcherGrain, IAsyncBatchObserver<KafkaBatchContainer>, IStreamSubscriptionObserver
{
    private static readonly TimeSpan RewindRetry = TimeSpan.FromSeconds(10);

    /// <summary>How many commit intervals the durable offset may fall behind before batches wait for it.</summary>
    private const int MaxUndurableIntervals = 10;

    /// <summary>How long the durable offset may stand still while records wait above it before a warning names who holds it.</summary>
    private const long HeldWarningMs = 60_000;

    private Route<TEvent>[] _routes = [];
    private Route<DeadLetter> _deadLetters = null!;
    private IRouteProgress[] _progress = [];
    private TargetCalls _calls = null!;
    private IKafkaCheckpointGrain _checkpoint = null!;
    private IWatermarkGrain _watermark = null!;
    private string _source = string.Empty;
    private int _partition;
    private long _committed = -1;
    private long _nextOffset = -1;
    private long _firstApplied = -1;
    private readonly long _commitEveryMs = (long)options.Value.CommitInterval.TotalMilliseconds;
    private long _durableAtMs = Environment.TickCount64;
    private long _heldWarnedAtMs = long.MinValue / 2;
    private long _lastBatchMs = Environment.TickCount64;
    private long _commitStartedMs = Environment.TickCount64;
    private bool _caughtUp;
    private bool _backlogReadThrough;
    private Task? _committing;
    private DateTime _lastReport = DateTime.MinValue;
    private readonly TimeSpan _keepActiveEvery = windows.Value.IdleTimeout / 3;
    private int _busy;
    private DateTime? _rewindRequestedAt;
    private long _processed;
    private long _rejected;
    private long _late;
    private long _firstFetchedAtMs;
    private long _maxEventMs = long.MinValue;
    private bool _sawEvents;
    private Counter.Child _consumed = null!;
    private VolatileGrainState? _volatile;

    protected abstract string Topic { get; }

    protected ProcessingOptions Options => options.Value;

    /// <summary>Whether records are applied that the durable offset has not passed yet.</summary>
    private bool Pending => _committed < _nextOffset;

    /// <summary>How long without a batch makes the partition quiet: a quarter of the commit interval.</summary>
    private long QuietAfterMs => Math.Max(1, _commitEveryMs / 4);

    /// <summary>
    /// Whether records wait to become durable while no grain is receiving from this partition: none have come for a
    /// while, or a delivery has read a backlog through to the end of the partition since the last commit (then at most
    /// once per quiet spell). Only the step from behind to the end counts: in steady traffic every delivery reaches the
    /// end, and committing after each would have every grain persist several times per interval.
    /// </summary>
    private bool Quiet =>
        Pending && _busy == 0
        && (Environment.TickCount64 - _lastBatchMs >= QuietAfterMs || (_backlogReadThrough && Environment.TickCount64 - _commitStartedMs >= QuietAfterMs));

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _partition = int.Parse(this.GetPrimaryKeyString(), NumberStyles.None, CultureInfo.InvariantCulture);
        _source = string.Create(CultureInfo.InvariantCulture, $"{Topic}/{_partition}");
        _routes = CreateRoutes();
        _deadLetters = new Route<DeadLetter>(
            "dead-letters",
            d => DeadLetterShards.For(d.Partition),
            key => GrainFactory.GetKeyed<IDeadLetterGrain>(key),
            (grain, source, expected, items) => ((IDeadLetterGrain)grain).ApplyDeadLettersAsync(source, expected, items));
        _progress = [.. _routes, _deadLetters];
        _volatile = ServiceProvider.GetService<VolatileGrainState>();
        _consumed = metrics.MessagesConsumed.WithLabels(Topic, _partition.ToString(CultureInfo.InvariantCulture));
        _calls = new TargetCalls(new RetryPolicy(options.Value.MaxRetries, options.Value.RetryBaseDelay, logger), options.Value.MaxCallsInFlight, lifetime.ApplicationStopping);
        _checkpoint = KafkaCheckpoints.Get(GrainFactory, Topics.StreamProvider, Topic, _partition);
        _watermark = GrainFactory.GetGrain<IWatermarkGrain>(Topic);
        _committed = (await _checkpoint.GetAsync()).NextOffset;
        _nextOffset = _committed;
        var interval = options.Value.CommitInterval;
        // Interleaved: batches go on while grains persist; a commit never waits behind a batch, nor a batch behind a commit.
        this.RegisterGrainTimer(CommitAsync, new GrainTimerCreationOptions(interval, interval) { Interleave = true });
        // Checked five times per quiet spell, so that the commit at the end of a burst comes soon after the spell.
        var quietCheck = TimeSpan.FromMilliseconds(Math.Max(1, QuietAfterMs / 5));
        this.RegisterGrainTimer(_ => Quiet ? CommitAsync() : Task.CompletedTask, new GrainTimerCreationOptions(quietCheck, quietCheck) { Interleave = true });
        this.RegisterGrainTimer(_ => _busy > 0 ? KeepActiveAsync() : Task.CompletedTask, new GrainTimerCreationOptions(_keepActiveEvery, _keepActiveEvery) { Interleave = true });
        await base.OnActivateAsync(cancellationToken);
    }

    public Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        handleFactory.Create<KafkaBatchContainer>().ResumeAsync(this);

    /// <summary>Takes a delivery: runs of consecutive records (each run whole, see <see cref="KafkaBatchContainer"/>).</summary>
    public async Task OnNextAsync(IList<SequentialItem<KafkaBatchContainer>> batches)
    {
        var items = new Delivery(batches);
        if (items.Count == 0)
        {
            return;
        }

        if (_firstFetchedAtMs == 0)
        {
            _firstFetchedAtMs = items.First.FetchedAtMs;
        }

        _busy++;
        try
        {
            if (DateTime.UtcNow - _lastReport >= _keepActiveEvery)
            {
                // After a quiet spell the watermark may be about to count this partition idle.
                await KeepActiveAsync();
            }

            if (_committing is { IsCompleted: false } commit && Environment.TickCount64 - _durableAtMs > MaxUndurableIntervals * _commitEveryMs)
            {
                // Storage is far behind (or down): hold the records until what is applied becomes durable.
                await commit;
            }

            await ApplyAsync(items);
            _backlogReadThrough |= items.ReachesLogEnd && !_caughtUp;
            _caughtUp = items.ReachesLogEnd;
        }
        finally
        {
            _busy--;
            _lastBatchMs = Environment.TickCount64;
        }

        if (Quiet)
        {
            // This delivery read a backlog through: what it applied becomes durable now, not at the next check.
            _ = CommitAsync();
        }
    }

    private async Task ApplyAsync(Delivery items)
    {
        var first = items.First.Offset;
        if (_nextOffset >= 0 && items.ReadFrom > _nextOffset)
        {
            var durable = (await _checkpoint.GetAsync()).NextOffset;
            if (durable < items.ReadFrom)
            {
                // Records between what is applied and this batch never reached this activation (it is new, or a
                // delivery was abandoned): have the receiver read again from the durable offset. Offsets the reader
                // passed without a record (transaction markers) are no gap.
                if (_rewindRequestedAt is null || DateTime.UtcNow - _rewindRequestedAt > RewindRetry)
                {
                    _rewindRequestedAt = DateTime.UtcNow;
                    var from = _committed >= 0 ? _committed : _nextOffset;
                    LogGap(_source, _nextOffset, items.ReadFrom, from);
                    await _checkpoint.RewindAsync(from);
                }

                return;
            }

            // Everything below the durable offset is applied, and the offsets between hold no record: a receiver
            // found them empty (a transaction's commit marker) and moved the durable offset past them, and the
            // receiver of this delivery started there since.
            _committed = _nextOffset = durable;
        }

        _rewindRequestedAt = null;
        var events = new List<Positioned<TEvent>>(items.Count);
        var deadLetters = new SortedDictionary<long, DeadLetter>();
        Dictionary<long, string[]>? restricted = null;
        var batchMaxEventMs = long.MinValue;
        foreach (var record in items)
        {
            var error = Read(record, out var reason, out var parsed);
            if (error is not null)
            {
                deadLetters[record.Offset] = DeadLetterOf(record, reason, error, []);
                continue;
            }

            events.Add(new Positioned<TEvent>(record.Offset, parsed!));
            batchMaxEventMs = Math.Max(batchMaxEventMs, EventTime.ToMilliseconds(EventTimeOf(parsed!)));
            if (record.GetHeader(DeadLetterHeaders.Routes) is { Length: > 0 } routes)
            {
                (restricted ??= [])[record.Offset] = Encoding.UTF8.GetString(routes).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            }
        }

        if (events.Count > 0 && !_sawEvents)
        {
            // Active before its first records are applied: until then the watermark must not count it idle.
            _sawEvents = true;
            await KeepActiveAsync();
        }

        var results = await Task.WhenAll(_routes.Select(route => route.ApplyAsync(_source, For(route, events, restricted), _calls)));

        // Only now may the watermark pass these records: a commit runs alongside the batch and reports it.
        _maxEventMs = Math.Max(_maxEventMs, batchMaxEventMs);

        // Only a batch with late records or processing errors needs records by offset.
        var byOffset = results.Any(r => r.Late.Count > 0 || r.Failures.Count > 0)
            ? items.ToDictionary()
            : [];
        for (var r = 0; r < _routes.Length; r++)
        {
            foreach (var offset in results[r].Late)
            {
                // Counted in the totals and in windows still open; dead-lettered so that it is never silently dropped.
                if (deadLetters.TryAdd(offset, DeadLetterOf(byOffset[offset], FailureReason.Late, $"event time is behind the watermark beyond grace ({_routes[r].Name})", [])))
                {
                    _late++;
                    metrics.LateRecords.Inc();
                }
            }

            foreach (var (offset, error) in results[r].Failures)
            {
                deadLetters[offset] = deadLetters.TryGetValue(offset, out var existing)
                    ? existing with { Reason = ReasonName(FailureReason.ProcessingError), Routes = [.. existing.Routes, _routes[r].Name], Error = existing.Error + "; " + error }
                    : DeadLetterOf(byOffset[offset], FailureReason.ProcessingError, error, [_routes[r].Name]);
            }
        }

        if (deadLetters.Count > 0)
        {
            await PublishAsync([.. deadLetters.Values]);
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var processLatency = new RunLengthObservations(metrics.ProcessLatency);
        var endToEndLatency = new RunLengthObservations(metrics.EndToEndLatency);
        var eventTimeLag = new RunLengthObservations(metrics.EventTimeLag);
        foreach (var record in items)
        {
            if (record.FetchedAtMs > 0)
            {
                processLatency.Add((now - record.FetchedAtMs) / 1000.0);
            }

            if (record.TimestampMs > 0)
            {
                endToEndLatency.Add(Math.Max(0, now - record.TimestampMs) / 1000.0);
            }
        }

        foreach (var e in events)
        {
            eventTimeLag.Add(Math.Max(0, (now - EventTime.ToMilliseconds(EventTimeOf(e.Event))) / 1000.0));
        }

        processLatency.Flush();
        endToEndLatency.Flush();
        eventTimeLag.Flush();

        _consumed.Inc(items.Count);

        if (_firstApplied < 0)
        {
            _firstApplied = first;
        }

        _nextOffset = Math.Max(_nextOffset, items.Last.Offset + 1);
        _processed += items.Count;
        _rejected += deadLetters.Count;
    }

    /// <summary>
    /// Advances the durable offset to the lowest one some grain has not persisted yet. Grains fed all the time
    /// report what they persisted on their own; those that got nothing since the last commit are asked to flush.
    /// </summary>
    public Task CommitAsync() =>
        _committing is { IsCompleted: false } running ? running
        : _volatile?.Lost == true ? Task.CompletedTask
        : _committing = CommitOnceAsync();

    private async Task CommitOnceAsync()
    {
        if (!Pending)
        {
            _durableAtMs = Environment.TickCount64;
            return;
        }

        var quiet = Quiet;
        _commitStartedMs = Environment.TickCount64;
        _backlogReadThrough &= !quiet;
        _busy++;
        long persisted;
        long durable;
        try
        {
            using var timer = metrics.CheckpointDuration.NewTimer();
            await Task.WhenAll(_progress.Select(r => r.FlushAsync(_source, _calls, quiet)));
            await DeadLetterFailedResendsAsync();
            persisted = _progress.Min(r => r.DurableBefore(_nextOffset));
            // Nothing below the first record this activation applied waits on its grains.
            durable = Math.Max(Math.Max(_committed, _firstApplied), persisted);
            if (durable > _committed)
            {
                await _checkpoint.CommitAsync(durable);
            }

            if (_maxEventMs != long.MinValue)
            {
                watermarks.Offer(Topic, await _watermark.ReportAsync(_partition, _maxEventMs));
                _lastReport = DateTime.UtcNow;
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The offset stays where it was; the next interval tries again.
            LogCommitFailed(ex, _source);
            return;
        }
        finally
        {
            _busy--;
        }

        var now = Environment.TickCount64;
        if (durable > _committed)
        {
            _durableAtMs = now;
        }
        else if (now - _durableAtMs >= HeldWarningMs && now - _heldWarnedAtMs >= HeldWarningMs)
        {
            // Storage down for that long, or a grain that will not persist: either way, say which one holds it.
            _heldWarnedAtMs = now;
            LogDurableHeld(_source, durable, (now - _durableAtMs) / 1000, _progress.Select(r => r.Holding(persisted)).FirstOrDefault(h => h is not null) ?? "no grain");
        }

        _committed = durable;
        foreach (var route in _progress)
        {
            route.Forget(_committed);
        }
    }

    private async Task KeepActiveAsync()
    {
        if (!_sawEvents)
        {
            // No record with an event time yet (only bad records so far): such a partition must not hold the watermark.
            return;
        }

        try
        {
            await _watermark.KeepActiveAsync(_partition);
            _lastReport = DateTime.UtcNow;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The next tick tries again; until then the partition may count as idle.
            LogKeepActiveFailed(ex, _source);
        }
    }

    public Task<PartitionStatus> GetStatusAsync() =>
        Task.FromResult(new PartitionStatus(_source, _processed, _rejected, _committed, _nextOffset, _rejected, _late, _firstFetchedAtMs));

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex)
    {
        LogStreamError(ex, _source);
        return Task.CompletedTask;
    }

    /// <summary>The routes this topic's records take, each named (names appear in dead letters and replays).</summary>
    protected abstract Route<TEvent>[] CreateRoutes();

    protected abstract bool TryParse(byte[] value, out TEvent parsed, out string error);

    /// <summary>The event's time, epoch seconds.</summary>
    protected abstract double EventTimeOf(TEvent parsed);

    /// <summary>Why a well-formed event breaks the validation rules, or null.</summary>
    protected abstract string? Validate(TEvent parsed);

    private string? Read(KafkaRecord record, out FailureReason reason, out TEvent? parsed)
    {
        parsed = default;
        reason = FailureReason.Malformed;
        if (record.Value is null)
        {
            return "value is null";
        }

        if (record.Value.Length > options.Value.MaxValueBytes)
        {
            return $"value of {record.Value.Length} bytes is larger than {ProcessingOptions.Section}:{nameof(ProcessingOptions.MaxValueBytes)} ({options.Value.MaxValueBytes})";
        }

        if (!TryParse(record.Value, out var value, out var error))
        {
            return error;
        }

        if (Validate(value) is { } invalid)
        {
            reason = FailureReason.Invalid;
            return invalid;
        }

        parsed = value;
        return null;
    }

    private static IReadOnlyList<Positioned<TEvent>> For(Route<TEvent> route, List<Positioned<TEvent>> events, Dictionary<long, string[]>? restricted) =>
        restricted is null
            ? events
            : events.Where(e => !restricted.TryGetValue(e.Offset, out var routes) || routes.Contains(route.Name, StringComparer.Ordinal)).ToList();

    private async Task PublishAsync(DeadLetter[] deadLetters)
    {
        await AnnounceAsync(deadLetters);
        await _deadLetters.ApplyAsync(_source, [.. deadLetters.Select(d => new Positioned<DeadLetter>(d.Offset, d))], _calls);
    }

    /// <summary>Logs and counts dead letters, and publishes them to the dead-letter topic.</summary>
    private Task AnnounceAsync(DeadLetter[] deadLetters)
    {
        foreach (var deadLetter in deadLetters)
        {
            LogDeadLetter(deadLetter.Id, deadLetter.Reason, deadLetter.Error);
            metrics.DeadLetters.WithLabels(deadLetter.Reason).Inc();
        }

        // In Kafka first, keyed by the record's identity, so a re-emission after a crash is the same record.
        return Task.WhenAll(deadLetters.Select(d => output.ProduceAsync(Topics.ProcessingFailures, Encoding.UTF8.GetBytes(d.Id), DeadLetterJson.Serialize(d))));
    }

    /// <summary>
    /// Dead-letters the records that kept failing when they were sent again to a grain's new activation (the lost one
    /// had applied them), all of a commit's at once. Their deliveries are gone, so their original bytes are read again
    /// from Kafka; the dead-letter grain takes them out of offset order. Until then they hold the durable offset.
    /// </summary>
    private async Task DeadLetterFailedResendsAsync()
    {
        if (Array.TrueForAll(_routes, r => r.FailedResends.Count == 0))
        {
            return;
        }

        var failed = _routes.Select(route => (Route: route, Records: route.FailedResends.ToArray())).ToArray();
        var records = await ServiceProvider.GetRequiredService<KafkaRecordLookup>()
            .ReadAsync(Topic, _partition, [.. failed.SelectMany(f => f.Records.Select(r => r.Offset))]);
        DeadLetter[] deadLetters = [.. failed.SelectMany(f => f.Records.Select(r =>
        {
            var record = records.GetValueOrDefault(r.Offset) ?? new KafkaRecord(Topic, _partition, r.Offset, null, null, 0);
            return DeadLetterOf(record, FailureReason.ProcessingError,
                $"{r.Error} (when sent again to a new activation of its grain{(record.Value is null ? "; Kafka no longer holds the record" : string.Empty)})", [f.Route.Name]);
        }))];
        await AnnounceAsync(deadLetters);
        await GrainFactory.GetKeyed<IDeadLetterGrain>(DeadLetterShards.For(_partition)).AddAsync(deadLetters);
        _rejected += deadLetters.Length;
        foreach (var (route, dead) in failed)
        {
            route.DeadLettered(dead.Length);
        }
    }

    private static DeadLetter DeadLetterOf(KafkaRecord record, FailureReason reason, string error, string[] routes) =>
        new(ReasonName(reason), error, record.Topic, record.Partition, record.Offset, record.Key, record.Value, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0, routes);

    internal static string ReasonName(FailureReason reason) => reason switch
    {
        FailureReason.Malformed => "malformed",
        FailureReason.Invalid => "invalid",
        FailureReason.ProcessingError => "processing_error",
        FailureReason.Late => "late",
        _ => throw new ArgumentOutOfRangeException(nameof(reason)),
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead letter {Id} ({Reason}): {Error}")]
    private partial void LogDeadLetter(string id, string reason, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Source}: expected records from offset {Expected} but got them from {Received}; asking to read again from {From}")]
    private partial void LogGap(string source, long expected, long received, long from);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Source}: the durable offset has stood at {Offset} for {Seconds} s with records applied above it; held by {Holder}")]
    private partial void LogDurableHeld(string source, long offset, long seconds, string holder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Source}: commit failed; retrying at the next interval")]
    private partial void LogCommitFailed(Exception exception, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Source}: could not tell the watermark the partition is active")]
    private partial void LogKeepActiveFailed(Exception exception, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream error on {Source}")]
    private partial void LogStreamError(Exception exception, string source);

    /// <summary>
    /// The records of one delivery, in offset order, read through its runs without copying them into one list. A run
    /// is never empty (the reader makes none); a delivery may be.
    /// </summary>
    private readonly struct Delivery(IList<SequentialItem<KafkaBatchContainer>> runs)
    {
        public int Count { get; } = runs.Sum(run => run.Item.Records.Length);

        /// <summary>Whether its last run reached the end of the partition as its reader knew it.</summary>
        public bool ReachesLogEnd => runs[^1].Item.ReachesLogEnd;

        public KafkaRecord First => runs[0].Item.Records[0];

        /// <summary>Where the reader stood before the first record (see <see cref="KafkaBatchContainer.ReadFrom"/>).</summary>
        public long ReadFrom => runs[0].Item.ReadFrom;

        public KafkaRecord Last => runs[^1].Item.Records[^1];

        public Dictionary<long, KafkaRecord> ToDictionary()
        {
            var byOffset = new Dictionary<long, KafkaRecord>(Count);
            foreach (var record in this)
            {
                byOffset[record.Offset] = record;
            }

            return byOffset;
        }

        public Enumerator GetEnumerator() => new(runs);

        public struct Enumerator(IList<SequentialItem<KafkaBatchContainer>> runs)
        {
            private int _run;
            private int _next;

            public KafkaRecord Current { get; private set; } = null!;

            public bool MoveNext()
            {
                for (; _run < runs.Count; _run++, _next = 0)
                {
                    var run = runs[_run].Item.Records;
                    if (_next < run.Length)
                    {
                        Current = run[_next++];
                        return true;
                    }
                }

                return false;
            }
        }
    }
}
