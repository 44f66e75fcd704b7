using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Talos.Recovery.Bolt;

/// <summary>Page counts gathered by the checker.</summary>
internal struct BoltPageStats
{
    public long Branch;
    public long Leaf;
    public long Overflow;
    public long Freelist;
    public long Free;
}

/// <summary>
/// The consistency check: every invariant of bbolt's <c>tx.Check</c> (1.3.7+ key order included) plus the ones
/// bbolt skips, in one iterative walk of the page tree that also feeds every entry, in cursor order, to a visitor.
/// Memory is O(pages) (two bitmaps) plus an explicit frame stack of bounded depth; nothing is allocated per page
/// or per key. Every page is entered at most once, so the walk ends on any input.
/// </summary>
internal sealed class BoltChecker
{
    /// <summary>The deepest nesting of pages (branch levels plus sub-buckets) the walk follows.</summary>
    public const int MaxFrames = 512;

    private const int CancellationInterval = 4096;
    private const int KeyHexLimit = 64;

    private readonly BoltMemory _memory;
    private readonly BoltLayout _layout;
    private readonly BoltProblemSink _sink;
    private readonly long _pageSize;
    private readonly long _highWater;
    private readonly long _readablePages;
    private readonly ulong[] _reachable;
    private readonly ulong[]? _free;
    private readonly Frame[] _frames = new Frame[MaxFrames];
    private int _top;
    private long _pagesEntered;
    private Action? _release;
    private long _releaseInterval;
    private long _bytesSinceRelease;
    private BoltPageStats _stats;
    private bool _treeTooDeepReported;
    private BoltLeafSummaries? _summaries;

    public BoltChecker(BoltMemory memory, BoltLayout layout, BoltProblemSink sink)
    {
        _memory = memory;
        _layout = layout;
        _sink = sink;
        _pageSize = layout.PageSize;
        _highWater = (long)Math.Min(layout.HighWaterMark, (ulong)long.MaxValue / 2);
        _readablePages = layout.ReadablePages;
        var bitmapPages = Math.Max(_readablePages, 2);
        _reachable = new ulong[(bitmapPages + 63) / 64];
        if (layout.Active.HasFreelist)
        {
            _free = new ulong[_reachable.Length];
        }
    }

    public BoltPageStats Stats => _stats;

