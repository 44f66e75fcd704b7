using System.Buffers.Binary;

namespace Talos.Recovery.Bolt;

/// <summary>A decoded meta page (spec §1.4–1.5).</summary>
internal readonly struct BoltMeta
{
    public ulong HeaderId { get; init; }

    public ushort HeaderFlags { get; init; }

    public uint Magic { get; init; }

    public uint Version { get; init; }

    public uint PageSize { get; init; }

    public ulong Root { get; init; }

    public ulong Freelist { get; init; }

    public ulong HighWaterMark { get; init; }

    public ulong TxId { get; init; }

    public ulong Checksum { get; init; }

    public ulong ComputedChecksum { get; init; }

    public bool HasFreelist => Freelist != BoltConstants.NoFreelist;

    /// <summary>bbolt's validate order: magic, then version, then checksum (≥1.3.7: exact match only).</summary>
    public BoltProblemCode? Error =>
        Magic != BoltConstants.Magic ? BoltProblemCode.MetaInvalidMagic
        : Version != BoltConstants.Version ? BoltProblemCode.MetaVersionMismatch
        : Checksum != ComputedChecksum ? BoltProblemCode.MetaChecksumMismatch
        : null;

    public bool IsValid => Error is null;

    /// <summary>bbolt's error text for an invalid meta.</summary>
    public string ErrorText => Error switch
    {
        BoltProblemCode.MetaInvalidMagic => "invalid database",
        BoltProblemCode.MetaVersionMismatch => "version mismatch",
        BoltProblemCode.MetaChecksumMismatch => "checksum error",
        _ => "valid",
    };

    /// <summary>Decodes the meta at the start of <paramref name="page"/> (at least 80 bytes).</summary>
    public static BoltMeta Read(ReadOnlySpan<byte> page)
    {
        var meta = page.Slice(BoltConstants.MetaOffset, 64);
        return new BoltMeta
        {
            HeaderId = BinaryPrimitives.ReadUInt64LittleEndian(page),
            HeaderFlags = BinaryPrimitives.ReadUInt16LittleEndian(page[8..]),
            Magic = BinaryPrimitives.ReadUInt32LittleEndian(meta),
            Version = BinaryPrimitives.ReadUInt32LittleEndian(meta[4..]),
            PageSize = BinaryPrimitives.ReadUInt32LittleEndian(meta[8..]),
            Root = BinaryPrimitives.ReadUInt64LittleEndian(meta[16..]),
            Freelist = BinaryPrimitives.ReadUInt64LittleEndian(meta[32..]),
            HighWaterMark = BinaryPrimitives.ReadUInt64LittleEndian(meta[40..]),
            TxId = BinaryPrimitives.ReadUInt64LittleEndian(meta[48..]),
            Checksum = BinaryPrimitives.ReadUInt64LittleEndian(meta[56..]),
            ComputedChecksum = Fnv1a64(meta[..BoltConstants.MetaChecksummedLength]),
        };
    }

    public static ulong Fnv1a64(ReadOnlySpan<byte> data)
    {
        var hash = 0xcbf29ce484222325UL;
        foreach (var b in data)
        {
            hash ^= b;
            hash *= 0x100000001b3UL;
        }

        return hash;
    }

    public static bool IsValidPageSize(ulong size) => size is >= BoltConstants.MinPageSize and <= BoltConstants.MaxPageSize && (size & (size - 1)) == 0;
}
