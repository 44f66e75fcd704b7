using System.Text;

namespace Talos.Recovery.Tests.Bolt.Support;

/// <summary>What a page of a built file is used for.</summary>
internal enum BoltPageKind
{
    Meta,
    Branch,
    Leaf,
    Freelist,
    Free,

    /// <summary>A continuation page of a branch, leaf or freelist page with overflow (no header).</summary>
    Continuation,
}

/// <summary>One page id of a built file.</summary>
/// <param name="Id">The page id (= position).</param>
/// <param name="Kind">Its use.</param>
/// <param name="Overflow">Overflow count in the header (0 for continuation and free pages).</param>
/// <param name="Count">Element count (branch/leaf), id count (freelist).</param>
/// <param name="BucketPath">The bucket the page belongs to ("" = root bucket), for branch/leaf/continuation pages.</param>
/// <param name="Level">0 for leaves, 1 for branches right above leaves, and so on.</param>
/// <param name="ParentId">The branch page that points here, or null for a bucket's root page.</param>
/// <param name="IndexInParent">The element index in <paramref name="ParentId"/>.</param>
/// <param name="FirstPageId">For continuation pages: the page whose span this one belongs to; otherwise <paramref name="Id"/>.</param>
internal sealed record BoltPageInfo(ulong Id, BoltPageKind Kind, int Overflow, int Count, string? BucketPath, int Level, ulong? ParentId, int IndexInParent, ulong FirstPageId);

/// <summary>Where a bucket is in a built file.</summary>
/// <param name="Path">"" for the root bucket, "key", "test/nested".</param>
/// <param name="IsInline">Stored inline in its parent's leaf.</param>
/// <param name="RootPageId">Its root page (0 when inline).</param>
/// <param name="PageIds">Every branch/leaf page (first ids) of its tree, in allocation order.</param>
/// <param name="Levels">Tree height: 1 = a single leaf.</param>
/// <param name="EntryInParent">Its bucket element in the parent (null for the root bucket).</param>
/// <param name="InlineValueOffset">Absolute offset of the inline value (bucket header first), or -1.</param>
/// <param name="InlineValueLength">Length of the inline value, or 0.</param>
/// <param name="EntryCount">Entries directly in the bucket.</param>
internal sealed record BoltBucketLayout(string Path, bool IsInline, ulong RootPageId, IReadOnlyList<ulong> PageIds, int Levels, BoltElementRef? EntryInParent, long InlineValueOffset, int InlineValueLength, int EntryCount)
{
    /// <summary>Absolute offset of the embedded page header of an inline bucket.</summary>
    public long InlinePageOffset => InlineValueOffset + BoltBytes.BucketHeaderSize;
}

/// <summary>The position of one branch or leaf element (absolute file offsets).</summary>
internal readonly record struct BoltElementRef(
    ulong PageId,
    int Index,
    bool IsBranch,
    bool InInlineBucket,
    long ElementOffset,
    uint Flags,
    long KeyOffset,
    int KeyLength,
    long ValueOffset,
    int ValueLength,
    ulong ChildPageId)
{
    /// <summary>Offset of the <c>pos</c> field: element + 0 (branch) or + 4 (leaf).</summary>
    public long PosOffset => ElementOffset + (IsBranch ? 0 : 4);

    /// <summary>Offset of the <c>ksize</c> field.</summary>
    public long KeySizeOffset => ElementOffset + (IsBranch ? 4 : 8);

    /// <summary>Offset of the <c>vsize</c> field (leaf only).</summary>
    public long ValueSizeOffset => IsBranch ? throw new InvalidOperationException("branch elements have no vsize") : ElementOffset + 12;

    /// <summary>Offset of the child <c>pgid</c> field (branch only).</summary>
    public long ChildOffset => IsBranch ? ElementOffset + 8 : throw new InvalidOperationException("leaf elements have no child");
}

/// <summary>The etcd status a correct <c>snapshot status</c> must report for a built file (spec §3).</summary>
internal sealed record ExpectedStatus(uint Hash, long Revision, long TotalKey, long TotalSize, long LiveKeyCount, string StorageVersion);

/// <summary>A bbolt file made by <see cref="BoltFileBuilder"/>, with a map of where everything is.</summary>
internal sealed class BoltFile
{
    private readonly Dictionary<string, BoltBucketLayout> _buckets;

    internal BoltFile(
        byte[] bytes,
        int pageSize,
        ulong pgid,
        ulong txId,
        ulong rootPageId,
        ulong? freelistPageId,
        IReadOnlyList<ulong> freePageIds,
        IReadOnlyList<BoltPageInfo> pages,
        Dictionary<string, BoltBucketLayout> buckets,
        bool hasTrailer,
        int tailLength,
        ExpectedStatus? status,
        string description)
    {
        Bytes = bytes;
        PageSize = pageSize;
        Pgid = pgid;
        TxId = txId;
        RootPageId = rootPageId;
        FreelistPageId = freelistPageId;
        FreePageIds = freePageIds;
        Pages = pages;
        _buckets = buckets;
        HasTrailer = hasTrailer;
        TailLength = tailLength;
        Status = status;
        Description = description;
    }

    /// <summary>The file content. Tests that corrupt it take a <see cref="Clone"/> first.</summary>
    public byte[] Bytes { get; }

    public int PageSize { get; }

    /// <summary>The high-water mark written in both metas.</summary>
    public ulong Pgid { get; }

    /// <summary>Meta 0's txid (meta 1 has <see cref="TxId"/> − 1).</summary>
    public ulong TxId { get; }

    public ulong RootPageId { get; }

