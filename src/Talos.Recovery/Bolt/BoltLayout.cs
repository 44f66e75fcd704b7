using System.Globalization;

namespace Talos.Recovery.Bolt;

/// <summary>
/// What opening a bbolt file establishes: the page size, both meta pages and the active one (spec §1.6), and how
/// many pages the file really holds. Open-time problems that make the file unreadable throw
/// <see cref="BoltFormatException"/>; the rest go to the problem sink.
/// </summary>
internal sealed class BoltLayout
{
    private BoltLayout()
    {
    }

    public int PageSize { get; private init; }

    public BoltMeta Meta0 { get; private init; }

    public BoltMeta Meta1 { get; private init; }

    /// <summary>0 or 1: which meta page bbolt would use.</summary>
    public int ActiveIndex { get; private init; }

    public BoltMeta Active => ActiveIndex == 0 ? Meta0 : Meta1;

    /// <summary>The length of the database part the caller handed in (the file without trailer).</summary>
    public long DatabaseLength { get; private init; }

    /// <summary>The high-water mark of the active meta.</summary>
    public ulong HighWaterMark => Active.HighWaterMark;

    /// <summary>Pages that are both below the high-water mark and wholly inside the file.</summary>
    public long ReadablePages { get; private init; }

    /// <summary>Whether the tree can be walked at all (root in range, high-water mark sane).</summary>
    public bool RootUsable { get; private init; }

    /// <summary>Whether a persisted freelist can be read (present and in range).</summary>
    public bool FreelistUsable { get; private init; }

    /// <summary>
    /// Reads and checks the meta pages. <paramref name="streamed"/> says the file came from a snapshot stream
    /// (it had a trailer), where bbolt's WriteTo makes both metas describe the same transaction.
    /// </summary>
    public static BoltLayout Open(BoltMemory memory, bool streamed, BoltProblemSink sink)
    {
        var length = memory.Length;
        if (length == 0)
        {
            throw new BoltFormatException(BoltProblemCode.EmptyFile, null, null, "empty file, not a bbolt database");
        }

        if (length < BoltConstants.MetaEnd)
        {
            throw new BoltFormatException(BoltProblemCode.FileTooSmall, null, 0, F($"file size too small: {length} bytes cannot hold a bbolt meta page"));
        }

        var meta0 = BoltMeta.Read(memory.Span(0, BoltConstants.MetaEnd));
        long pageSize = 0;
        if (meta0.IsValid && BoltMeta.IsValidPageSize(meta0.PageSize))
        {
            pageSize = meta0.PageSize;
        }
        else
        {
            // bbolt ≥ 1.3.7: probe for meta 1 at 1 KiB << i; the page size is where a valid meta 1 sits.
            for (var i = 0; i < 15; i++)
            {
                long offset = 1024L << i;
                if (offset > length - BoltConstants.MetaEnd)
                {
                    break;
                }

                var candidate = BoltMeta.Read(memory.Span(offset, BoltConstants.MetaEnd));
                if (candidate.IsValid && candidate.PageSize == offset)
                {
                    pageSize = offset;
                    break;
                }
            }

            if (pageSize == 0)
            {
                if (meta0.IsValid)
                {
                    throw new BoltFormatException(BoltProblemCode.MetaInvalidPageSize, 0, 24, F($"invalid page size {meta0.PageSize} in meta page 0 (must be a power of two from {BoltConstants.MinPageSize} to {BoltConstants.MaxPageSize}) and no valid meta page 1 found"));
                }

                throw new BoltFormatException(meta0.Error!.Value, 0, MetaFieldOffset(meta0.Error.Value), MetaErrorMessage(0, meta0));
            }
        }

        if (length < 2 * pageSize)
        {
            throw new BoltFormatException(BoltProblemCode.FileTooSmall, null, null, F($"file size too small: {length} bytes is less than two {pageSize}-byte pages"));
        }

        var meta1 = BoltMeta.Read(memory.Span(pageSize, BoltConstants.MetaEnd));
        var valid0 = IsUsable(meta0, pageSize);
        var valid1 = IsUsable(meta1, pageSize);
        if (!valid0 && !valid1)
        {
            var error = meta0.Error ?? BoltProblemCode.MetaInvalidPageSize;
            throw new BoltFormatException(error, 0, MetaFieldOffset(error), MetaErrorMessage(0, meta0) + "; meta page 1: " + MetaErrorMessage(1, meta1));
        }

        // bbolt: A = the meta with the strictly higher txid (meta 0 on a tie), used if valid, else the other.
        var preferred = meta1.TxId > meta0.TxId ? 1 : 0;
        var active = preferred == 0 ? (valid0 ? 0 : 1) : (valid1 ? 1 : 0);
        for (var index = 0; index < 2; index++)
        {
            var meta = index == 0 ? meta0 : meta1;
            var valid = index == 0 ? valid0 : valid1;
            if (!valid)
            {
                // A meta that fails bbolt's validate() (a torn write) is survivable: bbolt falls back to the other.
                // One that passes it with a wrong page size is not: bbolt would read the whole file with that size.
                sink.Add(
                    meta.Error ?? BoltProblemCode.MetaInvalidPageSize,
                    streamed || meta.IsValid ? BoltProblemSeverity.Error : BoltProblemSeverity.Warning,
                    index,
                    (index * pageSize) + MetaFieldOffset(meta.Error ?? BoltProblemCode.MetaInvalidPageSize),
                    MetaErrorMessage(index, meta) + F($"; the file is read from meta page {active}"));
            }
            else if (meta.HeaderId != (ulong)index || meta.HeaderFlags != BoltConstants.MetaPageFlag)
            {
                sink.Error(BoltProblemCode.MetaInvalidHeader, index, index * pageSize, F($"meta page {index}: header says id {meta.HeaderId}, flags 0x{meta.HeaderFlags:x2} (expected id {index}, flags 0x04)"));
            }
        }

        var activeMeta = active == 0 ? meta0 : meta1;
        var activeOffset = active * pageSize;
        var highWater = activeMeta.HighWaterMark;
        var filePages = length / pageSize;
        var rootUsable = true;
        var freelistUsable = activeMeta.HasFreelist;
        if (highWater < 2)
        {
            sink.Error(BoltProblemCode.MetaInvalidHighWaterMark, active, activeOffset + 56, F($"meta page {active}: high-water mark {highWater} is below 2"));
            rootUsable = false;
            freelistUsable = false;
        }
        else if (highWater > (ulong)filePages)
        {
            sink.Error(BoltProblemCode.FileTruncated, null, length, F($"file truncated: the high-water mark is {highWater} pages of {pageSize} bytes ({FormatBytes(highWater, pageSize)}) but the database part is only {length} bytes ({filePages} whole pages)"));
        }

        if (rootUsable && (activeMeta.Root < 2 || activeMeta.Root >= highWater))
        {
            sink.Error(BoltProblemCode.MetaRootOutOfRange, active, activeOffset + 32, F($"meta page {active}: root page {activeMeta.Root} is outside [2, {highWater})"));
            rootUsable = false;
        }

        if (freelistUsable && (activeMeta.Freelist < 2 || activeMeta.Freelist >= highWater))
        {
            sink.Error(BoltProblemCode.MetaFreelistOutOfRange, active, activeOffset + 48, F($"meta page {active}: freelist page {activeMeta.Freelist} is outside [2, {highWater})"));
            freelistUsable = false;
        }

        if (valid0 && valid1)
        {
            CheckAgreement(meta0, meta1, streamed, pageSize, sink);
        }

        return new BoltLayout
        {
            PageSize = (int)pageSize,
            Meta0 = meta0,
            Meta1 = meta1,
            ActiveIndex = active,
            DatabaseLength = length,
            ReadablePages = (long)Math.Min(highWater, (ulong)filePages),
            RootUsable = rootUsable,
            FreelistUsable = freelistUsable,
        };
    }

