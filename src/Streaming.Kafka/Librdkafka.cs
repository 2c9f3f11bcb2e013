using System.Runtime.InteropServices;

namespace OrleansStreams.Streaming.Kafka;

/// <summary>
/// The librdkafka library file that Confluent.Kafka loaded, for the parts of its C API that Confluent does not wrap
/// (the mock cluster) or wraps at a cost per record (reading records). Which file that is depends on the platform:
/// on Debian 12 the default build lacks libsasl2 and Confluent falls back to another, so it is found by looking at
/// what the process has mapped.
/// </summary>
internal static class Librdkafka
{
    private static readonly Lazy<nint> Loaded = new(Load);

    /// <summary>The library's handle, or 0 where the loaded file cannot be told (no <c>/proc/self/maps</c>).</summary>
    public static nint Handle => Loaded.Value;

    /// <summary>The address of an exported function of the library.</summary>
    public static nint Export(string name) => NativeLibrary.GetExport(Handle, name);

    private static nint Load()
    {
        Confluent.Kafka.Library.Load();
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps))
        {
            return 0;
        }

        foreach (var line in File.ReadLines(maps))
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
            {
                continue;
            }

            var path = line[slash..].Trim();
            if (Path.GetFileName(path).Contains("librdkafka", StringComparison.Ordinal) && path.EndsWith(".so", StringComparison.Ordinal))
            {
                return NativeLibrary.Load(path);
            }
        }

        return 0;
    }
}
