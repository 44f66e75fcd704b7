using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Talos.Recovery.Bolt;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// Summarizes leaf pages while a snapshot streams into the writer (<see cref="BoltLeafSummaries"/>), on bytes that
/// are still in memory, so that the final check walks the tree without reading most pages back from the file. Pages
/// arrive in file order, not tree order, and which of them are reachable is unknown here: every page position is
/// looked at on its own, and the walk decides which summaries it uses.
/// </summary>
/// <remarks>
/// A page that straddles two batches is copied into a page-sized buffer; a page with overflow pages is gathered into
/// a buffer of its own (one at a time, up to <see cref="MaxGatherLength"/>); any page this cannot summarize is simply
/// left to the walk.
/// </remarks>
internal sealed class SnapshotStreamScanner : IDisposable
{
    private const int MaxGatherLength = 16 << 20;

    private readonly bool _recordOps;
    private long _pageSize;
    private long _pages;
    private long _next = 2;
    private byte[]? _carry;
    private int _carryLength;
    private byte[]? _gather;
    private long _gatherId = -1;
    private long _gatherStart;
    private int _gatherLength;
    private int _gatherFilled;

    public SnapshotStreamScanner(bool recordOps)
    {
        _recordOps = recordOps;
    }

    /// <summary>Null until the page size and high-water mark are known (both meta pages in and sane).</summary>
    public SnapshotStreamSummaries? Summaries { get; private set; }

    /// <summary>Starts summarizing once the geometry is known; a no-op after the first call.</summary>
    public void Start(long pageSize, long databaseLength)
    {
        if (Summaries is not null || _next == long.MaxValue || pageSize < BoltConstants.MinPageSize || databaseLength < 2 * pageSize)
        {
            return;
        }

        _pageSize = pageSize;
        _pages = databaseLength / pageSize;
        if (_pages > int.MaxValue)
        {
            return;
        }

        _carry = new byte[pageSize];
        Summaries = new SnapshotStreamSummaries(pageSize, _pages, _recordOps);
    }

    /// <summary>Looks at bytes <c>[offset, offset + buffer.Length)</c>; batches must come in order, without gaps.</summary>
    public void Observe(in ReadOnlySequence<byte> buffer, long offset)
    {
        if (Summaries is null || Summaries.Exhausted)
        {
            return;
        }

        var end = offset + buffer.Length;
        if (_gather is not null)
        {
            FeedGather(buffer, offset, end);
        }

        while (_next < _pages)
        {
            var pageStart = _next * _pageSize;
            if (pageStart + _carryLength < offset)
            {
                // Not contiguous with what came before (cannot happen in the writer): stop summarizing.
                _next = _pages;
                return;
            }

            var pageEnd = pageStart + _pageSize;
            if (pageEnd > end)
            {
                // The page continues in the next batch: keep what is here.
                var from = pageStart + _carryLength;
                var count = (int)(end - from);
                if (count > 0)
                {
                    buffer.Slice(from - offset, count).CopyTo(_carry.AsSpan(_carryLength));
                    _carryLength += count;
                }

                return;
            }

            ReadOnlySpan<byte> page;
            if (_carryLength > 0)
            {
                var from = pageStart + _carryLength;
                buffer.Slice(from - offset, pageEnd - from).CopyTo(_carry.AsSpan(_carryLength));
                _carryLength = 0;
                page = _carry;
            }
            else
            {
                var slice = buffer.Slice(pageStart - offset, _pageSize);
                if (slice.IsSingleSegment)
                {
                    page = slice.FirstSpan;
                }
                else
                {
                    slice.CopyTo(_carry);
                    page = _carry;
                }
            }

            ScanPage(_next, page, buffer, offset, end);
            _next++;
        }
    }

    /// <summary>Stops summarizing and drops every summary (the final check then reads every page).</summary>
    public void Abandon()
    {
        Summaries = null;
        _next = long.MaxValue;
    }

