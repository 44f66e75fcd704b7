using System.Buffers;

namespace Talos.Recovery.Client;

/// <summary>
/// The protobuf wire-format primitives the hand-written, allocation-free message parsers share (etcd's
/// <c>SnapshotResponse</c>, Talos's <c>common.Data</c>). Every length is checked against what is left of the message;
/// the <c>message</c> argument names the message in the <see cref="InvalidDataException"/> a malformed input gets.
/// </summary>
internal static class ProtoWireReader
{
    /// <summary>Reads a base-128 varint of at most 64 bits.</summary>
    public static ulong ReadVarint(ref SequenceReader<byte> reader, string message)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out byte b))
            {
                throw new InvalidDataException($"{message} ends inside a varint.");
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                if (shift == 63 && b > 1)
                {
                    break;
                }

                return value;
            }
        }

        throw new InvalidDataException($"{message} has a varint longer than 64 bits.");
    }

    /// <summary>Reads the length of a length-delimited field and checks that the field fits in the message.</summary>
    public static int ReadLength(ref SequenceReader<byte> reader, string message)
    {
        ulong length = ReadVarint(ref reader, message);
        if (length > (ulong)reader.Remaining)
        {
            throw new InvalidDataException($"{message} field length runs past the end of the message.");
        }

        return (int)length;
    }

    /// <summary>Skips the value of a field of wire type <paramref name="wireType"/> (unknown fields are skipped, as protobuf requires).</summary>
    public static void SkipField(ref SequenceReader<byte> reader, int wireType, string message)
    {
        long count;
        switch (wireType)
        {
            case 0:
                ReadVarint(ref reader, message);
                return;
            case 1:
                count = 8;
                break;
            case 2:
                count = ReadLength(ref reader, message);
                break;
            case 5:
                count = 4;
                break;
            default:
                throw new InvalidDataException($"{message} has a field of unsupported wire type {wireType}.");
        }

        if (reader.Remaining < count)
        {
            throw new InvalidDataException($"{message} field runs past the end of the message.");
        }

        reader.Advance(count);
    }
}
