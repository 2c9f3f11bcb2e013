using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Streams;
using Orleans.Streams.Core;
using OrleansStreams.Grains.Core;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Grains;

/// <summary>
/// Processes one partition of <c>pageviews</c> (the grain key is the partition number). It takes the partition's
/// records in offset order, groups them by URL and by user, calls those grains with sub-batches in parallel and
/// awaits them all before the next batch. Every commit interval it flushes the grains it touched and only then
/// advances the partition's durable offset, so a restart resumes exactly where persisted work ends.
/// </summary>
[ImplicitStreamSubscription(Topics.PageViews)]
[PreferLocalPlacement]
internal sealed partial class PageViewDispatcherGrain(IOptions<ProcessingOptions> options, ILogger<PageViewDispatcherGrain> logger)
    : Grain, IPageViewDispatcherGrain, IAsyncBatchObserver<KafkaRecord>, IStreamSubscriptionObserver
{
    private static readonly TimeSpan RewindRetry = TimeSpan.FromSeconds(10);
    private readonly List<PositionedPageView> _uncommitted = [];
    private SinkSet _urls = null!;
    private SinkSet _users = null!;
    private IKafkaCheckpointGrain _checkpoint = null!;
    private string _source = string.Empty;
    private long _committed = -1;
    private long _nextOffset = -1;
    private DateTime _lastCommit = DateTime.UtcNow;
    private DateTime? _rewindRequestedAt;
    private bool _pending;
    private long _processed;
    private long _rejected;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var partition = int.Parse(this.GetPrimaryKeyString(), NumberStyles.None, CultureInfo.InvariantCulture);
        _source = string.Create(CultureInfo.InvariantCulture, $"{Topics.PageViews}/{partition}");
        _urls = new SinkSet(key => GrainFactory.GetGrain<IUrlGrain>(key), view => view.Url);
        _users = new SinkSet(key => GrainFactory.GetGrain<IUserGrain>(key), view => view.UserId);
        _checkpoint = KafkaCheckpoints.Get(GrainFactory, Topics.StreamProvider, Topics.PageViews, partition);
        _committed = (await _checkpoint.GetAsync()).NextOffset;
        _nextOffset = _committed;
        var interval = options.Value.CommitInterval;
        this.RegisterGrainTimer(CommitAsync, interval, interval);
        await base.OnActivateAsync(cancellationToken);
    }

    public Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        handleFactory.Create<KafkaRecord>().ResumeAsync(this);

    public async Task OnNextAsync(IList<SequentialItem<KafkaRecord>> items)
    {
        if (items.Count == 0)
        {
            return;
        }

        var first = items[0].Item.Offset;
        if (_nextOffset >= 0 && first > _nextOffset)
        {
            // Records between what is applied and this batch never reached this activation (it is new, or a
            // delivery was abandoned): have the receiver read again from the durable offset.
            if (_rewindRequestedAt is null || DateTime.UtcNow - _rewindRequestedAt > RewindRetry)
            {
                _rewindRequestedAt = DateTime.UtcNow;
                var from = _committed >= 0 ? _committed : _nextOffset;
                LogGap(_source, _nextOffset, first, from);
                await _checkpoint.RewindAsync(from);
            }

            return;
        }

        _rewindRequestedAt = null;
        var views = new List<PositionedPageView>(items.Count);
        foreach (var item in items)
        {
            var record = item.Item;
            if (record.Value is null)
            {
                _rejected++;
                LogRejected(_source, record.Offset, nameof(FailureReason.Malformed), "value is null");
            }
            else if (EventParser.TryParsePageView(record.Value, out var view, out var error))
            {
                views.Add(new PositionedPageView(record.Offset, view));
            }
            else
            {
                _rejected++;
                LogRejected(_source, record.Offset, nameof(FailureReason.Malformed), error);
            }
        }

        await Task.WhenAll(_urls.ApplyAsync(_source, views, _uncommitted), _users.ApplyAsync(_source, views, _uncommitted));
        _uncommitted.AddRange(views);
        _nextOffset = Math.Max(_nextOffset, items[^1].Item.Offset + 1);
        _pending = true;
        _processed += items.Count;

        if (DateTime.UtcNow - _lastCommit >= options.Value.CommitInterval)
        {
            await CommitAsync();
        }
    }

    public async Task CommitAsync()
    {
        if (!_pending)
        {
            return;
        }

        await Task.WhenAll(_urls.FlushAsync(_source, _uncommitted), _users.FlushAsync(_source, _uncommitted));
        await _checkpoint.CommitAsync(_nextOffset);
        _committed = _nextOffset;
        _pending = false;
        _uncommitted.Clear();
        _urls.Clear();
        _users.Clear();
        _lastCommit = DateTime.UtcNow;
    }

    public Task<PartitionStatus> GetStatusAsync() =>
        Task.FromResult(new PartitionStatus(_source, _processed, _rejected, _committed, _nextOffset));

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex)
    {
        LogStreamError(ex, _source);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected record {Source}@{Offset} ({Reason}): {Error}")]
    private partial void LogRejected(string source, long offset, string reason, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Source}: expected offset {Expected} but got {Received}; asking to read again from {From}")]
    private partial void LogGap(string source, long expected, long received, long from);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream error on {Source}")]
    private partial void LogStreamError(Exception exception, string source);

    /// <summary>
    /// The grains of one kind (URL or user) touched since the last commit, with the activation that took their
    /// records. When a grain answers from another activation, its unflushed records were lost with the old one:
    /// they are sent again, in offset order, before anything newer.
    /// </summary>
    private sealed class SinkSet(Func<string, IPageViewSink> resolve, Func<PageView, string> keyOf)
    {
        private readonly Dictionary<string, Guid> _touched = new(StringComparer.Ordinal);

        public Task ApplyAsync(string source, List<PositionedPageView> views, List<PositionedPageView> uncommitted) =>
            Task.WhenAll(views.GroupBy(v => keyOf(v.View), StringComparer.Ordinal)
                .Select(group => SendAsync(source, group.Key, [.. group], uncommitted)));

        public Task FlushAsync(string source, List<PositionedPageView> uncommitted) =>
            Task.WhenAll(_touched.ToArray().Select(async entry =>
            {
                var receipt = await resolve(entry.Key).FlushAsync(entry.Value);
                while (!receipt.Accepted)
                {
                    await SendAsync(source, entry.Key, [], uncommitted, receipt.Activation);
                    receipt = await resolve(entry.Key).FlushAsync(_touched[entry.Key]);
                }
            }));

        public void Clear() => _touched.Clear();

        private async Task SendAsync(string source, string key, PositionedPageView[] views, List<PositionedPageView> uncommitted, Guid? knownNew = null)
        {
            var grain = resolve(key);
            var expected = knownNew ?? _touched.GetValueOrDefault(key);
            var batch = knownNew is null ? views : Resend(key, views, uncommitted);
            var receipt = await grain.ApplyPageViewsAsync(source, expected, batch);
            while (!receipt.Accepted)
            {
                receipt = await grain.ApplyPageViewsAsync(source, receipt.Activation, Resend(key, views, uncommitted));
            }

            _touched[key] = receipt.Activation;
        }

        private PositionedPageView[] Resend(string key, PositionedPageView[] views, List<PositionedPageView> uncommitted) =>
            [.. uncommitted.Where(v => string.Equals(keyOf(v.View), key, StringComparison.Ordinal)), .. views];
    }
}