    public void Dispose()
    {
        if (_gather is not null)
        {
            ArrayPool<byte>.Shared.Return(_gather);
            _gather = null;
        }
    }

    private void ScanPage(long id, ReadOnlySpan<byte> page, in ReadOnlySequence<byte> buffer, long offset, long end)
    {
        var headerId = BinaryPrimitives.ReadUInt64LittleEndian(page);
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(page[8..]);
        var count = BinaryPrimitives.ReadUInt16LittleEndian(page[10..]);
        var overflow = BinaryPrimitives.ReadUInt32LittleEndian(page[12..]);
        if (headerId != (ulong)id || flags != BoltConstants.LeafPageFlag || count == 0)
        {
            return;
        }

        if (overflow == 0)
        {
            Summarize(id, page, count, 0);
            return;
        }

        var length = (overflow + 1L) * _pageSize;
        if (id + overflow >= _pages || length > MaxGatherLength || _gather is not null)
        {
            return;
        }

        var pageStart = id * _pageSize;
        if (pageStart >= offset && pageStart + length <= end)
        {
            var slice = buffer.Slice(pageStart - offset, length);
            if (slice.IsSingleSegment)
            {
                Summarize(id, slice.FirstSpan, count, overflow);
                return;
            }
        }

        // Gather the whole span: the first page (which may have come from the carry), then the rest as it arrives.
        _gather = ArrayPool<byte>.Shared.Rent((int)length);
        _gatherId = id;
        _gatherStart = pageStart;
        _gatherLength = (int)length;
        page.CopyTo(_gather);
        _gatherFilled = page.Length;
        FeedGather(buffer, offset, end);
    }

    private void FeedGather(in ReadOnlySequence<byte> buffer, long offset, long end)
    {
        var from = _gatherStart + _gatherFilled;
        var until = Math.Min(end, _gatherStart + _gatherLength);
        if (from < offset)
        {
            // Bytes were skipped (cannot happen in the writer): give up on this page.
            EndGather();
            return;
        }

        if (until > from)
        {
            buffer.Slice(from - offset, until - from).CopyTo(_gather.AsSpan(_gatherFilled));
            _gatherFilled += (int)(until - from);
        }

        if (_gatherFilled == _gatherLength)
        {
            var span = _gather.AsSpan(0, _gatherLength);
            Summarize(_gatherId, span, BinaryPrimitives.ReadUInt16LittleEndian(span[10..]), BinaryPrimitives.ReadUInt32LittleEndian(span[12..]));
            EndGather();
        }
    }

    private void EndGather()
    {
        ArrayPool<byte>.Shared.Return(_gather!);
        _gather = null;
        _gatherId = -1;
    }

