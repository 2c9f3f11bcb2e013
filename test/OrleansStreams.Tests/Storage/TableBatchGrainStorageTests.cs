using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Orleans.Storage;
using OrleansStreams.Grains;
using OrleansStreams.Silo.Storage;
using OrleansStreams.Tests.Infrastructure;

namespace OrleansStreams.Tests.Storage;

/// <summary>The grain storage for Azure Table storage, against Azurite.</summary>
public sealed class TableBatchGrainStorageTests
{
    [Fact]
    public async Task writes_of_many_grains_share_transactions_and_each_reads_back_its_own_state()
    {
        await using var azurite = await Azurite.StartAsync();
        var requests = new RequestLog();
        var storage = NewStorage(azurite, requests, partitions: 1);
        var ids = Enumerable.Range(0, 250).Select(i => GrainId.Create("url", $"/page/{i}")).ToArray();
        await storage.ReadStateAsync("url", ids[0], new GrainState<UrlState>());
        var before = requests.Count;

        var states = ids.Select((_, i) => new GrainState<UrlState>(new UrlState { Total = i })).ToArray();
        await Task.WhenAll(ids.Select((id, i) => storage.WriteStateAsync("url", id, states[i])));

        // One partition, one transaction in flight: 250 writes go in a handful of transactions, not 250 requests.
        Assert.InRange(requests.Count - before, 3, 10);
        for (var i = 0; i < ids.Length; i++)
        {
            var read = new GrainState<UrlState>();
            await storage.ReadStateAsync("url", ids[i], read);
            Assert.True(read.RecordExists);
            Assert.Equal(i, read.State!.Total);
            Assert.Equal(states[i].ETag, read.ETag);
        }
    }

    [Fact]
    public async Task each_read_is_a_point_query_and_gets_its_own_state_or_none()
    {
        await using var azurite = await Azurite.StartAsync();
        var requests = new RequestLog();
        var storage = NewStorage(azurite, requests, partitions: 1);
        // Quotes, spaces and letters beyond ASCII must be encoded in the request's address; a long key is shortened to a hash.
        var ids = Enumerable.Range(0, 200).Select(i => GrainId.Create("url", (i % 50) switch
        {
            0 => $"/it's/{i}/" + new string('x', 400),
            25 => $"/café au lait/{i}?q=a+b&r=ü",
            _ => $"/page/{i}",
        })).ToArray();
        var written = ids.Where((_, i) => i % 2 == 0).ToArray();
        await Task.WhenAll(written.Select(id => storage.WriteStateAsync("url", id, new GrainState<UrlState>(new UrlState { Total = Array.IndexOf(ids, id) + 1 }))));
        var before = requests.Count;

        var reads = ids.Select(id => (Id: id, State: new GrainState<UrlState>())).ToArray();
        await Task.WhenAll(reads.Select(r => storage.ReadStateAsync("url", r.Id, r.State)));

        // The service finds a row by its two keys at once; a filter of row keys joined by `or` would scan the partition.
        var sent = requests.Sent.Skip(before).ToArray();
        Assert.Equal(ids.Length, sent.Length);
        Assert.All(sent, uri =>
        {
            Assert.Contains("(PartitionKey=", uri.AbsolutePath, StringComparison.Ordinal);
            Assert.DoesNotContain("filter", uri.Query, StringComparison.Ordinal);
        });
        foreach (var (id, state) in reads)
        {
            var i = Array.IndexOf(ids, id);
            Assert.Equal(i % 2 == 0, state.RecordExists);
            Assert.Equal(i % 2 == 0 ? i + 1 : 0, state.State!.Total);
            Assert.Equal(i % 2 == 0, state.ETag is not null);
        }
    }

    [Fact]
    public async Task a_write_with_a_stale_etag_fails_alone_and_the_others_of_its_transaction_are_written()
    {
        await using var azurite = await Azurite.StartAsync();
        var storage = NewStorage(azurite, new RequestLog(), partitions: 1);
        var contested = GrainId.Create("url", "/contested");
        var first = new GrainState<UrlState>(new UrlState { Total = 1 });
        await storage.WriteStateAsync("url", contested, first);
        var stale = new GrainState<UrlState>(new UrlState { Total = 99 }) { ETag = first.ETag };
        await storage.WriteStateAsync("url", contested, new GrainState<UrlState>(new UrlState { Total = 2 }) { ETag = first.ETag });

        var others = Enumerable.Range(0, 20).Select(i => (Id: GrainId.Create("url", $"/other/{i}"), State: new GrainState<UrlState>(new UrlState { Total = 1000 + i }))).ToArray();
        var staleWrite = storage.WriteStateAsync("url", contested, stale);
        var otherWrites = others.Select(o => storage.WriteStateAsync("url", o.Id, o.State)).ToArray();

        await Assert.ThrowsAsync<InconsistentStateException>(() => staleWrite);
        await Task.WhenAll(otherWrites);
        var read = new GrainState<UrlState>();
        await storage.ReadStateAsync("url", contested, read);
        Assert.Equal(2, read.State!.Total);
        foreach (var (id, state) in others)
        {
            await storage.ReadStateAsync("url", id, read);
            Assert.Equal(state.State!.Total, read.State!.Total);
        }
    }

