using System.Text.Json;
using System.Text.RegularExpressions;
using OrleansStreams.Grains;
using OrleansStreams.Tests.Infrastructure;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OrleansStreams.Tests.Deploy;

/// <summary>
/// What cannot run here (containers) is at least parsed and cross-checked: valid YAML, and every port, address,
/// setting and metric consistent with the silo's.
/// </summary>
public sealed partial class DeploymentFilesTests
{
    private static readonly string DeployDir = Path.Combine(RepositoryPaths.Root, "deploy");

    private static YamlMappingNode Load(string path) => LoadAll(path).Single();

    private static List<YamlMappingNode> LoadAll(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(Path.Combine(DeployDir, path));
        // Compose files use merge keys (<<: *silo): resolve them as Docker does.
        stream.Load(new MergingParser(new Parser(reader)));
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    private static YamlNode At(YamlNode node, params string[] path) =>
        path.Aggregate(node, (current, key) => ((YamlMappingNode)current).Children[new YamlScalarNode(key)]);

    private static string Text(YamlNode node, params string[] path) => ((YamlScalarNode)At(node, path)).Value!;

    private static Dictionary<string, string> Environment(YamlNode service) =>
        ((YamlMappingNode)At(service, "environment")).Children
            .Where(kv => kv.Value is YamlScalarNode)
            .ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value!);

    [Fact]
    public void every_yaml_file_parses()
    {
        var files = Directory.EnumerateFiles(DeployDir, "*.y*ml", SearchOption.AllDirectories).ToList();
        Assert.True(files.Count >= 9, string.Join(", ", files));
        foreach (var file in files)
        {
            Assert.NotEmpty(LoadAll(Path.GetRelativePath(DeployDir, file)));
        }
    }

