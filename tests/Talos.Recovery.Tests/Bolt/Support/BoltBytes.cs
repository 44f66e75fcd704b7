using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;

namespace Talos.Recovery.Tests.Bolt.Support;

/// <summary>
/// Byte-level helpers for writing and patching bbolt files in tests (spec §1.4, §1.5, §4). Independent of the
/// product code on purpose: these helpers are the second opinion the checker is tested against.
/// </summary>
internal static class BoltBytes
{
    public const uint Magic = 0xED0CDAED;
    public const uint Version = 2;
    public const int PageHeaderSize = 16;
    public const int ElementSize = 16;
    public const int BucketHeaderSize = 16;
    public const ulong NoFreelist = ulong.MaxValue;
    public const int MaxKeySize = 32768;
    public const int TrailerLength = 32;

    public const ushort BranchFlag = 0x01;
    public const ushort LeafFlag = 0x02;
    public const ushort MetaFlag = 0x04;
    public const ushort FreelistFlag = 0x10;
    public const uint BucketLeafFlag = 0x01;

    // Meta field offsets from the start of the meta page (spec §1.4).
    public const int MetaMagicOffset = 16;
    public const int MetaVersionOffset = 20;
    public const int MetaPageSizeOffset = 24;
    public const int MetaFlagsOffset = 28;
    public const int MetaRootOffset = 32;
    public const int MetaSequenceOffset = 40;
    public const int MetaFreelistOffset = 48;
    public const int MetaPgidOffset = 56;
    public const int MetaTxIdOffset = 64;
    public const int MetaChecksumOffset = 72;