    [Fact]
    public async Task a_large_state_under_a_key_with_reserved_characters_round_trips_and_clears()
    {
        await using var azurite = await Azurite.StartAsync();
        var storage = NewStorage(azurite, new RequestLog(), partitions: 4);
        var id = GrainId.Create("url", "/a/b#c?d\\e%41" + new string('x', 600));
        var state = new UrlState { Total = 7 };
        for (var i = 0; i < 10_000; i++)
        {
            state.RecentEventIds[$"event-{i:D8}-{Guid.NewGuid():N}"] = i;
        }

        var written = new GrainState<UrlState>(state);
        await storage.WriteStateAsync("url", id, written);
        var read = new GrainState<UrlState>();
        await storage.ReadStateAsync("url", id, read);
        Assert.Equal(7, read.State!.Total);
        Assert.Equal(state.RecentEventIds, read.State!.RecentEventIds);

        // Another grain whose key differs only where the long one was shortened is another row.
        var other = GrainId.Create("url", "/a/b#c?d\\e%41" + new string('x', 599) + "y");
        await storage.ReadStateAsync("url", other, read);
        Assert.False(read.RecordExists);

        await storage.ClearStateAsync("url", id, written);
        await storage.ReadStateAsync("url", id, read);
        Assert.False(read.RecordExists);
        Assert.Equal(0, read.State!.Total);
    }

    [Fact]
    public async Task a_state_of_some_size_is_stored_compressed_and_a_small_one_as_it_is()
    {
        await using var azurite = await Azurite.StartAsync();
        var storage = NewStorage(azurite, new RequestLog(), partitions: 1, out var table);
        var large = new UrlState { Total = 3 };
        for (var i = 0; i < 200; i++)
        {
            large.RecentEventIds[$"user-{i % 7}|/page/{i}|event"] = 1_700_000_000_000 + i;
        }

        await storage.WriteStateAsync("url", GrainId.Create("url", "/large"), new GrainState<UrlState>(large));
        await storage.WriteStateAsync("url", GrainId.Create("url", "/small"), new GrainState<UrlState>(new UrlState { Total = 1 }));

        var rows = new Dictionary<string, TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>())
        {
            rows[row.GetString("GrainId")] = row;
        }

        var stored = rows["url//large"];
        Assert.True(stored.GetBinary("Data0")!.Length * 2 < stored.GetInt32("RawLength"), "a compressible state takes less than half its size");
        Assert.Null(rows["url//small"].GetInt32("RawLength"));

        var read = new GrainState<UrlState>();
        await storage.ReadStateAsync("url", GrainId.Create("url", "/large"), read);
        Assert.Equal(large.RecentEventIds, read.State!.RecentEventIds);
        await storage.ReadStateAsync("url", GrainId.Create("url", "/small"), read);
        Assert.Equal(1, read.State!.Total);
    }

    [Fact]
    public void keys_are_escaped_so_distinct_grains_keep_distinct_rows()
    {
        Assert.Equal("a%002Fb%0023c%003Fd%005Ce%0025", TableBatchGrainStorage.Escape("a/b#c?d\\e%"));
        Assert.NotEqual(TableBatchGrainStorage.Escape("a/b"), TableBatchGrainStorage.Escape("a%002Fb"));
    }

    private static TableBatchGrainStorage NewStorage(Azurite azurite, RequestLog requests, int partitions) =>
        NewStorage(azurite, requests, partitions, out _);

    private static TableBatchGrainStorage NewStorage(Azurite azurite, RequestLog requests, int partitions, out TableClient table)
    {
        var options = new TableClientOptions();
        options.AddPolicy(requests, HttpPipelinePosition.PerCall);
        table = new TableServiceClient(azurite.ConnectionString, options).GetTableClient("state" + Guid.NewGuid().ToString("N")[..8]);
        return StandaloneTableStorage.Create(table, "tests", partitions, 16);
    }

    /// <summary>Keeps the address of every request sent to table storage, in the order they were sent.</summary>
    private sealed class RequestLog : HttpPipelineSynchronousPolicy
    {
        private readonly ConcurrentQueue<Uri> _sent = new();

        public int Count => _sent.Count;

        public IEnumerable<Uri> Sent => _sent;

        public override void OnSendingRequest(HttpMessage message) => _sent.Enqueue(message.Request.Uri.ToUri());
    }
}