    /// <summary>The walk's element checks on one leaf page; a summary only when none would report anything.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Summarize(long id, ReadOnlySpan<byte> page, ushort count, uint overflow)
    {
        var summaries = Summaries!;
        var dataStart = BoltConstants.PageHeaderSize + ((long)count * BoltConstants.ElementSize);
        if (dataStart > page.Length)
        {
            return;
        }

        var pageOffset = id * _pageSize;
        var opStart = _recordOps ? summaries.ReserveOps(count) : -1;
        var ops = opStart >= 0 ? summaries.OpsAt(opStart, count) : default;
        var revisionKeys = !_recordOps || opStart >= 0;
        uint crc = 0;
        long total = 0;
        long lastRevision = 0;
        ReadOnlySpan<byte> previous = default;
        ReadOnlySpan<byte> first = default;
        for (var index = 0; index < count; index++)
        {
            var element = page.Slice(BoltConstants.PageHeaderSize + (index * BoltConstants.ElementSize), BoltConstants.ElementSize);
            var elementFlags = BinaryPrimitives.ReadUInt32LittleEndian(element);
            var pos = BinaryPrimitives.ReadUInt32LittleEndian(element[4..]);
            var keySize = BinaryPrimitives.ReadUInt32LittleEndian(element[8..]);
            var valueSize = BinaryPrimitives.ReadUInt32LittleEndian(element[12..]);
            var keyOffset = BoltConstants.PageHeaderSize + ((long)index * BoltConstants.ElementSize) + pos;
            if (elementFlags != 0 || valueSize > BoltConstants.MaxValueSize || keySize == 0 || keySize > BoltConstants.MaxKeySize
                || keyOffset < dataStart || keyOffset + keySize + valueSize > page.Length)
            {
                Abandon(summaries, opStart);
                return;
            }

            var key = page.Slice((int)keyOffset, (int)keySize);
            var value = page.Slice((int)(keyOffset + keySize), (int)valueSize);
            if (index == 0)
            {
                first = key;
            }
            else if (previous.SequenceCompareTo(key) >= 0)
            {
                Abandon(summaries, opStart);
                return;
            }

            crc = Crc32C.Update(crc, key);
            crc = Crc32C.Update(crc, value);
            total += keySize + valueSize;
            previous = key;
            if (revisionKeys)
            {
                revisionKeys = ReadRevision(key, value, out lastRevision, out var userKeyStart, out var userKeyLength, out var tombstone);
                if (revisionKeys && opStart >= 0)
                {
                    ops[index] = new MvccOp
                    {
                        Hash = LiveKeySet.Hash(value.Slice(userKeyStart, userKeyLength)),
                        Offset = pageOffset + keyOffset + keySize + userKeyStart,
                        Length = userKeyLength,
                        Tombstone = tombstone,
                    };
                }
            }
        }

        if (total > uint.MaxValue)
        {
            // Elements that share bytes can add up to more than the page: left to the walk.
            Abandon(summaries, opStart);
            return;
        }

        var firstKey = summaries.Pages.AddKey(first);
        var lastKey = summaries.Pages.AddKey(previous);
        if (firstKey < 0 || lastKey < 0)
        {
            Abandon(summaries, opStart);
            return;
        }

        if (!revisionKeys && opStart >= 0)
        {
            summaries.ReleaseOps(opStart);
            opStart = -1;
        }

        var entry = new BoltLeafSummaries.Entry
        {
            Count = count,
            Overflow = overflow,
            FirstKey = firstKey,
            FirstLength = (ushort)first.Length,
            LastKey = lastKey,
            LastLength = (ushort)previous.Length,
            Register = crc,
            DataLength = (uint)total,
        };
        var facts = new SnapshotStreamSummaries.Facts
        {
            RevisionKeys = revisionKeys,
            LastRevision = lastRevision,
            OpStart = Math.Max(opStart, 0),
            OpCount = opStart >= 0 ? count : (ushort)0,
        };
        summaries.Set(id, entry, facts);
    }

    private static void Abandon(SnapshotStreamSummaries summaries, int opStart)
    {
        if (opStart >= 0)
        {
            summaries.ReleaseOps(opStart);
        }
    }

    /// <summary>
    /// True when the status visitor would accept the entry as a revision of the <c>key</c> bucket without a problem
    /// (etcd 3.6's strict key form, a readable <c>mvccpb.KeyValue</c>).
    /// </summary>
    private static bool ReadRevision(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, out long main, out int userKeyStart, out int userKeyLength, out bool tombstone)
    {
        main = 0;
        userKeyStart = 0;
        userKeyLength = 0;
        tombstone = key.Length == 18;
        if (key.Length != 17 && key.Length != 18)
        {
            return false;
        }

        main = BinaryPrimitives.ReadInt64BigEndian(key);
        var sub = BinaryPrimitives.ReadInt64BigEndian(key[9..]);
        if (key[8] != (byte)'_' || main < 0 || sub < 0 || (tombstone && key[17] != (byte)'t'))
        {
            return false;
        }

        return MvccKeyValue.TryGetKey(value, out userKeyStart, out userKeyLength, out _);
    }
}
