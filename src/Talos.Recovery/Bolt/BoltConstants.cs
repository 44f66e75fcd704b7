namespace Talos.Recovery.Bolt;

/// <summary>bbolt's on-disk constants (spec §1.12).</summary>
internal static class BoltConstants
{
    public const uint Magic = 0xED0CDAED;
    public const uint Version = 2;
    public const int PageHeaderSize = 16;
    public const int ElementSize = 16;
    public const int BucketHeaderSize = 16;
    public const int MetaOffset = PageHeaderSize;
    public const int MetaChecksummedLength = 56;
    public const int MetaEnd = MetaOffset + 64;
    public const ulong NoFreelist = ulong.MaxValue;
    public const int MaxKeySize = 32768;
    public const uint MaxValueSize = (1u << 31) - 2;
    public const int MinPageSize = 512;
    public const int MaxPageSize = 1 << 20;

    public const ushort BranchPageFlag = 0x01;
    public const ushort LeafPageFlag = 0x02;
    public const ushort MetaPageFlag = 0x04;
    public const ushort FreelistPageFlag = 0x10;
    public const uint BucketLeafFlag = 0x01;

    /// <summary>bbolt's name for a page type as it prints it (branch &gt; leaf &gt; meta &gt; freelist precedence).</summary>
    public static string PageTypeName(ushort flags)
    {
        if ((flags & BranchPageFlag) != 0)
        {
            return "branch";
        }

        if ((flags & LeafPageFlag) != 0)
        {
            return "leaf";
        }

        if ((flags & MetaPageFlag) != 0)
        {
            return "meta";
        }

        if ((flags & FreelistPageFlag) != 0)
        {
            return "freelist";
        }

        return $"unknown<{flags:x2}>";
    }
}
