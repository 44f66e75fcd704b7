using System.Buffers;
using System.Globalization;
using Talos.Recovery.Bolt;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// The checks that are cheap while bytes arrive: both meta pages as soon as they are in (magic, version, checksum,
/// page size, header, and for a streamed snapshot the agreement of the two metas that <c>tx.WriteTo</c> writes), the
/// database length they promise, and the stream's length against it and against the expected length. Text where a
/// meta page should be (an HTML error page, a JSON error) fails at once. Everything else waits for the full check.
/// </summary>
/// <remarks>
/// In streamed mode (hash check not skipped) these checks fail exactly what the full check would report as an error
/// for a file with a trailer, so no valid snapshot is rejected early. In raw mode a damaged meta page is only a
/// warning for bbolt, so nothing is decided early except text.
/// </remarks>
internal sealed class SnapshotWriterStreamCheck
{
    private const int MetaLength = BoltConstants.MetaEnd;
    private const int TextProbeLength = 48;

    private readonly bool _streamed;
    private readonly long? _expectedLength;
    private readonly string _destination;
    private readonly byte[] _meta0 = new byte[MetaLength];
    private readonly byte[] _meta1 = new byte[MetaLength];
    private int _meta0Filled;
    private int _meta1Filled;

    /// <summary>0 until meta 0 is in; then its page size, or -1 when it cannot be known early.</summary>
    private long _pageSize;

    public SnapshotWriterStreamCheck(bool streamed, long? expectedLength, string destination)
    {
        _streamed = streamed;
        _expectedLength = expectedLength;
        _destination = destination;
    }

    /// <summary>Meta page 0's page size once it is in and sane; 0 before (or when it cannot be known early).</summary>
    public long PageSize => Math.Max(_pageSize, 0);

    /// <summary>High-water mark × page size of the active meta, once both meta pages are in and sane.</summary>
    public long? DatabaseLength { get; private set; }

    /// <summary>Looks at bytes <c>[offset, offset + buffer.Length)</c> of the stream; throws on content that cannot become a valid snapshot.</summary>
    public void Observe(in ReadOnlySequence<byte> buffer, long offset)
    {
        var received = offset + buffer.Length;
        if (_expectedLength is { } expected && received > expected)
        {
            throw Invalid(received, F($"the stream is longer than the expected {expected} bytes ({received} received so far)"));
        }

        if (_meta0Filled < MetaLength && Capture(buffer, offset, 0, _meta0, ref _meta0Filled))
        {
            CheckMeta0(received);
        }

        if (_pageSize > 0 && _meta1Filled < MetaLength && Capture(buffer, offset, _pageSize, _meta1, ref _meta1Filled))
        {
            CheckMeta1(received);
        }

        if (_streamed && DatabaseLength is { } database && received > database + SnapshotFile.TrailerLength)
        {
            throw Invalid(received, F($"the stream is longer than a snapshot can be: its meta pages describe {database} bytes of database plus a {SnapshotFile.TrailerLength}-byte trailer, but {received} bytes arrived"));
        }
    }

    /// <summary>What the length of the finished stream says, before the trailer and the full check: a failure, or null.</summary>
    public SnapshotTransferException? AtEnd(long length)
    {
        if (length == 0)
        {
            return Failure(SnapshotTransferFailure.Truncated, 0, "the stream ended before any byte arrived");
        }

        if (_meta0Filled < MetaLength)
        {
            if (LooksLikeText(_meta0.AsSpan(0, _meta0Filled)))
            {
                return Invalid(length, F($"the stream is not a bbolt database: it is {length} bytes of text {Quote(_meta0.AsSpan(0, _meta0Filled))} (an HTML error page or an error message?)"));
            }

            return Failure(SnapshotTransferFailure.Truncated, length, F($"the stream ended after {length} bytes, too short for a bbolt meta page ({MetaLength} bytes)"));
        }

        if (_expectedLength is { } expected && length < expected)
        {
            return Failure(SnapshotTransferFailure.Truncated, length, F($"the stream ended after {length} of the expected {expected} bytes"));
        }

        if (_pageSize > 0 && _meta1Filled < MetaLength)
        {
            return Failure(SnapshotTransferFailure.Truncated, length, F($"the stream ended after {length} bytes, before meta page 1 at offset {_pageSize}"));
        }

        if (DatabaseLength is { } database)
        {
            if (length < database)
            {
                return Failure(SnapshotTransferFailure.Truncated, length, F($"the stream ended after {length} bytes, but its meta pages describe a database of {database} bytes"));
            }

            if (_streamed)
            {
                if (length == database)
                {
                    return Failure(SnapshotTransferFailure.MissingTrailer, length, F($"the stream ended right after the {database}-byte database, without etcd's SHA-256 trailer (a raw copy of member/snap/db needs {nameof(SnapshotWriterOptions.SkipHashCheck)})"));
                }

                if (length < database + SnapshotFile.TrailerLength)
                {
                    return Failure(SnapshotTransferFailure.Truncated, length, F($"the stream ended after {length} bytes, inside the SHA-256 trailer that follows the {database}-byte database"));
                }
            }
        }

        if (_streamed && !SnapshotFile.HasTrailerByLength(length))
        {
            return Failure(SnapshotTransferFailure.MissingTrailer, length, F($"sha256 checksum not found: {length} bytes is not 32 more than a multiple of 512"));
        }

        return null;
    }

