using OrleansStreams.Bench;

namespace OrleansStreams.Tests.Bench;

public class ProfilerTests
{
    // Six samples as `perf script -F comm,tid,ip,sym,dso` prints them: a thread line, frames innermost first, a blank line.
    private const string Script = """
        .NET TP Worker  3044
        	     7fea778d0cb5 instance bool [OrleansStreams.Grains] OrleansStreams.Grains.Core.EventParser::TryParse(valuetype [System.Runtime]System.ReadOnlySpan`1<uint8>)[Optimized] (/tmp/perf-3009.map)
        	     7fea778d094f instance string [OrleansStreams.Grains] OrleansStreams.Grains.Dispatch.PartitionDispatcherGrain`1[System.__Canon]::Read(class X)[Optimized] (/tmp/perf-3009.map)
        	          891f5 start_thread (/usr/lib/x86_64-linux-gnu/libc.so.6)

        .NET TP Worker  3170
        	          2bb18b [unknown] (/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/libcoreclr.so)
        	     7fea78c63b7f instance void [OrleansStreams.Grains] OrleansStreams.Grains.Dispatch.Route`1+<SendOnceAsync>d__14::MoveNext()[Optimized] (/tmp/perf-3009.map)
        	     7fea7903b097 instance void [Orleans.Runtime] Orleans.Runtime.Scheduler.WorkItemGroup::Execute()[Optimized] (/tmp/perf-3009.map)

        .NET Server GC  3011
        	          46e7cb [unknown] (/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/libcoreclr.so)

        rdk:broker1  3020
        	          ee017 rd_kafka_msgset_reader_msg_v2 (/root/.nuget/packages/librdkafka.redist/2.16.0/runtimes/linux-x64/native/librdkafka.so)

        .NET TP Worker  3044
        	          ee017 __sched_yield (/usr/lib/x86_64-linux-gnu/libc.so.6)

        .NET TP Worker  3044
        	          51d2f0 _int_free (/usr/lib/x86_64-linux-gnu/libc.so.6)
        	          2bd35f [unknown] (/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/System.Private.CoreLib.dll)
        """;

    [Fact]
    public void Each_sample_counts_in_the_first_part_its_stack_names_from_the_innermost_frame_out()
    {
        var profile = Profiler.Count(new StringReader(Script));

        Assert.Equal(6, profile.Samples);
        var shares = profile.Shares.ToDictionary(s => s.Part, s => s.Fraction * 6);
        Assert.Equal(1, shares["JSON parsing"], 9);
        Assert.Equal(1, shares["dispatchers and stream provider"], 9);
        Assert.Equal(1, shares["garbage collector threads"], 9);
        Assert.Equal(1, shares["Kafka client (Confluent.Kafka, librdkafka)"], 9);
        Assert.Equal(1, shares["threads spinning while they wait for work"], 9);
        Assert.Equal(1, shares[Profiler.Other], 9);
        Assert.Equal(6, shares.Count);
    }

    [Fact]
    public void No_samples_is_an_empty_profile()
    {
        var profile = Profiler.Count(new StringReader(string.Empty));

        Assert.Equal(0, profile.Samples);
        Assert.Empty(profile.Shares);
    }
}
