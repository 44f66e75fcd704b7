using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Talos.Recovery.Tests.Bolt.Support;

/// <summary>Whether the file carries a persisted freelist.</summary>
public enum FreelistMode
{
    /// <summary>meta.freelist = 0xFFFF…FF, as every Linux etcd ≥ 3.3 writes (NoFreelistSync).</summary>
    None = 0,

    /// <summary>A freelist page (flags 0x10) after the tree, listing every free page id, sorted.</summary>
    Synced = 1,
}

/// <summary>What free pages contain. In real files they hold stale page images of older transactions.</summary>
internal enum FreePageContent
{
    /// <summary>A seeded mix of the others.</summary>
    Mixed = 0,
    Zero = 1,
    Garbage = 2,

    /// <summary>A copy of some live page, header included (so its id names another page).</summary>
    StaleCopy = 3,
}

/// <summary>
/// Writes valid bbolt files from a description, laid out as spec §1 says: both metas as <c>tx.WriteTo</c> writes
/// them (page 0 txid T, page 1 txid T−1, FNV-1a checksums), branch/leaf pages with the element array then key/value
/// data (pos relative to the element), inline buckets by the writer rule, overflow pages for big nodes, a synced
/// freelist (count 0xFFFF convention past 0xFFFE ids) or the no-freelist marker, free pages with stale contents,
/// an optional data-dir tail and an optional SHA-256 trailer. <see cref="Build"/> also returns where every
/// structure is, and the status etcdctl would print.
/// </summary>
internal sealed class BoltFileBuilder
{
    public BoltFileBuilder(int pageSize = 4096)
    {
        if (pageSize < 512 || (pageSize & (pageSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(pageSize), "a power of two ≥ 512");
        }

        PageSize = pageSize;
        Root = new BoltBucketSpec([], string.Empty);
    }

    public int PageSize { get; }

    /// <summary>The root bucket: its entries are the top-level buckets (and, for negative tests, plain values).</summary>
    public BoltBucketSpec Root { get; }

    /// <summary>Meta 0's txid T; meta 1 gets T − 1.</summary>
    public ulong TxId { get; set; } = 9;

    public FreelistMode Freelist { get; set; } = FreelistMode.None;

    /// <summary>How many free (stale) pages to place among the tree pages.</summary>
    public int FreePageCount { get; set; }

    /// <summary>Put all free pages after the tree instead of interleaving them (seeded) among tree pages.</summary>
    public bool FreePagesAtEnd { get; set; }

    public FreePageContent FreePageContent { get; set; }

    /// <summary>Append etcd's SHA-256 trailer (streamed snapshot).</summary>
    public bool Trailer { get; set; }

    /// <summary>Garbage bytes after pgid × P (a data-dir copy grown by bbolt); hashed by the trailer when there is one.</summary>
    public int TailLength { get; set; }

    /// <summary>Most elements per leaf page, and per branch page (at least 2 there): forces splits and deep trees in small files.</summary>
    public int MaxKeysPerPage { get; set; } = int.MaxValue;

    /// <summary>Share of the page a leaf/branch is filled to before a new page starts (bbolt: 0.5 by default, 0.9 for etcd's key bucket).</summary>
    public double FillPercent { get; set; } = 1.0;

    /// <summary>Seed for free page placement and content.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Let empty or over-long keys through (negative tests only).</summary>
    public bool AllowInvalidKeys { get; set; }

    public BoltBucketSpec Bucket(string name) => Root.Bucket(name);

    public BoltFile Build()
    {
        BuilderCapture.OnBuild?.Invoke(this);
        var plan = new Planner(this);
        return plan.Run();
    }

    private sealed class PBucket(BoltBucketSpec spec)
    {
        public BoltBucketSpec Spec { get; } = spec;

        public List<PEntry> Entries { get; } = [];

        public bool Inline { get; set; }

        public byte[]? InlineValue { get; set; }

        public List<PPage> Pages { get; } = [];

        public PPage? Root { get; set; }

        public int Levels { get; set; }
    }

    private sealed class PEntry(byte[] key, byte[]? value, PBucket? child)
    {
        public byte[] Key { get; } = key;

        public byte[]? Value { get; } = value;

        public PBucket? Child { get; } = child;

        public int ValueLength => Child is null ? Value!.Length : Child.Inline ? Child.InlineValue!.Length : BoltBytes.BucketHeaderSize;
    }

    private sealed class PPage(PBucket owner, int level)
    {
        public PBucket Owner { get; } = owner;

        public int Level { get; } = level;

        public bool IsBranch => Level > 0;

        public List<PEntry> Entries { get; } = [];

        public List<PPage> Children { get; } = [];

        public long Size { get; set; } = BoltBytes.PageHeaderSize;

        public int Overflow { get; set; }

        public ulong Id { get; set; }

        public PPage? Parent { get; set; }

        public int IndexInParent { get; set; }

        public int Count => IsBranch ? Children.Count : Entries.Count;

        public byte[] FirstKey => IsBranch ? Children[0].FirstKey : Entries.Count > 0 ? Entries[0].Key : [];
    }

    private sealed class Planner(BoltFileBuilder b)
    {
        private readonly int _p = b.PageSize;
        private readonly List<PBucket> _preOrder = [];

        public BoltFile Run()
        {
            var root = Collect();

            // Children before parents: a parent's leaf needs the child's root id or inline image.
            for (var i = _preOrder.Count - 1; i >= 0; i--)
            {
                PlanBucket(_preOrder[i], isRoot: i == 0);
            }

            // Allocation order: bucket by bucket, children first (like bbolt's spill), leaves then branches.
            var units = new List<PPage?>();
            for (var i = _preOrder.Count - 1; i >= 0; i--)
            {
                units.AddRange(_preOrder[i].Pages);
            }

            var rng = new Random(b.Seed);
            var slots = new List<PPage?>(units.Count + b.FreePageCount);
            if (b.FreePagesAtEnd)
            {
                slots.AddRange(units);
                slots.AddRange(Enumerable.Repeat<PPage?>(null, b.FreePageCount));
            }
            else
            {
                var isFree = new bool[units.Count + b.FreePageCount];
                for (var i = 0; i < b.FreePageCount; i++)
                {
                    isFree[i] = true;
                }

                rng.Shuffle(isFree);
                var next = 0;
                foreach (var free in isFree)
                {
                    slots.Add(free ? null : units[next++]);
                }
            }

            ulong id = 2;
            var freeIds = new List<ulong>();
            foreach (var slot in slots)
            {
                if (slot is null)
                {
                    freeIds.Add(id++);
                }
                else
                {
                    slot.Id = id;
                    id += (ulong)slot.Overflow + 1;
                }
            }

            ulong? freelistId = null;
            var freelistOverflow = 0;
            if (b.Freelist == FreelistMode.Synced)
            {
                freelistId = id;
                long size = BoltBytes.PageHeaderSize + (8L * freeIds.Count) + (freeIds.Count >= 0xFFFF ? 8 : 0);
                freelistOverflow = (int)((size + _p - 1) / _p) - 1;
                id += (ulong)freelistOverflow + 1;
            }

            var pgid = id;
            var database = checked((int)((long)pgid * _p)) + b.TailLength;
            var bytes = new byte[database + (b.Trailer ? BoltBytes.TrailerLength : 0)];

            // Metas (spec §1.4: tx.WriteTo writes both from the same meta, page 1 with txid T − 1).
            var meta = new MetaFields
            {
                Magic = BoltBytes.Magic,
                Version = BoltBytes.Version,
                PageSize = (uint)_p,
                Root = root.Root!.Id,
                Sequence = root.Spec.Sequence,
                Freelist = freelistId ?? BoltBytes.NoFreelist,
                Pgid = pgid,
                TxId = b.TxId,
            };
            BoltBytes.WriteMetaPage(bytes.AsSpan(0, _p), 0, meta);
            BoltBytes.WriteMetaPage(bytes.AsSpan(_p, _p), 1, meta with { TxId = b.TxId - 1 });

            var pageInfos = new BoltPageInfo?[pgid];
            pageInfos[0] = new BoltPageInfo(0, BoltPageKind.Meta, 0, 0, null, 0, null, 0, 0);
            pageInfos[1] = new BoltPageInfo(1, BoltPageKind.Meta, 0, 0, null, 0, null, 0, 1);

            var livePages = new List<PPage>();
            foreach (var bucket in _preOrder)
            {
                foreach (var page in bucket.Pages)
                {
                    WritePage(bytes, page);
                    livePages.Add(page);
                    var kind = page.IsBranch ? BoltPageKind.Branch : BoltPageKind.Leaf;
                    pageInfos[page.Id] = new BoltPageInfo(page.Id, kind, page.Overflow, page.Count, bucket.Spec.Path, page.Level, page.Parent?.Id, page.IndexInParent, page.Id);
                    for (var k = 1; k <= page.Overflow; k++)
                    {
                        var c = page.Id + (ulong)k;
                        pageInfos[c] = new BoltPageInfo(c, BoltPageKind.Continuation, 0, 0, bucket.Spec.Path, page.Level, null, 0, page.Id);
                    }
                }
            }

            foreach (var free in freeIds)
            {
                WriteFreePage(bytes, free, livePages, rng);
                pageInfos[free] = new BoltPageInfo(free, BoltPageKind.Free, 0, 0, null, 0, null, 0, free);
            }

            if (freelistId is { } fl)
            {
                WriteFreelist(bytes, fl, freelistOverflow, freeIds);
                pageInfos[fl] = new BoltPageInfo(fl, BoltPageKind.Freelist, freelistOverflow, freeIds.Count, null, 0, null, 0, fl);
                for (var k = 1; k <= freelistOverflow; k++)
                {
                    pageInfos[fl + (ulong)k] = new BoltPageInfo(fl + (ulong)k, BoltPageKind.Continuation, 0, 0, null, 0, null, 0, fl);
                }
            }

            if (b.TailLength > 0)
            {
                rng.NextBytes(bytes.AsSpan((int)((long)pgid * _p), b.TailLength));
            }

            if (b.Trailer)
            {
                SHA256.HashData(bytes.AsSpan(0, database), bytes.AsSpan(database));
            }

            var file = new BoltFile(
                bytes,
                _p,
                pgid,
                b.TxId,
                root.Root.Id,
                freelistId,
                freeIds,
                pageInfos.Select(p => p!).ToList(),
                new Dictionary<string, BoltBucketLayout>(),
                b.Trailer,
                b.TailLength,
                ComputeStatus(root, (long)pgid * _p),
                Describe(pgid, freeIds.Count));
            AddLayouts(file);
            return file;
        }

        private string Describe(ulong pgid, int free)
            => string.Create(CultureInfo.InvariantCulture, $"bolt P={_p} pgid={pgid} buckets={_preOrder.Count - 1} free={free} freelist={b.Freelist} trailer={b.Trailer} tail={b.TailLength} seed={b.Seed}");

        private PBucket Collect()
        {
            var root = new PBucket(b.Root);
            var stack = new Stack<PBucket>();
            stack.Push(root);
            while (stack.Count > 0)
            {
                var bucket = stack.Pop();
                _preOrder.Add(bucket);
                var children = new List<PBucket>();
                foreach (var e in bucket.Spec.Entries)
                {
                    if (!b.AllowInvalidKeys && (e.Key.Length == 0 || e.Key.Length > BoltBytes.MaxKeySize))
                    {
                        throw new InvalidOperationException($"bucket '{bucket.Spec.Path}': invalid key length {e.Key.Length}");
                    }

                    PBucket? child = e.Bucket is null ? null : new PBucket(e.Bucket);
                    bucket.Entries.Add(new PEntry(e.Key, e.Value, child));
                    if (child is not null)
                    {
                        children.Add(child);
                    }
                }

                // Push in reverse so the pre-order visits children in key order.
                for (var i = children.Count - 1; i >= 0; i--)
                {
                    stack.Push(children[i]);
                }
            }

            return root;
        }

        private void PlanBucket(PBucket bucket, bool isRoot)
        {
            var spec = bucket.Spec;
            var hasSub = bucket.Entries.Any(e => e.Child is not null);
            if (!isRoot)
            {
                long inlineSize = BoltBytes.PageHeaderSize + bucket.Entries.Sum(e => (long)BoltBytes.ElementSize + e.Key.Length + e.ValueLength);
                bucket.Inline = spec.Storage switch
                {
                    BucketStorage.Inline when hasSub => throw new InvalidOperationException($"bucket '{spec.Path}' has sub-buckets and cannot be inline"),
                    BucketStorage.Inline => true,
                    BucketStorage.Page => false,
                    _ => !hasSub && inlineSize <= _p / 4,
                };
            }

            if (bucket.Inline)
            {
                bucket.InlineValue = InlineValue(bucket);
                return;
            }

            // Leaves.
            var threshold = Math.Max(BoltBytes.PageHeaderSize + 1, (long)(_p * b.FillPercent));
            var level = new List<PPage>();
            var current = new PPage(bucket, 0);
            foreach (var e in bucket.Entries)
            {
                long size = BoltBytes.ElementSize + e.Key.Length + e.ValueLength;
                if (current.Count > 0 && (current.Count >= b.MaxKeysPerPage || current.Size + size > threshold))
                {
                    level.Add(current);
                    current = new PPage(bucket, 0);
                }

                current.Entries.Add(e);
                current.Size += size;
            }

            level.Add(current);
            bucket.Pages.AddRange(level);

            // Branch levels until a single root.
            var height = 1;
            var fanout = Math.Max(2, b.MaxKeysPerPage);
            while (level.Count > 1)
            {
                var upper = new List<PPage>();
                var branch = new PPage(bucket, height);
                foreach (var child in level)
                {
                    long size = BoltBytes.ElementSize + child.FirstKey.Length;
                    if (branch.Count >= 2 && (branch.Count >= fanout || branch.Size + size > threshold))
                    {
                        upper.Add(branch);
                        branch = new PPage(bucket, height);
                    }

                    child.Parent = branch;
                    child.IndexInParent = branch.Children.Count;
                    branch.Children.Add(child);
                    branch.Size += size;
                }

                upper.Add(branch);
                bucket.Pages.AddRange(upper);
                level = upper;
                height++;
            }

            foreach (var page in bucket.Pages)
            {
                page.Overflow = (int)((page.Size + _p - 1) / _p) - 1;
            }

            bucket.Root = level[0];
            bucket.Levels = height;
        }

        private static byte[] InlineValue(PBucket bucket)
        {
            var n = bucket.Entries.Count;
            var length = BoltBytes.BucketHeaderSize + BoltBytes.PageHeaderSize + (BoltBytes.ElementSize * n) + bucket.Entries.Sum(e => e.Key.Length + e.Value!.Length);
            var value = new byte[length];
            BoltBytes.U64(value, 0, 0);
            BoltBytes.U64(value, 8, bucket.Spec.Sequence);
            var page = value.AsSpan(BoltBytes.BucketHeaderSize);
            BoltBytes.U16(page, 8, BoltBytes.LeafFlag);
            BoltBytes.U16(page, 10, checked((ushort)n));
            WriteLeafElements(page, bucket.Entries);
            return value;
        }

        private static void WriteLeafElements(Span<byte> page, List<PEntry> entries)
        {
            var data = BoltBytes.PageHeaderSize + (BoltBytes.ElementSize * entries.Count);
            for (var i = 0; i < entries.Count; i++)
            {
                var e = entries[i];
                var element = BoltBytes.PageHeaderSize + (BoltBytes.ElementSize * i);
                var value = e.Child is null ? e.Value! : e.Child.Inline ? e.Child.InlineValue! : BucketHeader(e.Child);
                BoltBytes.U32(page, element, e.Child is null ? 0u : BoltBytes.BucketLeafFlag);
                BoltBytes.U32(page, element + 4, (uint)(data - element));
                BoltBytes.U32(page, element + 8, (uint)e.Key.Length);
                BoltBytes.U32(page, element + 12, (uint)value.Length);
                e.Key.CopyTo(page[data..]);
                data += e.Key.Length;
                value.CopyTo(page[data..]);
                data += value.Length;
            }
        }

        private static byte[] BucketHeader(PBucket child)
        {
            var header = new byte[BoltBytes.BucketHeaderSize];
            BoltBytes.U64(header, 0, child.Root!.Id);
            BoltBytes.U64(header, 8, child.Spec.Sequence);
            return header;
        }

        private void WritePage(byte[] bytes, PPage page)
        {
            var span = bytes.AsSpan(checked((int)((long)page.Id * _p)), (page.Overflow + 1) * _p);
            BoltBytes.U64(span, 0, page.Id);
            BoltBytes.U16(span, 8, page.IsBranch ? BoltBytes.BranchFlag : BoltBytes.LeafFlag);
            BoltBytes.U16(span, 10, checked((ushort)page.Count));
            BoltBytes.U32(span, 12, (uint)page.Overflow);
            if (!page.IsBranch)
            {
                WriteLeafElements(span, page.Entries);
                return;
            }

            var data = BoltBytes.PageHeaderSize + (BoltBytes.ElementSize * page.Children.Count);
            for (var i = 0; i < page.Children.Count; i++)
            {
                var child = page.Children[i];
                var key = child.FirstKey;
                var element = BoltBytes.PageHeaderSize + (BoltBytes.ElementSize * i);
                BoltBytes.U32(span, element, (uint)(data - element));
                BoltBytes.U32(span, element + 4, (uint)key.Length);
                BoltBytes.U64(span, element + 8, child.Id);
                key.CopyTo(span[data..]);
                data += key.Length;
            }
        }

        private void WriteFreePage(byte[] bytes, ulong id, List<PPage> live, Random rng)
        {
            var span = bytes.AsSpan(checked((int)((long)id * _p)), _p);
            var content = b.FreePageContent == FreePageContent.Mixed ? (FreePageContent)(1 + rng.Next(3)) : b.FreePageContent;
            switch (content)
            {
                case FreePageContent.Garbage:
                    rng.NextBytes(span);
                    break;
                case FreePageContent.StaleCopy when live.Count > 0:
                    var source = live[rng.Next(live.Count)];
                    bytes.AsSpan(checked((int)((long)source.Id * _p)), _p).CopyTo(span);
                    if (rng.Next(2) == 0)
                    {
                        // A stale image that even names its own position: looks valid, is free.
                        BoltBytes.U64(span, 0, id);
                        BoltBytes.U32(span, 12, 0);
                    }

                    break;
                default:
                    span.Clear();
                    break;
            }
        }

        private void WriteFreelist(byte[] bytes, ulong id, int overflow, List<ulong> freeIds)
        {
            var span = bytes.AsSpan(checked((int)((long)id * _p)), (overflow + 1) * _p);
            BoltBytes.U64(span, 0, id);
            BoltBytes.U16(span, 8, BoltBytes.FreelistFlag);
            BoltBytes.U32(span, 12, (uint)overflow);
            var at = BoltBytes.PageHeaderSize;
            if (freeIds.Count >= 0xFFFF)
            {
                BoltBytes.U16(span, 10, 0xFFFF);
                BoltBytes.U64(span, at, (ulong)freeIds.Count);
                at += 8;
            }
            else
            {
                BoltBytes.U16(span, 10, (ushort)freeIds.Count);
            }

            foreach (var free in freeIds.Order())
            {
                BoltBytes.U64(span, at, free);
                at += 8;
            }
        }

        private void AddLayouts(BoltFile file)
        {
            var layouts = (Dictionary<string, BoltBucketLayout>)file.Buckets;
            foreach (var bucket in _preOrder)
            {
                var path = bucket.Spec.Path;
                var pageIds = bucket.Pages.Select(p => p.Id).ToList();
                if (path.Length == 0)
                {
                    layouts[path] = new BoltBucketLayout(path, false, bucket.Root!.Id, pageIds, bucket.Levels, null, -1, 0, bucket.Entries.Count);
                    continue;
                }

                var slash = path.LastIndexOf('/');
                var parentPath = slash < 0 ? string.Empty : path[..slash];
                var entry = file.Find(parentPath, bucket.Spec.Name);
                layouts[path] = bucket.Inline
                    ? new BoltBucketLayout(path, true, 0, [], 1, entry, entry.ValueOffset, entry.ValueLength, bucket.Entries.Count)
                    : new BoltBucketLayout(path, false, bucket.Root!.Id, pageIds, bucket.Levels, entry, -1, 0, bucket.Entries.Count);
            }
        }

        private static ExpectedStatus? ComputeStatus(PBucket root, long totalSize)
        {
            var crc = 0xFFFFFFFFu;
            long revision = 0, totalKey = 0;
            var live = new HashSet<string>(StringComparer.Ordinal);
            var storageVersion = string.Empty;
            foreach (var top in root.Entries)
            {
                if (top.Child is null)
                {
                    return null; // etcdctl: cannot get hash of bucket <name>
                }

                crc = BoltBytes.Crc32CUpdate(crc, top.Key);
                var isKey = top.Key.AsSpan().SequenceEqual("key"u8);
                var isMeta = top.Key.AsSpan().SequenceEqual("meta"u8);
                foreach (var e in top.Child.Entries)
                {
                    crc = BoltBytes.Crc32CUpdate(crc, e.Key);
                    if (e.Child is null)
                    {
                        crc = BoltBytes.Crc32CUpdate(crc, e.Value);
                    }

                    totalKey++;
                    if (isKey && e.Key.Length >= 8)
                    {
                        revision = BinaryPrimitives.ReadInt64BigEndian(e.Key);
                        var tombstone = e.Key.Length == 18 && e.Key[17] == (byte)'t';
                        var userKey = e.Value is null ? null : EtcdData.KeyOfKeyValue(e.Value);
                        if (userKey is not null)
                        {
                            if (tombstone)
                            {
                                live.Remove(Convert.ToHexString(userKey));
                            }
                            else
                            {
                                live.Add(Convert.ToHexString(userKey));
                            }
                        }
                    }

                    if (isMeta && e.Value is not null && e.Key.AsSpan().SequenceEqual("storageVersion"u8))
                    {
                        var text = Encoding.ASCII.GetString(e.Value);
                        storageVersion = Regex.IsMatch(text, @"^\d+\.\d+\.\d+$") ? text : string.Empty;
                    }
                }
            }

            return new ExpectedStatus(~crc, revision, totalKey, totalSize, live.Count, storageVersion);
        }
    }
}

/// <summary>Lets builder self-tests see the description behind a fixture factory.</summary>
internal static class BuilderCapture
{
    [ThreadStatic]
    private static Action<BoltFileBuilder>? _onBuild;

    public static Action<BoltFileBuilder>? OnBuild
    {
        get => _onBuild;
        set => _onBuild = value;
    }
}