    private void CheckMeta0(long received)
    {
        var meta = BoltMeta.Read(_meta0);
        var text = LooksLikeText(_meta0.AsSpan(0, TextProbeLength)) ? F($"; it starts with text {Quote(_meta0.AsSpan(0, TextProbeLength))} (an HTML error page or an error message?)") : string.Empty;
        if (!meta.IsValid)
        {
            if (_streamed || text.Length > 0)
            {
                var error = meta.Error!.Value;
                throw Invalid(received, error, 0, MetaFieldOffset(error), F($"the stream is not a valid etcd snapshot: meta page 0: {Describe(meta)}{text}"));
            }

            _pageSize = -1;
            return;
        }

        if (!BoltMeta.IsValidPageSize(meta.PageSize))
        {
            if (_streamed)
            {
                throw Invalid(received, BoltProblemCode.MetaInvalidPageSize, 0, 24, F($"meta page 0: invalid page size {meta.PageSize} (must be a power of two from {BoltConstants.MinPageSize} to {BoltConstants.MaxPageSize})"));
            }

            _pageSize = -1;
            return;
        }

        if (meta.HeaderId != 0 || meta.HeaderFlags != BoltConstants.MetaPageFlag)
        {
            throw Invalid(received, BoltProblemCode.MetaInvalidHeader, 0, 0, F($"meta page 0: header says id {meta.HeaderId}, flags 0x{meta.HeaderFlags:x2} (expected id 0, flags 0x04)"));
        }

        _pageSize = meta.PageSize;
    }

    private void CheckMeta1(long received)
    {
        var meta0 = BoltMeta.Read(_meta0);
        var meta1 = BoltMeta.Read(_meta1);
        var pageSize = _pageSize;
        var valid1 = meta1.IsValid && meta1.PageSize == pageSize;
        if (_streamed)
        {
            if (!meta1.IsValid)
            {
                var error = meta1.Error!.Value;
                throw Invalid(received, error, 1, pageSize + MetaFieldOffset(error), F($"meta page 1: {Describe(meta1)}; a snapshot stream has two valid meta pages (a raw copy of member/snap/db? set {nameof(SnapshotWriterOptions.SkipHashCheck)})"));
            }

            if (meta1.PageSize != pageSize)
            {
                throw Invalid(received, BoltProblemCode.MetaDisagreement, 1, pageSize + 24, F($"meta page 1: page size {meta1.PageSize} does not match meta page 0's {pageSize}"));
            }

            if (meta1.HeaderId != 1 || meta1.HeaderFlags != BoltConstants.MetaPageFlag)
            {
                throw Invalid(received, BoltProblemCode.MetaInvalidHeader, 1, pageSize, F($"meta page 1: header says id {meta1.HeaderId}, flags 0x{meta1.HeaderFlags:x2} (expected id 1, flags 0x04)"));
            }

            if (meta0.Root != meta1.Root || meta0.Freelist != meta1.Freelist || meta0.HighWaterMark != meta1.HighWaterMark || meta0.TxId != meta1.TxId + 1)
            {
                throw Invalid(received, BoltProblemCode.MetaDisagreement, 1, pageSize + BoltConstants.MetaOffset, F($"meta pages disagree in a streamed snapshot: meta 0 (txid {meta0.TxId}, root {meta0.Root}, pgid {meta0.HighWaterMark}) vs meta 1 (txid {meta1.TxId}, root {meta1.Root}, pgid {meta1.HighWaterMark}); a snapshot stream writes both from one transaction (txid T and T-1) (a raw copy of member/snap/db? set {nameof(SnapshotWriterOptions.SkipHashCheck)})"));
            }
        }

        if (!_streamed && valid1 && (meta1.HeaderId != 1 || meta1.HeaderFlags != BoltConstants.MetaPageFlag))
        {
            throw Invalid(received, BoltProblemCode.MetaInvalidHeader, 1, pageSize, F($"meta page 1: header says id {meta1.HeaderId}, flags 0x{meta1.HeaderFlags:x2} (expected id 1, flags 0x04)"));
        }

        // bbolt's choice: the meta with the strictly higher txid if valid, else the other. What follows is an error
        // for any bbolt file, raw copy or stream.
        var activeIndex = valid1 && meta1.TxId > meta0.TxId ? 1 : 0;
        var active = activeIndex == 1 ? meta1 : meta0;
        var highWater = active.HighWaterMark;
        if (highWater < 2)
        {
            throw Invalid(received, BoltProblemCode.MetaInvalidHighWaterMark, activeIndex, (activeIndex * pageSize) + 56, F($"meta page {activeIndex}: high-water mark {highWater} is below 2"));
        }

        if (active.Root < 2 || active.Root >= highWater)
        {
            throw Invalid(received, BoltProblemCode.MetaRootOutOfRange, activeIndex, (activeIndex * pageSize) + 32, F($"meta page {activeIndex}: root page {active.Root} is outside [2, {highWater})"));
        }

        if (active.HasFreelist && (active.Freelist < 2 || active.Freelist >= highWater))
        {
            throw Invalid(received, BoltProblemCode.MetaFreelistOutOfRange, activeIndex, (activeIndex * pageSize) + 48, F($"meta page {activeIndex}: freelist page {active.Freelist} is outside [2, {highWater})"));
        }

        if (highWater > (ulong)(long.MaxValue / pageSize))
        {
            // Not a length any stream will reach; the full check reports the file as truncated.
            return;
        }

        DatabaseLength = (long)highWater * pageSize;
    }

