using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansStreams.Streaming.Kafka;

namespace OrleansStreams.Tests.Provider;

public sealed class KafkaStreamOptionsValidatorTests
{
    private static KafkaStreamOptions Valid() => new() { BootstrapServers = "localhost:9092", Topics = ["pageviews"] };

    [Fact]
    public void valid_options_pass() => Assert.Empty(KafkaStreamOptionsValidator.Validate(Valid()));

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void partition_count_below_one_is_named(int count)
    {
        var options = Valid();
        options.PartitionCount = count;
        var ex = Assert.Throws<Orleans.Runtime.OrleansConfigurationException>(() => new KafkaStreamOptionsValidator(options, "kafka").ValidateConfiguration());
        Assert.Contains("PartitionCount", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'kafka'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void each_bad_setting_names_itself()
    {
        var options = new KafkaStreamOptions
        {
            BootstrapServers = " ",
            Topics = ["ok", "bad topic!"],
            OutputTopics = ["also bad!"],
            ReplicationFactor = 0,
            MaxBatchSize = 0,
            CacheSize = 0,
            ConsumerGroupId = "",
            CheckpointPollInterval = TimeSpan.Zero,
        };
        var errors = string.Join("\n", KafkaStreamOptionsValidator.Validate(options));
        foreach (var name in new[] { "BootstrapServers", "Topics", "OutputTopics", "ReplicationFactor", "MaxBatchSize", "CacheSize", "ConsumerGroupId", "CheckpointPollInterval" })
        {
            Assert.Contains(name, errors, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void no_topics_is_an_error() =>
        Assert.Contains(KafkaStreamOptionsValidator.Validate(new KafkaStreamOptions { BootstrapServers = "x:1" }), e => e.Contains("Topics", StringComparison.Ordinal));

    [Fact]
    public void producer_config_always_idempotent_with_acks_all_and_keeps_security_settings()
    {
        var options = Valid();
        options.Producer.EnableIdempotence = false;
        options.Producer.Acks = Confluent.Kafka.Acks.Leader;
        options.Producer.SecurityProtocol = Confluent.Kafka.SecurityProtocol.SaslSsl;
        options.Producer.SaslUsername = "user";
        var config = KafkaClientConfigs.Producer(options);
        Assert.True(config.EnableIdempotence);
        Assert.Equal(Confluent.Kafka.Acks.All, config.Acks);
        Assert.Equal(Confluent.Kafka.SecurityProtocol.SaslSsl, config.SecurityProtocol);
        Assert.Equal("user", KafkaClientConfigs.Admin(options).SaslUsername);
    }

    [Fact]
    public void consumer_config_commits_only_stored_offsets_and_is_tuned_unless_overridden()
    {
        var options = Valid();
        options.Consumer.EnableAutoOffsetStore = true;
        options.Consumer.EnableAutoCommit = false;
        options.Consumer.QueuedMinMessages = 5;
        var config = KafkaClientConfigs.Consumer(options);
        // What it read is never committed, only the durable offsets the receiver stores; those in the background.
        Assert.False(config.EnableAutoOffsetStore);
        Assert.True(config.EnableAutoCommit);
        Assert.Equal(1_000, config.AutoCommitIntervalMs);
        Assert.Equal(5, config.QueuedMinMessages);
        Assert.Equal("10", config.Get("fetch.queue.backoff.ms"));
    }

    [Fact]
    public void an_idle_partition_is_read_again_after_20_ms_unless_the_pulling_agent_is_configured_otherwise()
    {
        static TimeSpan IdlePoll(Action<SiloKafkaStreamConfigurator> configure)
        {
            var services = new ServiceCollection();
            configure(new SiloKafkaStreamConfigurator("kafka", add => add(services)));
            using var provider = services.BuildServiceProvider();
            return provider.GetRequiredService<IOptionsMonitor<StreamPullingAgentOptions>>().Get("kafka").GetQueueMsgsTimerPeriod;
        }

        Assert.Equal(TimeSpan.FromMilliseconds(20), IdlePoll(_ => { }));
        Assert.Equal(TimeSpan.FromMilliseconds(250), IdlePoll(kafka => kafka.ConfigurePullingAgent(ob => ob.Configure(o => o.GetQueueMsgsTimerPeriod = TimeSpan.FromMilliseconds(250)))));
    }
}
