using System.Buffers;
using System.Text;

namespace OrleansStreams.Grains.Core;

/// <summary>
/// Writing and reading the packed formats of grain state: a version byte first, then numbers seven bits per byte and
/// strings as their UTF-8 length then their UTF-8 (the encodings of <see cref="BinaryWriter"/>), written into a byte
/// array sized beforehand.
/// </summary>
internal static class Packing
{
    /// <summary>Most bytes a 64-bit number takes seven bits at a time.</summary>
    public const int MaxVarIntBytes = 10;

    /// <summary>Bytes to write a state of at most <paramref name="bound"/> bytes into, from the shared pool.</summary>
    public static byte[] Rent(int bound) => ArrayPool<byte>.Shared.Rent(bound);

    /// <summary>The first <paramref name="length"/> bytes of <paramref name="rented"/>, copied out; the array goes back to the pool.</summary>
    public static byte[] Finish(byte[] rented, int length)
    {
        var written = rented.AsSpan(0, length).ToArray();
        ArrayPool<byte>.Shared.Return(rented);
        return written;
    }

    /// <summary>Most bytes <see cref="WriteString"/> takes for <paramref name="value"/>.</summary>
    public static int MaxStringBytes(string value) => MaxVarIntBytes + Encoding.UTF8.GetMaxByteCount(value.Length);

    /// <summary>A string as <see cref="BinaryWriter"/> writes it, which <see cref="BinaryReader.ReadString"/> reads back.</summary>
    public static void WriteString(byte[] bytes, ref int at, ReadOnlySpan<char> value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteVarInt(bytes, ref at, (ulong)length);
        at += Encoding.UTF8.GetBytes(value, bytes.AsSpan(at));
    }

    /// <summary>Seven bits per byte, low first, the high bit telling another byte follows (as <see cref="BinaryWriter.Write7BitEncodedInt64"/>).</summary>
    public static void WriteVarInt(byte[] bytes, ref int at, ulong value)
    {
        while (value >= 0x80)
        {
            bytes[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        bytes[at++] = (byte)value;
    }

    /// <summary>Reads the version byte at the start of <paramref name="bytes"/>; a format this version cannot read is refused, naming it.</summary>
    public static void ReadVersion(ReadOnlySpan<byte> bytes, ref int at, byte version, string format)
    {
        var found = bytes[at++];
        if (found != version)
        {
            throw new InvalidDataException($"{format} of format version {found}; this version reads {version}.");
        }
    }

    /// <summary>A string <see cref="WriteString"/> wrote at <paramref name="at"/>, which it moves past.</summary>
    public static string ReadString(ReadOnlySpan<byte> bytes, ref int at)
    {
        var length = (int)ReadVarInt(bytes, ref at);
        var value = Encoding.UTF8.GetString(bytes.Slice(at, length));
        at += length;
        return value;
    }

    /// <summary>A number <see cref="WriteVarInt"/> wrote at <paramref name="at"/>, which it moves past.</summary>
    public static ulong ReadVarInt(ReadOnlySpan<byte> bytes, ref int at)
    {
        var value = 0UL;
        for (var shift = 0; ; shift += 7)
        {
            if (shift > 63)
            {
                throw new InvalidDataException("A number takes more than ten bytes.");
            }

            var b = bytes[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }

    /// <summary>Small differences of either sign as small numbers: 0, -1, 1, -2, 2... as 0, 1, 2, 3, 4...</summary>
    public static long ZigZag(long value) => (value << 1) ^ (value >> 63);

    public static long UnZigZag(long value) => (long)((ulong)value >> 1) ^ -(value & 1);
}