    public static void U16(Span<byte> buffer, long offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(buffer[checked((int)offset)..], value);

    public static void U32(Span<byte> buffer, long offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(buffer[checked((int)offset)..], value);

    public static void U64(Span<byte> buffer, long offset, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(buffer[checked((int)offset)..], value);

    public static ushort ReadU16(ReadOnlySpan<byte> buffer, long offset) => BinaryPrimitives.ReadUInt16LittleEndian(buffer[checked((int)offset)..]);

    public static uint ReadU32(ReadOnlySpan<byte> buffer, long offset) => BinaryPrimitives.ReadUInt32LittleEndian(buffer[checked((int)offset)..]);

    public static ulong ReadU64(ReadOnlySpan<byte> buffer, long offset) => BinaryPrimitives.ReadUInt64LittleEndian(buffer[checked((int)offset)..]);

    /// <summary>FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3).</summary>
    public static ulong Fnv1a64(ReadOnlySpan<byte> data)
    {
        var hash = 0xcbf29ce484222325UL;
        foreach (var b in data)
        {
            hash = (hash ^ b) * 0x100000001b3UL;
        }

        return hash;
    }

    /// <summary>CRC-32C (Castagnoli) as Go's <c>crc32.New(crc32.MakeTable(crc32.Castagnoli))</c>, continued from <paramref name="crc"/>.</summary>
    public static uint Crc32CUpdate(uint crc, ReadOnlySpan<byte> data)
    {
        // Raw update step; the caller starts at 0xFFFFFFFF and inverts at the end.
        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }

    /// <summary>Writes the 64-byte meta struct and its checksum into a meta page image (header included).</summary>
    public static void WriteMetaPage(Span<byte> page, ulong headerId, MetaFields meta)
    {
        page[..Math.Min(page.Length, 80)].Clear();
        U64(page, 0, headerId);
        U16(page, 8, MetaFlag);
        U32(page, MetaMagicOffset, meta.Magic);
        U32(page, MetaVersionOffset, meta.Version);
        U32(page, MetaPageSizeOffset, meta.PageSize);
        U32(page, MetaFlagsOffset, meta.Flags);
        U64(page, MetaRootOffset, meta.Root);
        U64(page, MetaSequenceOffset, meta.Sequence);
        U64(page, MetaFreelistOffset, meta.Freelist);
        U64(page, MetaPgidOffset, meta.Pgid);
        U64(page, MetaTxIdOffset, meta.TxId);
        U64(page, MetaChecksumOffset, Fnv1a64(page.Slice(16, 56)));
    }

    /// <summary>Reads the meta fields at <paramref name="metaOffset"/> (the start of a meta page).</summary>
    public static MetaFields ReadMeta(ReadOnlySpan<byte> file, long metaOffset)
    {
        var page = file.Slice(checked((int)metaOffset), 80);
        return new MetaFields
        {
            Magic = ReadU32(page, MetaMagicOffset),
            Version = ReadU32(page, MetaVersionOffset),
            PageSize = ReadU32(page, MetaPageSizeOffset),
            Flags = ReadU32(page, MetaFlagsOffset),
            Root = ReadU64(page, MetaRootOffset),
            Sequence = ReadU64(page, MetaSequenceOffset),
            Freelist = ReadU64(page, MetaFreelistOffset),
            Pgid = ReadU64(page, MetaPgidOffset),
            TxId = ReadU64(page, MetaTxIdOffset),
            Checksum = ReadU64(page, MetaChecksumOffset),
        };
    }

    /// <summary>
    /// Rewrites meta page <paramref name="metaIndex"/> (0 or 1, at offset index × <paramref name="pageSize"/>) with
    /// <paramref name="change"/> applied and, unless <paramref name="recomputeChecksum"/> is false, a valid checksum.
    /// The page header is left alone.
    /// </summary>
    public static void RewriteMeta(byte[] file, int pageSize, int metaIndex, Func<MetaFields, MetaFields> change, bool recomputeChecksum = true)
    {
        var offset = (long)metaIndex * pageSize;
        var page = file.AsSpan(checked((int)offset), 80);
        var meta = change(ReadMeta(file, offset));
        U32(page, MetaMagicOffset, meta.Magic);
        U32(page, MetaVersionOffset, meta.Version);
        U32(page, MetaPageSizeOffset, meta.PageSize);
        U32(page, MetaFlagsOffset, meta.Flags);
        U64(page, MetaRootOffset, meta.Root);
        U64(page, MetaSequenceOffset, meta.Sequence);
        U64(page, MetaFreelistOffset, meta.Freelist);
        U64(page, MetaPgidOffset, meta.Pgid);
        U64(page, MetaTxIdOffset, meta.TxId);
        U64(page, MetaChecksumOffset, recomputeChecksum ? Fnv1a64(page.Slice(16, 56)) : meta.Checksum);
    }

    /// <summary>Rewrites both metas with the same change and valid checksums.</summary>
    public static void RewriteBothMetas(byte[] file, int pageSize, Func<MetaFields, MetaFields> change)
    {
        RewriteMeta(file, pageSize, 0, change);
        RewriteMeta(file, pageSize, 1, change);
    }

    /// <summary>etcd's trailer rule (spec §4.2).</summary>
    public static bool HasTrailerByLength(long length) => length >= TrailerLength && length % 512 == TrailerLength;

    /// <summary>Returns <paramref name="database"/> followed by its SHA-256.</summary>
    public static byte[] WithTrailer(ReadOnlySpan<byte> database)
    {
        var result = new byte[database.Length + TrailerLength];
        database.CopyTo(result);
        SHA256.HashData(database, result.AsSpan(database.Length));
        return result;
    }

    /// <summary>Recomputes the last 32 bytes as the SHA-256 of everything before them (after a deliberate edit).</summary>
    public static void RefreshTrailer(byte[] file)
    {
        var prefix = file.Length - TrailerLength;
        SHA256.HashData(file.AsSpan(0, prefix), file.AsSpan(prefix));
    }

    /// <summary>Copies page <paramref name="a"/> over page <paramref name="b"/> and vice versa.</summary>
    public static void SwapPages(byte[] file, int pageSize, long a, long b)
    {
        var tmp = new byte[pageSize];
        file.AsSpan(checked((int)(a * pageSize)), pageSize).CopyTo(tmp);
        file.AsSpan(checked((int)(b * pageSize)), pageSize).CopyTo(file.AsSpan(checked((int)(a * pageSize))));
        tmp.CopyTo(file.AsSpan(checked((int)(b * pageSize))));
    }

    public static string Hex(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(data);
}

/// <summary>The 64-byte meta struct's fields (spec §1.4). <see cref="Checksum"/> is what is stored.</summary>
internal readonly record struct MetaFields
{
    public uint Magic { get; init; }

    public uint Version { get; init; }

    public uint PageSize { get; init; }

    public uint Flags { get; init; }

    public ulong Root { get; init; }

    public ulong Sequence { get; init; }

    public ulong Freelist { get; init; }

    public ulong Pgid { get; init; }

    public ulong TxId { get; init; }

    public ulong Checksum { get; init; }
}

/// <summary>Orders byte strings as Go's <c>bytes.Compare</c> (unsigned, bytewise, shorter prefix first).</summary>
internal sealed class ByteArrayComparer : IComparer<byte[]>, IEqualityComparer<byte[]>
{
    public static readonly ByteArrayComparer Instance = new();

    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);

    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj)
    {
        var hash = new HashCode();
        hash.AddBytes(obj);
        return hash.ToHashCode();
    }
}