    [Fact]
    public void compose_silos_agree_with_kafka_azurite_prometheus_and_the_dockerfile()
    {
        var compose = Load("docker-compose.yml");
        var services = (YamlMappingNode)At(compose, "services");
        var names = services.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToList();
        Assert.Contains("kafka", names);
        Assert.Contains("azurite", names);
        Assert.Contains("prometheus", names);
        Assert.Contains("grafana", names);
        var silos = names.Where(n => n.StartsWith("silo", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, silos.Count);

        foreach (var service in services.Children.Values)
        {
            var mapping = (YamlMappingNode)service;
            Assert.True(mapping.Children.ContainsKey(new YamlScalarNode("image")) || mapping.Children.ContainsKey(new YamlScalarNode("build")));
        }

        // Kafka in KRaft mode, advertising the address the silos use.
        var kafka = Environment(At(services, "kafka"));
        Assert.Contains("controller", kafka["KAFKA_PROCESS_ROLES"], StringComparison.Ordinal);
        foreach (var silo in silos)
        {
            var env = Environment(At(services, silo));
            Assert.Equal("PLAINTEXT://" + env["Kafka__BootstrapServers"], kafka["KAFKA_ADVERTISED_LISTENERS"]);
            var tableEndpoint = TableEndpoint().Match(env["Storage__ConnectionString"]);
            Assert.True(tableEndpoint.Success);
            Assert.Equal("azurite", tableEndpoint.Groups["host"].Value);
            Assert.Contains($"--tablePort {tableEndpoint.Groups["port"].Value}", Text(At(services, "azurite"), "command"), StringComparison.Ordinal);
            Assert.Equal("http://0.0.0.0:8080", env["Urls"]);
            Assert.Equal("AzureTable", env["Clustering__Provider"]);
        }

        // Prometheus scrapes every silo on its HTTP port.
        var prometheus = Load("prometheus/prometheus.yml");
        var targets = ((YamlSequenceNode)At(((YamlSequenceNode)At(((YamlSequenceNode)At(prometheus, "scrape_configs")).Children[0], "static_configs")).Children[0], "targets"))
            .Children.Select(t => ((YamlScalarNode)t).Value).ToList();
        Assert.Equal(silos.Select(s => $"{s}:8080").Order(), targets.Order());

        var dockerfile = File.ReadAllText(Path.Combine(DeployDir, "Dockerfile"));
        Assert.Contains("EXPOSE 8080 11111 30000", dockerfile, StringComparison.Ordinal);
        Assert.Contains("AS silo", dockerfile, StringComparison.Ordinal);
        Assert.Contains("AS client", dockerfile, StringComparison.Ordinal);
    }

    [Fact]
    public void every_setting_in_deploy_files_is_one_the_readme_documents()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "README.md"));
        var keys = new List<string>();
        var compose = (YamlMappingNode)At(Load("docker-compose.yml"), "services");
        foreach (var service in compose.Children.Where(kv => ((YamlScalarNode)kv.Key).Value!.StartsWith("silo", StringComparison.Ordinal)))
        {
            keys.AddRange(Environment(service.Value).Keys);
        }

        keys.AddRange(((YamlMappingNode)At(Load("k8s/configmap.yaml"), "data")).Children.Keys.Select(k => ((YamlScalarNode)k).Value!));
        foreach (var key in keys.Distinct())
        {
            var setting = key.Replace("__", ":", StringComparison.Ordinal);
            Assert.True(readme.Contains($"`{setting}`", StringComparison.Ordinal) || readme.Contains($"`{setting} ", StringComparison.Ordinal) || readme.Contains($"/ `{setting}`", StringComparison.Ordinal), $"README does not document {setting}");
        }
    }

    [Fact]
    public void kubernetes_ports_probes_and_selectors_agree()
    {
        var config = (YamlMappingNode)At(Load("k8s/configmap.yaml"), "data");
        string Setting(string key) => ((YamlScalarNode)config.Children[new YamlScalarNode(key)]).Value!;
        var deployment = Load("k8s/deployment.yaml");
        var template = At(deployment, "spec", "template");
        var container = (YamlMappingNode)((YamlSequenceNode)At(template, "spec", "containers")).Children[0];
        var ports = ((YamlSequenceNode)At(container, "ports")).Children
            .ToDictionary(p => Text(p, "name"), p => Text(p, "containerPort"));
        Assert.Equal(Setting("Orleans__SiloPort"), ports["silo"]);
        Assert.Equal(Setting("Orleans__GatewayPort"), ports["gateway"]);
        Assert.EndsWith(":" + ports["http"], Setting("Urls"), StringComparison.Ordinal);
        Assert.Equal("/health/live", Text(container, "livenessProbe", "httpGet", "path"));
        Assert.Equal("/health/ready", Text(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal("http", Text(container, "readinessProbe", "httpGet", "port"));

        var labels = ((YamlMappingNode)At(template, "metadata", "labels")).Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value!);
        foreach (var (file, path) in new[] { ("k8s/service.yaml", new[] { "spec", "selector" }), ("k8s/pdb.yaml", new[] { "spec", "selector", "matchLabels" }), ("k8s/deployment.yaml", new[] { "spec", "selector", "matchLabels" }) })
        {
            foreach (var (key, value) in ((YamlMappingNode)At(Load(file), path)).Children)
            {
                Assert.Equal(labels[((YamlScalarNode)key).Value!], ((YamlScalarNode)value).Value);
            }
        }

        var serviceTargets = ((YamlSequenceNode)At(Load("k8s/service.yaml"), "spec", "ports")).Children.Select(p => Text(p, "targetPort"));
        Assert.All(serviceTargets, t => Assert.Contains(t, ports.Keys));

        var rbac = LoadAll("k8s/rbac.yaml");
        var account = Text(template, "spec", "serviceAccountName");
        Assert.Contains(rbac, d => Text(d, "kind") == "ServiceAccount" && Text(d, "metadata", "name") == account);
        Assert.Contains(rbac, d => Text(d, "kind") == "RoleBinding" && Text(((YamlSequenceNode)At(d, "subjects")).Children[0], "name") == account);
    }

    [Fact]
    public async Task grafana_charts_only_metrics_the_silo_exposes()
    {
        var exposed = new PipelineMetrics().Registry;
        var names = new HashSet<string>(StringComparer.Ordinal);
        using (var stream = new MemoryStream())
        {
            await exposed.CollectAndExportAsTextAsync(stream);
            foreach (Match m in MetricName().Matches(System.Text.Encoding.UTF8.GetString(stream.ToArray())))
            {
                names.Add(m.Groups[1].Value);
            }
        }

        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(DeployDir, "grafana", "dashboards", "orleansstreams.json")));
        var exprs = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!))
            .ToList();
        Assert.NotEmpty(exprs);
        foreach (var expr in exprs)
        {
            foreach (Match used in UsedMetric().Matches(expr))
            {
                var name = Regex.Replace(used.Value, "_(bucket|sum|count)$", string.Empty);
                Assert.True(names.Contains(name), $"{used.Value} in '{expr}' is not a metric of the silo");
            }
        }

        foreach (var required in new[] { "app_messages_consumed_total", "app_process_latency_seconds", "app_consumer_lag", "app_dead_letters_total", "app_windows_closed_total" })
        {
            Assert.Contains(exprs, e => e.Contains(required, StringComparison.Ordinal));
        }
    }

    [GeneratedRegex(@"TableEndpoint=http://(?<host>[^:/]+):(?<port>\d+)/")]
    private static partial Regex TableEndpoint();

    [GeneratedRegex(@"^# TYPE (\S+)", RegexOptions.Multiline)]
    private static partial Regex MetricName();

    [GeneratedRegex(@"\bapp_[a-z_]+")]
    private static partial Regex UsedMetric();
}
