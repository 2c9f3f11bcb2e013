using Microsoft.Extensions.Configuration;
using OrleansStreams.Client;

// Settings: environment variables (Orleans__Gateways=host:port,...), or --set Section:Key=value before the verb.
var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
var rest = new List<string>();
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--set" && i + 1 < args.Length && args[i + 1].Split('=', 2) is [var key, var value])
    {
        settings[key] = value;
        i++;
    }
    else
    {
        rest.Add(args[i]);
    }
}

var config = new ConfigurationBuilder().AddEnvironmentVariables().AddInMemoryCollection(settings).Build();
return await CliApp.RunAsync([.. rest], Console.Out, Console.Error, config);