    /// <summary>The freelist page, or null for the no-freelist marker.</summary>
    public ulong? FreelistPageId { get; }

    /// <summary>Free page ids (listed in the freelist when it is synced).</summary>
    public IReadOnlyList<ulong> FreePageIds { get; }

    /// <summary>Every page id below <see cref="Pgid"/>, indexed by id.</summary>
    public IReadOnlyList<BoltPageInfo> Pages { get; }

    public IReadOnlyDictionary<string, BoltBucketLayout> Buckets => _buckets;

    public bool HasTrailer { get; }

    /// <summary>Bytes between pgid × P and the trailer/end (data-dir copy growth).</summary>
    public int TailLength { get; }

    /// <summary>The status etcdctl prints for this file, or null when etcdctl fails (a top-level value).</summary>
    public ExpectedStatus? Status { get; }

    /// <summary>A one-line description for failure messages.</summary>
    public string Description { get; }

    public long DatabaseLength => (long)Pgid * PageSize;

    public override string ToString() => Description;

    public byte[] Clone() => (byte[])Bytes.Clone();

    public long PageOffset(ulong id) => (long)id * PageSize;

    public BoltBucketLayout Bucket(string path) => _buckets.TryGetValue(path, out var b) ? b : throw new KeyNotFoundException($"no bucket '{path}' in {Description}");

    public IEnumerable<BoltPageInfo> PagesOf(BoltPageKind kind) => Pages.Where(p => p.Kind == kind);

    public BoltPageInfo Page(ulong id) => Pages[checked((int)id)];

    /// <summary>Decodes element <paramref name="index"/> of the branch/leaf page <paramref name="pageId"/> in the original bytes.</summary>
    public BoltElementRef Element(ulong pageId, int index)
    {
        var pageOffset = PageOffset(pageId);
        var flags = BoltBytes.ReadU16(Bytes, pageOffset + 8);
        return DecodeElement(pageId, pageOffset, index, (flags & BoltBytes.BranchFlag) != 0, inline: false);
    }

    /// <summary>Decodes element <paramref name="index"/> of the inline bucket at <paramref name="path"/>.</summary>
    public BoltElementRef InlineElement(string path, int index)
    {
        var bucket = Bucket(path);
        if (!bucket.IsInline)
        {
            throw new InvalidOperationException($"bucket '{path}' is not inline");
        }

        return DecodeElement(bucket.EntryInParent!.Value.PageId, bucket.InlinePageOffset, index, isBranch: false, inline: true);
    }

    public BoltElementRef Find(string path, string key) => Find(path, Encoding.UTF8.GetBytes(key));

    /// <summary>Finds the element holding <paramref name="key"/> in bucket <paramref name="path"/>.</summary>
    public BoltElementRef Find(string path, byte[] key)
    {
        var bucket = Bucket(path);
        if (bucket.IsInline)
        {
            var count = BoltBytes.ReadU16(Bytes, bucket.InlinePageOffset + 10);
            for (var i = 0; i < count; i++)
            {
                var e = InlineElement(path, i);
                if (Bytes.AsSpan((int)e.KeyOffset, e.KeyLength).SequenceEqual(key))
                {
                    return e;
                }
            }
        }
        else
        {
            foreach (var id in bucket.PageIds)
            {
                var info = Page(id);
                if (info.Kind != BoltPageKind.Leaf)
                {
                    continue;
                }

                for (var i = 0; i < info.Count; i++)
                {
                    var e = Element(id, i);
                    if (Bytes.AsSpan((int)e.KeyOffset, e.KeyLength).SequenceEqual(key))
                    {
                        return e;
                    }
                }
            }
        }

        throw new KeyNotFoundException($"key {BoltBytes.Hex(key)} not in bucket '{path}'");
    }

    /// <summary>The leaf pages of a bucket, in key order.</summary>
    public IReadOnlyList<ulong> Leaves(string path) => Bucket(path).PageIds.Where(id => Page(id).Kind == BoltPageKind.Leaf).ToList();

    /// <summary>The branch pages of a bucket, bottom level first.</summary>
    public IReadOnlyList<ulong> Branches(string path) => Bucket(path).PageIds.Where(id => Page(id).Kind == BoltPageKind.Branch).ToList();

    private BoltElementRef DecodeElement(ulong pageId, long pageOffset, int index, bool isBranch, bool inline)
    {
        var count = BoltBytes.ReadU16(Bytes, pageOffset + 10);
        if ((uint)index >= count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"page {pageId} has {count} elements");
        }

        var elementOffset = pageOffset + BoltBytes.PageHeaderSize + ((long)BoltBytes.ElementSize * index);
        if (isBranch)
        {
            var pos = BoltBytes.ReadU32(Bytes, elementOffset);
            var ksize = BoltBytes.ReadU32(Bytes, elementOffset + 4);
            var child = BoltBytes.ReadU64(Bytes, elementOffset + 8);
            return new BoltElementRef(pageId, index, true, inline, elementOffset, 0, elementOffset + pos, (int)ksize, -1, 0, child);
        }
        else
        {
            var flags = BoltBytes.ReadU32(Bytes, elementOffset);
            var pos = BoltBytes.ReadU32(Bytes, elementOffset + 4);
            var ksize = BoltBytes.ReadU32(Bytes, elementOffset + 8);
            var vsize = BoltBytes.ReadU32(Bytes, elementOffset + 12);
            var keyOffset = elementOffset + pos;
            return new BoltElementRef(pageId, index, false, inline, elementOffset, flags, keyOffset, (int)ksize, keyOffset + ksize, (int)vsize, 0);
        }
    }
}