    private static bool Capture(in ReadOnlySequence<byte> buffer, long bufferOffset, long regionOffset, byte[] target, ref int filled)
    {
        var next = regionOffset + filled;
        var bufferEnd = bufferOffset + buffer.Length;
        if (next < bufferOffset || next >= bufferEnd)
        {
            return false;
        }

        var count = (int)Math.Min(target.Length - filled, bufferEnd - next);
        buffer.Slice(next - bufferOffset, count).CopyTo(target.AsSpan(filled, count));
        filled += count;
        return filled == target.Length;
    }

    /// <summary>
    /// Printable ASCII and whitespace only. A bbolt file starts with page 0's id, eight zero bytes, so it never looks
    /// like text; an error page does.
    /// </summary>
    internal static bool LooksLikeText(ReadOnlySpan<byte> start)
    {
        if (start.IsEmpty)
        {
            return false;
        }

        foreach (var b in start)
        {
            if (b is not ((>= 0x20 and < 0x7F) or (byte)'\t' or (byte)'\n' or (byte)'\r'))
            {
                return false;
            }
        }

        return true;
    }

    private static string Quote(ReadOnlySpan<byte> text)
    {
        var length = Math.Min(text.Length, TextProbeLength);
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = text[i] is (byte)'\n' or (byte)'\r' or (byte)'\t' ? ' ' : (char)text[i];
        }

        return "\"" + new string(chars) + (text.Length > length ? "…\"" : "\"");
    }

    private static string Describe(BoltMeta meta) => meta.Error switch
    {
        BoltProblemCode.MetaInvalidMagic => F($"invalid database (magic 0x{meta.Magic:x8}, expected 0x{BoltConstants.Magic:x8})"),
        BoltProblemCode.MetaVersionMismatch => F($"version mismatch (version {meta.Version}, expected {BoltConstants.Version})"),
        _ => F($"checksum error (stored 0x{meta.Checksum:x16}, computed 0x{meta.ComputedChecksum:x16})"),
    };

    private static long MetaFieldOffset(BoltProblemCode code) => code switch
    {
        BoltProblemCode.MetaInvalidMagic => 16,
        BoltProblemCode.MetaVersionMismatch => 20,
        BoltProblemCode.MetaChecksumMismatch => 72,
        _ => 16,
    };

    private SnapshotTransferException Invalid(long received, string message)
        => Failure(SnapshotTransferFailure.InvalidSnapshot, received, message);

    private SnapshotTransferException Invalid(long received, BoltProblemCode code, long pageId, long offset, string message)
        => new(message, SnapshotTransferFailure.InvalidSnapshot, received)
        {
            DestinationPath = _destination,
            Problems = [new BoltProblem(code, BoltProblemSeverity.Error, pageId, offset, message)],
        };

    private SnapshotTransferException Failure(SnapshotTransferFailure reason, long received, string message)
        => new(message, reason, received) { DestinationPath = _destination };

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
