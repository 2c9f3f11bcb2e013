using System.Text;

namespace OrleansStreams.Grains.Core;

/// <summary>
/// Strings of short ASCII byte values, from a small cache per thread: records repeat the same user ids and URLs, so
/// most values are found there instead of allocated, and equal values share one instance. A slot holds the last value
/// that hashed to it, so the cache never grows.
/// </summary>
internal static class AsciiStrings
{
    private const int Slots = 4096;
    private const int MaxLength = 128;

    [ThreadStatic]
    private static string?[]? t_slots;

    /// <summary>The string of <paramref name="ascii"/>, which must be valid ASCII.</summary>
    public static string Get(ReadOnlySpan<byte> ascii)
    {
        if (ascii.Length > MaxLength)
        {
            return Encoding.ASCII.GetString(ascii);
        }

        var hash = new HashCode();
        hash.AddBytes(ascii);
        var slot = (int)((uint)hash.ToHashCode() % Slots);
        var slots = t_slots ??= new string?[Slots];
        if (slots[slot] is { } cached && Ascii.Equals(ascii, cached))
        {
            return cached;
        }

        return slots[slot] = Encoding.ASCII.GetString(ascii);
    }
}