    private static bool IsUsable(BoltMeta meta, long pageSize) => meta.IsValid && meta.PageSize == pageSize;

    private static void CheckAgreement(BoltMeta meta0, BoltMeta meta1, bool streamed, long pageSize, BoltProblemSink sink)
    {
        var (newer, older) = meta0.TxId >= meta1.TxId ? (meta0, meta1) : (meta1, meta0);
        var newerIndex = meta0.TxId >= meta1.TxId ? 0 : 1;
        if (streamed)
        {
            // tx.WriteTo writes both metas from one transaction: page 0 txid T, page 1 txid T-1, same root,
            // freelist and high-water mark.
            if (meta0.Root != meta1.Root || meta0.Freelist != meta1.Freelist || meta0.HighWaterMark != meta1.HighWaterMark || meta0.TxId != meta1.TxId + 1)
            {
                sink.Error(BoltProblemCode.MetaDisagreement, 1, pageSize + BoltConstants.MetaOffset, F($"meta pages disagree in a streamed snapshot: meta 0 (txid {meta0.TxId}, root {meta0.Root}, freelist {FormatFreelist(meta0.Freelist)}, pgid {meta0.HighWaterMark}) vs meta 1 (txid {meta1.TxId}, root {meta1.Root}, freelist {FormatFreelist(meta1.Freelist)}, pgid {meta1.HighWaterMark}); a snapshot stream writes both from one transaction (txid T and T-1)"));
            }
        }
        else if (newer.TxId != older.TxId + 1)
        {
            sink.Warning(BoltProblemCode.MetaDisagreement, newerIndex, (newerIndex * pageSize) + 64, F($"meta pages are not consecutive transactions: txid {meta0.TxId} (meta 0) and {meta1.TxId} (meta 1)"));
        }
    }

    private static string FormatFreelist(ulong id) => id == BoltConstants.NoFreelist ? "none" : id.ToString(CultureInfo.InvariantCulture);

    private static string FormatBytes(ulong pages, long pageSize)
    {
        var bytes = (UInt128)pages * (ulong)pageSize;
        return F($"{bytes} bytes");
    }

    private static long MetaFieldOffset(BoltProblemCode code) => code switch
    {
        BoltProblemCode.MetaInvalidMagic => 16,
        BoltProblemCode.MetaVersionMismatch => 20,
        BoltProblemCode.MetaChecksumMismatch => 72,
        BoltProblemCode.MetaInvalidPageSize => 24,
        _ => 16,
    };

    private static string MetaErrorMessage(int index, BoltMeta meta) => meta.Error switch
    {
        BoltProblemCode.MetaInvalidMagic => F($"meta page {index}: invalid database (magic 0x{meta.Magic:x8}, expected 0x{BoltConstants.Magic:x8})"),
        BoltProblemCode.MetaVersionMismatch => F($"meta page {index}: version mismatch (version {meta.Version}, expected {BoltConstants.Version})"),
        BoltProblemCode.MetaChecksumMismatch => F($"meta page {index}: checksum error (stored 0x{meta.Checksum:x16}, computed 0x{meta.ComputedChecksum:x16})"),
        _ => F($"meta page {index}: page size {meta.PageSize} does not match the file's page size"),
    };

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The file cannot be read as a bbolt database at all.</summary>
internal sealed class BoltFormatException : Exception
{
    public BoltFormatException(BoltProblemCode code, long? pageId, long? offset, string message)
        : base(message)
    {
        Code = code;
        PageId = pageId;
        Offset = offset;
    }

    public BoltProblemCode Code { get; }

    public long? PageId { get; }

    public long? Offset { get; }
}