    /// <summary>
    /// Asks the walk to call <paramref name="release"/> each time it has entered about <paramref name="interval"/>
    /// bytes of pages since the last call (the owner of a memory map drops the mapped pages then, so that the
    /// walk's resident set stays bounded; the bytes remain readable and are faulted in again when touched).
    /// </summary>
    public void ReleaseEvery(long interval, Action release)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(interval);
        _releaseInterval = interval;
        _release = release;
    }

    /// <summary>
    /// Lets the walk use leaf summaries made while the file streamed in: a clean leaf page whose first and last keys
    /// fit between its bounds, and whose summary the visitor accepts, is not read at all.
    /// </summary>
    public void UseSummaries(BoltLeafSummaries summaries)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        _summaries = summaries;
    }

    /// <summary>Leaf pages taken from their summaries instead of being read.</summary>
    public long SummarizedPages { get; private set; }

    /// <summary>Runs the whole check, feeding entries to <paramref name="visitor"/>.</summary>
    public void Run<TVisitor>(ref TVisitor visitor, CancellationToken cancellationToken)
        where TVisitor : struct, IBoltVisitor
    {
        Mark(0);
        Mark(1);
        if (_free is not null && _layout.FreelistUsable)
        {
            ReadFreelist((long)_layout.Active.Freelist);
        }

        if (_layout.RootUsable)
        {
            var root = (long)_layout.Active.Root;
            EnterPage(ref visitor, root, depth: 0, isBucketRoot: true, default, default, fromPage: _layout.ActiveIndex, fromOffset: (_layout.ActiveIndex * _pageSize) + 32);
            Walk(ref visitor, cancellationToken);
        }

        CheckLeaks();
    }

    private void Walk<TVisitor>(ref TVisitor visitor, CancellationToken cancellationToken)
        where TVisitor : struct, IBoltVisitor
    {
        while (_top > 0)
        {
            ref var frame = ref _frames[_top - 1];
            if (frame.Index >= frame.Count)
            {
                Pop();
                continue;
            }

            if ((++_pagesEntered & (CancellationInterval - 1)) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var index = frame.Index++;
            if (frame.IsBranch)
            {
                VisitBranchElement(ref frame, index, ref visitor);
            }
            else
            {
                VisitLeafElement(ref frame, index, ref visitor);
            }
        }
    }

    private void VisitBranchElement<TVisitor>(ref Frame frame, int index, ref TVisitor visitor)
        where TVisitor : struct, IBoltVisitor
    {
        var elementOffset = frame.Offset + BoltConstants.PageHeaderSize + ((long)index * BoltConstants.ElementSize);
        var element = _memory.Span(elementOffset, BoltConstants.ElementSize);
        var pos = Unsafe.ReadUnaligned<uint>(ref Unsafe.AsRef(in element[0]));
        var keySize = Unsafe.ReadUnaligned<uint>(ref Unsafe.AsRef(in element[4]));
        var child = Unsafe.ReadUnaligned<ulong>(ref Unsafe.AsRef(in element[8]));
        if (!KeyInPage(ref frame, index, elementOffset, pos, keySize, 0, out var keyOffset))
        {
            return;
        }

        var key = new KeyRef(keyOffset, (int)keySize);
        CheckKeyOrder(ref frame, index, key, "branch", child > long.MaxValue ? -1 : (long)child);
        frame.Running = key;

        // Upper bound of the child: the next element's key when it is readable, else this page's bound.
        var upper = frame.Upper;
        if (index + 1 < frame.Count)
        {
            var nextOffset = elementOffset + BoltConstants.ElementSize;
            var next = _memory.Span(nextOffset, BoltConstants.ElementSize);
            var nextPos = Unsafe.ReadUnaligned<uint>(ref Unsafe.AsRef(in next[0]));
            var nextSize = Unsafe.ReadUnaligned<uint>(ref Unsafe.AsRef(in next[4]));
            var nextKey = nextOffset + nextPos;
            if (nextSize > 0 && nextSize <= BoltConstants.MaxKeySize && nextKey >= frame.DataStart && nextKey + nextSize <= frame.End)
            {
                upper = new KeyRef(nextKey, (int)nextSize);
            }
        }

        if (child > long.MaxValue)
        {
            _sink.Error(BoltProblemCode.PageOutOfBounds, frame.PageId, elementOffset + 8, F($"page {child}: out of bounds: {_layout.HighWaterMark} (child of branch page {frame.PageId})"));
            return;
        }

        EnterPage(ref visitor, (long)child, frame.Depth, isBucketRoot: false, key, upper, frame.PageId, elementOffset + 8);
    }

    private void VisitLeafElement<TVisitor>(ref Frame frame, int index, ref TVisitor visitor)
        where TVisitor : struct, IBoltVisitor
    {
        var elementOffset = frame.Offset + BoltConstants.PageHeaderSize + ((long)index * BoltConstants.ElementSize);
        var element = _memory.Span(elementOffset, BoltConstants.ElementSize);
        var flags = Unsafe.ReadUnaligned<uint>(ref Unsafe.AsRef(in element[0]));
        var pos = Unsafe.ReadUnaligned<uint>(ref Unsafe.AsRef(in element[4]));
        var keySize = Unsafe.ReadUnaligned<uint>(ref Unsafe.AsRef(in element[8]));
        var valueSize = Unsafe.ReadUnaligned<uint>(ref Unsafe.AsRef(in element[12]));
        if (valueSize > BoltConstants.MaxValueSize)
        {
            _sink.Error(BoltProblemCode.ValueTooLarge, frame.PageId, elementOffset + 12, F($"page {frame.PageId}: leaf element {index} has value size {valueSize}, above bbolt's maximum {BoltConstants.MaxValueSize}"));
            return;
        }

        if (!KeyInPage(ref frame, index, elementOffset, pos, keySize, valueSize, out var keyOffset))
        {
            return;
        }

        if ((flags & ~BoltConstants.BucketLeafFlag) != 0)
        {
            _sink.Error(BoltProblemCode.InvalidElementFlags, frame.PageId, elementOffset, F($"page {frame.PageId}: leaf element {index} has flags 0x{flags:x} (only 0x1, bucket, is defined)"));
        }

        var key = new KeyRef(keyOffset, (int)keySize);
        CheckKeyOrder(ref frame, index, key, "leaf", frame.PageId);
        frame.Running = key;

        var keySpan = _memory.Span(keyOffset, (int)keySize);
        var valueOffset = keyOffset + keySize;
        var depth = frame.Depth;
        var pageId = frame.PageId;
        if ((flags & BoltConstants.BucketLeafFlag) == 0)
        {
            visitor.OnEntry(depth, keySpan, _memory.Span(valueOffset, (int)valueSize), BoltEntryKind.Value, pageId, keyOffset);
            return;
        }

        if (frame.IsInline)
        {
            _sink.Error(BoltProblemCode.InvalidInlineBucket, pageId, elementOffset, F($"page {pageId}: inline bucket at offset 0x{frame.Offset:x} contains a sub-bucket (bbolt only inlines buckets without sub-buckets)"));
        }

        if (valueSize < BoltConstants.BucketHeaderSize)
        {
            _sink.Error(BoltProblemCode.InvalidBucketHeader, pageId, valueOffset, F($"page {pageId}: bucket entry {index} has a {valueSize}-byte value, shorter than the 16-byte bucket header"));
            return;
        }

        var bucketRoot = _memory.UInt64(valueOffset);
        if (bucketRoot == 0)
        {
            visitor.OnEntry(depth, keySpan, default, BoltEntryKind.InlineBucket, pageId, keyOffset);
            EnterInline(pageId, valueOffset, valueSize, depth + 1);
            return;
        }

        if (valueSize != BoltConstants.BucketHeaderSize)
        {
            _sink.Warning(BoltProblemCode.InvalidBucketHeader, pageId, valueOffset, F($"page {pageId}: bucket entry {index} with root page {bucketRoot} has a {valueSize}-byte value (bbolt writes 16)"));
        }

        visitor.OnEntry(depth, keySpan, default, BoltEntryKind.Bucket, pageId, keyOffset);
        if (bucketRoot < 2 || bucketRoot > long.MaxValue)
        {
            _sink.Error(BoltProblemCode.InvalidBucketRoot, pageId, valueOffset, F($"page {pageId}: bucket entry {index} names root page {bucketRoot}, which cannot be a bucket root"));
            return;
        }

        EnterPage(ref visitor, (long)bucketRoot, depth + 1, isBucketRoot: true, default, default, pageId, valueOffset);
    }

    /// <summary>Bounds of an element's key (and value) inside the page span, after the element array.</summary>
    private bool KeyInPage(ref Frame frame, int index, long elementOffset, uint pos, uint keySize, uint valueSize, out long keyOffset)
    {
        keyOffset = elementOffset + pos;
        if (keySize > BoltConstants.MaxKeySize)
        {
            _sink.Error(BoltProblemCode.KeyTooLarge, frame.PageId, elementOffset, F($"page {frame.PageId}: element {index} has key size {keySize}, above bbolt's maximum {BoltConstants.MaxKeySize}"));
            return false;
        }

        if (keyOffset < frame.DataStart || keyOffset + keySize + valueSize > frame.End)
        {
            _sink.Error(BoltProblemCode.ElementOutOfPage, frame.PageId, elementOffset, F($"page {frame.PageId}: element {index} (pos {pos}, key {keySize} bytes, value {valueSize} bytes) lies outside its {Describe(ref frame)} [0x{frame.DataStart:x}, 0x{frame.End:x})"));
            return false;
        }

        if (keySize == 0)
        {
            _sink.Error(BoltProblemCode.EmptyKey, frame.PageId, elementOffset, F($"page {frame.PageId}: element {index} has an empty key"));
            return false;
        }

        return true;
    }

    /// <summary>bbolt 1.3.7+ key-order rules, applied to inline buckets too.</summary>
    private void CheckKeyOrder(ref Frame frame, int index, KeyRef key, string pageType, long reportedPage)
    {
        var keySpan = Span(key);
        if (frame.Running.Length > 0)
        {
            var compare = Span(frame.Running).SequenceCompareTo(keySpan);
            if (index == 0 && compare > 0)
            {
                _sink.Error(BoltProblemCode.KeyOrder, frame.PageId, key.Offset, F($"the first key[{index}]=(hex){Hex(key)} on {pageType} page({reportedPage}) needs to be >= the key in the ancestor ({Hex(frame.Running)})"));
            }
            else if (index > 0 && compare > 0)
            {
                _sink.Error(BoltProblemCode.KeyOrder, frame.PageId, key.Offset, F($"key[{index}]=(hex){Hex(key)} on {pageType} page({reportedPage}) needs to be > (found <) than previous element (hex){Hex(frame.Running)}"));
            }
            else if (index > 0 && compare == 0)
            {
                _sink.Error(BoltProblemCode.KeyOrder, frame.PageId, key.Offset, F($"key[{index}]=(hex){Hex(key)} on {pageType} page({reportedPage}) needs to be > (found =) than previous element (hex){Hex(frame.Running)}"));
            }
        }

        if (frame.Upper.Length > 0 && keySpan.SequenceCompareTo(Span(frame.Upper)) >= 0)
        {
            _sink.Error(BoltProblemCode.KeyOrder, frame.PageId, key.Offset, F($"key[{index}]=(hex){Hex(key)} on {pageType} page({reportedPage}) needs to be < than key of the next element in ancestor (hex){Hex(frame.Upper)}"));
        }
    }

    /// <summary>Validates a page reached from the tree and pushes it. Never descends into a page twice.</summary>
    private void EnterPage<TVisitor>(ref TVisitor visitor, long id, int depth, bool isBucketRoot, KeyRef lower, KeyRef upper, long fromPage, long fromOffset)
        where TVisitor : struct, IBoltVisitor
    {
        if (id >= _highWater)
        {
            _sink.Error(BoltProblemCode.PageOutOfBounds, id, fromOffset, F($"page {id}: out of bounds: {_layout.HighWaterMark} (referenced from page {fromPage} at offset 0x{fromOffset:x})"));
            return;
        }

        if (id >= _readablePages)
        {
            _sink.Error(BoltProblemCode.FileTruncated, id, fromOffset, F($"page {id} lies beyond the end of the file ({_readablePages} whole pages present; referenced from page {fromPage})"));
            return;
        }

        var offset = id * _pageSize;
        ulong headerId;
        ushort flags;
        ushort count;
        uint overflow;
        BoltLeafSummaries.Entry summary = default;
        var summarized = _summaries is not null && _summaries.TryGet(id, out summary);
        if (summarized)
        {
            // The summary was made from these very bytes: the header need not be read from the file.
            headerId = (ulong)id;
            flags = BoltConstants.LeafPageFlag;
            count = summary.Count;
            overflow = summary.Overflow;
        }
        else
        {
            var header = _memory.Span(offset, BoltConstants.PageHeaderSize);
            headerId = Unsafe.ReadUnaligned<ulong>(ref Unsafe.AsRef(in header[0]));
            flags = Unsafe.ReadUnaligned<ushort>(ref Unsafe.AsRef(in header[8]));
            count = Unsafe.ReadUnaligned<ushort>(ref Unsafe.AsRef(in header[10]));
            overflow = Unsafe.ReadUnaligned<uint>(ref Unsafe.AsRef(in header[12]));
        }

        if (headerId != (ulong)id)
        {
            _sink.Error(BoltProblemCode.PageIdMismatch, id, offset, F($"page {id}: header identifies as page {headerId} (bbolt >= 1.3.7 panics: Page expected to be: {id}, but self identifies as {headerId})"));
            MarkRange(id, 0, report: true);
            return;
        }

        var last = id + overflow;
        if (last >= _highWater || last >= _readablePages)
        {
            var code = last >= _highWater ? BoltProblemCode.OverflowOutOfRange : BoltProblemCode.FileTruncated;
            _sink.Error(code, id, offset + 12, F($"page {id}: overflow {overflow} makes it end at page {last}, beyond {(last >= _highWater ? F($"the high-water mark {_layout.HighWaterMark}") : F($"the end of the file ({_readablePages} whole pages)"))}"));
            MarkRange(id, 0, report: true);
            return;
        }

        if (!MarkRange(id, overflow, report: true))
        {
            return;
        }

        // bbolt checks only the first id; a freed continuation page would be handed out again just the same.
        if (_free is not null && FirstFree(id, overflow) is { } freed)
        {
            _sink.Error(BoltProblemCode.ReachableFreed, freed, freed * _pageSize, freed == id ? F($"page {id}: reachable freed") : F($"page {freed}: reachable freed (overflow page {freed - id} of page {id})"));
        }

        if (flags != BoltConstants.BranchPageFlag && flags != BoltConstants.LeafPageFlag)
        {
            _sink.Error(BoltProblemCode.InvalidPageType, id, offset + 8, F($"page {id}: invalid type: {BoltConstants.PageTypeName(flags)}"));
            return;
        }

        if (_release is not null)
        {
            _bytesSinceRelease += (overflow + 1L) * _pageSize;
            if (_bytesSinceRelease >= _releaseInterval)
            {
                _bytesSinceRelease = 0;
                _release();
            }
        }

        var isBranch = flags == BoltConstants.BranchPageFlag;
        _stats.Overflow += overflow;
        if (isBranch)
        {
            _stats.Branch++;
        }
        else
        {
            _stats.Leaf++;
        }

        var span = (overflow + 1L) * _pageSize;
        var dataStart = BoltConstants.PageHeaderSize + ((long)count * BoltConstants.ElementSize);
        if (dataStart > span)
        {
            _sink.Error(BoltProblemCode.ElementArrayOutOfPage, id, offset + 10, F($"page {id}: {count} elements need {dataStart} bytes, more than the page's {span}"));
            return;
        }

        if (count == 0)
        {
            if (isBranch)
            {
                _sink.Error(BoltProblemCode.EmptyBranch, id, offset + 10, F($"page {id}: branch page without elements"));
                return;
            }

            if (!isBucketRoot)
            {
                _sink.Warning(BoltProblemCode.EmptyLeaf, id, offset + 10, F($"page {id}: empty leaf page below a branch"));
            }
        }

        if (summarized && depth > 0 && _top < MaxFrames && TryApplySummary(ref visitor, id, in summary, depth, isBucketRoot, lower, upper))
        {
            return;
        }

        Push(new Frame
        {
            PageId = id,
            Offset = offset,
            DataStart = offset + dataStart,
            End = offset + span,
            Count = count,
            IsBranch = isBranch,
            IsBucketRoot = isBucketRoot,
            Depth = depth,
            Running = lower,
            Upper = upper,
        });
    }

    /// <summary>
    /// What walking a clean leaf page would do when none of its keys breaks an order rule: the first key at or above
    /// the lower bound, the last below the upper bound (the page's own keys strictly increase), the entries to the
    /// visitor, and the last key as the running key of the parent. False (the page is then walked) otherwise.
    /// </summary>
    private bool TryApplySummary<TVisitor>(ref TVisitor visitor, long id, in BoltLeafSummaries.Entry summary, int depth, bool isBucketRoot, KeyRef lower, KeyRef upper)
        where TVisitor : struct, IBoltVisitor
    {
        var summaries = _summaries!;
        var first = summaries.Key(summary.FirstKey, summary.FirstLength);
        var last = summaries.Key(summary.LastKey, summary.LastLength);
        if ((lower.Length > 0 && Span(lower).SequenceCompareTo(first) > 0) || (upper.Length > 0 && last.SequenceCompareTo(Span(upper)) >= 0))
        {
            return false;
        }

        if (!visitor.TryApplySummary(depth, id, in summary))
        {
            return false;
        }

        SummarizedPages++;
        if (!isBucketRoot && _top > 0)
        {
            _frames[_top - 1].Running = new KeyRef(-1L - summary.LastKey, summary.LastLength);
        }

        return true;
    }

    private void EnterInline(long containerPage, long valueOffset, uint valueSize, int depth)
    {
        var pageOffset = valueOffset + BoltConstants.BucketHeaderSize;
        if (valueSize < BoltConstants.BucketHeaderSize + BoltConstants.PageHeaderSize)
        {
            _sink.Error(BoltProblemCode.InvalidInlineBucket, containerPage, valueOffset, F($"page {containerPage}: inline bucket value of {valueSize} bytes cannot hold the bucket header and a page header"));
            return;
        }

        var header = _memory.Span(pageOffset, BoltConstants.PageHeaderSize);
        var headerId = Unsafe.ReadUnaligned<ulong>(ref Unsafe.AsRef(in header[0]));
        var flags = Unsafe.ReadUnaligned<ushort>(ref Unsafe.AsRef(in header[8]));
        var count = Unsafe.ReadUnaligned<ushort>(ref Unsafe.AsRef(in header[10]));
        var overflow = Unsafe.ReadUnaligned<uint>(ref Unsafe.AsRef(in header[12]));
        if (flags != BoltConstants.LeafPageFlag || headerId != 0 || overflow != 0)
        {
            _sink.Error(BoltProblemCode.InvalidInlineBucket, containerPage, pageOffset, F($"page {containerPage}: inline bucket page header (id {headerId}, flags 0x{flags:x2}, overflow {overflow}) is not an inline leaf (id 0, flags 0x02, overflow 0)"));
            return;
        }

        var span = valueSize - BoltConstants.BucketHeaderSize;
        var dataStart = BoltConstants.PageHeaderSize + ((long)count * BoltConstants.ElementSize);
        if (dataStart > span)
        {
            _sink.Error(BoltProblemCode.InvalidInlineBucket, containerPage, pageOffset + 10, F($"page {containerPage}: inline bucket claims {count} elements, which need {dataStart} bytes, but holds {span}"));
            return;
        }

        if (count == 0)
        {
            return;
        }

        Push(new Frame
        {
            PageId = containerPage,
            Offset = pageOffset,
            DataStart = pageOffset + dataStart,
            End = pageOffset + span,
            Count = count,
            IsInline = true,
            IsBucketRoot = true,
            Depth = depth,
        });
    }

    private void Push(in Frame frame)
    {
        if (_top == MaxFrames)
        {
            if (!_treeTooDeepReported)
            {
                _treeTooDeepReported = true;
                _sink.Error(BoltProblemCode.TreeTooDeep, frame.PageId, frame.Offset, F($"page {frame.PageId}: pages and buckets nest deeper than {MaxFrames} levels; the subtree is not checked"));
            }

            return;
        }

        _frames[_top++] = frame;
    }

    private void Pop()
    {
        var done = _frames[--_top];

        // The parent branch of the same bucket continues its key-order checks from the largest key of this subtree.
        if (_top > 0 && !done.IsBucketRoot)
        {
            _frames[_top - 1].Running = done.Running;
        }
    }

    private void ReadFreelist(long id)
    {
        var offset = id * _pageSize;
        if (id >= _readablePages)
        {
            _sink.Error(BoltProblemCode.FileTruncated, id, null, F($"freelist page {id} lies beyond the end of the file"));
            return;
        }

        var headerId = _memory.UInt64(offset);
        var flags = _memory.UInt16(offset + 8);
        var count = (long)_memory.UInt16(offset + 10);
        var overflow = _memory.UInt32(offset + 12);
        if (flags != BoltConstants.FreelistPageFlag)
        {
            _sink.Error(BoltProblemCode.InvalidFreelistPage, id, offset + 8, F($"invalid freelist page: {id}, page type is {BoltConstants.PageTypeName(flags)}"));
            MarkRange(id, 0, report: true);
            return;
        }

        if (headerId != (ulong)id)
        {
            _sink.Error(BoltProblemCode.PageIdMismatch, id, offset, F($"freelist page {id}: header identifies as page {headerId}"));
        }

        var last = id + overflow;
        if (last >= _highWater || last >= _readablePages)
        {
            _sink.Error(BoltProblemCode.OverflowOutOfRange, id, offset + 12, F($"freelist page {id}: overflow {overflow} runs past page {Math.Min(_highWater, _readablePages) - 1}"));
            MarkRange(id, 0, report: true);
            return;
        }

        MarkRange(id, overflow, report: true);
        _stats.Freelist += overflow + 1L;
        var span = (overflow + 1L) * _pageSize;
        long idsOffset = BoltConstants.PageHeaderSize;
        if (count == 0xFFFF)
        {
            var real = _memory.UInt64(offset + BoltConstants.PageHeaderSize);
            idsOffset += 8;
            if (real > (ulong)((span - idsOffset) / 8))
            {
                _sink.Error(BoltProblemCode.FreelistOutOfPage, id, offset + BoltConstants.PageHeaderSize, F($"freelist page {id}: count {real} does not fit in its {span} bytes"));
                return;
            }

            count = (long)real;
        }
        else if (idsOffset + (count * 8) > span)
        {
            _sink.Error(BoltProblemCode.FreelistOutOfPage, id, offset + 10, F($"freelist page {id}: count {count} does not fit in its {span} bytes"));
            return;
        }

        // bbolt copies and sorts the ids; duplicates are "already freed". The array is O(free pages), once.
        var ids = ArrayPool<ulong>.Shared.Rent((int)Math.Max(count, 1));
        try
        {
            var bytes = _memory.Span(offset + idsOffset, checked((int)(count * 8)));
            for (var i = 0; i < count; i++)
            {
                ids[i] = BitConverter.IsLittleEndian
                    ? Unsafe.ReadUnaligned<ulong>(ref Unsafe.AsRef(in bytes[i * 8]))
                    : System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes[(i * 8)..]);
            }

            var sorted = ids.AsSpan(0, (int)count);
            sorted.Sort();
            for (var i = 0; i < sorted.Length; i++)
            {
                var free = sorted[i];
                if (i > 0 && sorted[i - 1] == free)
                {
                    // One problem per repeated id, however often it repeats.
                    if (i < 2 || sorted[i - 2] != free)
                    {
                        _sink.Error(BoltProblemCode.AlreadyFreed, (long)Math.Min(free, long.MaxValue), SlotOffset(bytes, free, offset + idsOffset), F($"page {free}: already freed"));
                    }

                    continue;
                }

                if (free < 2 || free >= (ulong)_highWater)
                {
                    _sink.Error(BoltProblemCode.FreelistIdOutOfRange, (long)Math.Min(free, long.MaxValue), SlotOffset(bytes, free, offset + idsOffset), F($"freelist page {id} lists page {free}, outside [2, {_layout.HighWaterMark})"));
                    continue;
                }

                if (free < (ulong)_readablePages)
                {
                    Set(_free!, (long)free);
                }
            }
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(ids);
        }

        if (FirstFree(id, overflow) is { } self)
        {
            _sink.Error(BoltProblemCode.ReachableFreed, self, self * _pageSize, F($"page {self}: reachable freed (the freelist lists its own page)"));
        }
    }

    /// <summary>The absolute offset of the first freelist slot holding <paramref name="value"/> (problem path only).</summary>
    private static long SlotOffset(ReadOnlySpan<byte> slots, ulong value, long slotsOffset)
    {
        for (var i = 0; i + 8 <= slots.Length; i += 8)
        {
            if (System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(slots[i..]) == value)
            {
                return slotsOffset + i;
            }
        }

        return slotsOffset;
    }

    /// <summary>The first of id … id + overflow that the freelist lists, if any.</summary>
    private long? FirstFree(long id, uint overflow)
    {
        for (var i = id; i <= id + overflow && i < _readablePages; i++)
        {
            if (IsSet(_free!, i))
            {
                return i;
            }
        }

        return null;
    }

    private void CheckLeaks()
    {
        for (long id = 0; id < _readablePages; id++)
        {
            if (IsSet(_reachable, id))
            {
                continue;
            }

            if (_free is null)
            {
                _stats.Free++;
            }
            else if (IsSet(_free, id))
            {
                _stats.Free++;
            }
            else if (_layout.FreelistUsable || !_layout.Active.HasFreelist)
            {
                _sink.Error(BoltProblemCode.UnreachableUnfreed, id, id * _pageSize, F($"page {id}: unreachable unfreed"));
            }
        }

        if (_free is not null && !_layout.FreelistUsable)
        {
            // The freelist could not be read: count unreached pages as free rather than reporting each as a leak.
            for (long id = 2; id < _readablePages; id++)
            {
                if (!IsSet(_reachable, id) && !IsSet(_free, id))
                {
                    _stats.Free++;
                }
            }
        }
    }

    /// <summary>Marks id … id + overflow reachable; false (and one problem) when any was reached before.</summary>
    private bool MarkRange(long id, uint overflow, bool report)
    {
        for (var i = id; i <= id + overflow; i++)
        {
            if (i >= _readablePages)
            {
                break;
            }

            if (IsSet(_reachable, i))
            {
                if (report)
                {
                    _sink.Error(BoltProblemCode.MultipleReferences, i, i * _pageSize, F($"page {i}: multiple references"));
                }

                return false;
            }

            Set(_reachable, i);
        }

        return true;
    }

    private void Mark(long id) => Set(_reachable, id);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsSet(ulong[] bits, long id) => (bits[id >> 6] & (1UL << (int)(id & 63))) != 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Set(ulong[] bits, long id) => bits[id >> 6] |= 1UL << (int)(id & 63);

    /// <summary>A key in the file, or (negative offset) in the summaries' key arena.</summary>
    private ReadOnlySpan<byte> Span(KeyRef key) => key.Offset >= 0 ? _memory.Span(key.Offset, key.Length) : _summaries!.Key((int)(-1L - key.Offset), key.Length);

    private string Hex(KeyRef key)
    {
        var span = Span(key);
        return span.Length <= KeyHexLimit
            ? Convert.ToHexStringLower(span)
            : Convert.ToHexStringLower(span[..KeyHexLimit]) + F($"…({span.Length} bytes)");
    }

    private static string Describe(ref Frame frame) => frame.IsInline ? "inline bucket span" : "page span";

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>A key inside the file: offset and length (spans cannot live in arrays).</summary>
    private readonly record struct KeyRef(long Offset, int Length);

    /// <summary>One page (or inline bucket page) being iterated.</summary>
    private struct Frame
    {
        public long PageId;
        public long Offset;
        public long DataStart;
        public long End;
        public int Count;
        public int Index;
        public int Depth;
        public bool IsBranch;
        public bool IsInline;
        public bool IsBucketRoot;
        public KeyRef Running;
        public KeyRef Upper;
    }
}
