namespace Talos.Recovery.Tests.Bolt.Support;

/// <summary>One entry read back from a file: bucket path, key, and value (null for a nested bucket).</summary>
internal sealed record ReadEntry(string BucketPath, byte[] Key, byte[]? Value);

/// <summary>
/// A deliberately naive bbolt reader used only to self-test <see cref="BoltFileBuilder"/>: it trusts nothing it has
/// not checked (ids, flags, bounds, order) and throws on the first surprise. Not a checker for damaged files.
/// </summary>
internal static class BoltTestReader
{
    public static List<ReadEntry> ReadAll(byte[] file)
    {
        var meta = BoltBytes.ReadMeta(file, 0);
        var p = (int)meta.PageSize;
        Require(meta.Magic == BoltBytes.Magic && meta.Version == 2, "meta0");
        Require(BoltBytes.Fnv1a64(file.AsSpan(16, 56)) == meta.Checksum, "meta0 checksum");
        var meta1 = BoltBytes.ReadMeta(file, p);
        Require(BoltBytes.Fnv1a64(file.AsSpan(p + 16, 56)) == meta1.Checksum, "meta1 checksum");
        Require(meta1.TxId == meta.TxId - 1 && meta1.Root == meta.Root && meta1.Pgid == meta.Pgid && meta1.Freelist == meta.Freelist, "meta1 = meta0 with txid T-1");
        Require(file.LongLength >= (long)meta.Pgid * p, "file covers pgid");
        var seen = new HashSet<ulong> { 0, 1 };
        var result = new List<ReadEntry>();
        ReadBucket(file, p, meta.Pgid, meta.Root, string.Empty, seen, result);
        if (meta.Freelist != BoltBytes.NoFreelist)
        {
            var at = (long)meta.Freelist * p;
            Require(BoltBytes.ReadU16(file, at + 8) == BoltBytes.FreelistFlag, "freelist flag");
            var overflow = BoltBytes.ReadU32(file, at + 12);
            for (ulong i = 0; i <= overflow; i++)
            {
                Require(seen.Add(meta.Freelist + i), "freelist page reached twice");
            }

            long count = BoltBytes.ReadU16(file, at + 10);
            var ids = at + 16;
            if (count == 0xFFFF)
            {
                count = (long)BoltBytes.ReadU64(file, ids);
                ids += 8;
            }

            for (long i = 0; i < count; i++)
            {
                var id = BoltBytes.ReadU64(file, ids + (8 * i));
                Require(id >= 2 && id < meta.Pgid && seen.Add(id), $"free id {id}");
            }

            Require((ulong)seen.Count == meta.Pgid, "every page reachable or free");
        }

        return result;
    }

    private static void ReadBucket(byte[] file, int p, ulong pgid, ulong root, string path, HashSet<ulong> seen, List<ReadEntry> result)
    {
        byte[]? last = null;
        var stack = new Stack<(ulong Id, byte[]? Lower)>();
        stack.Push((root, null));
        var pending = new List<(string Path, ulong Root, byte[]? Inline)>();
        while (stack.Count > 0)
        {
            var (id, lower) = stack.Pop();
            Require(id >= 2 && id < pgid, $"page {id} in range");
            var at = (long)id * p;
            Require(BoltBytes.ReadU64(file, at) == id, $"page {id} header id");
            var flags = BoltBytes.ReadU16(file, at + 8);
            var count = BoltBytes.ReadU16(file, at + 10);
            var overflow = BoltBytes.ReadU32(file, at + 12);
            Require(id + overflow < pgid, "overflow in range");
            for (ulong i = 0; i <= overflow; i++)
            {
                Require(seen.Add(id + i), $"page {id + i} reached twice");
            }

            var end = at + ((overflow + 1L) * p);
            var dataStart = at + 16 + (16L * count);
            if (flags == BoltBytes.BranchFlag)
            {
                Require(count > 0, "branch not empty");
                for (var i = count - 1; i >= 0; i--)
                {
                    var e = at + 16 + (16L * i);
                    var key = Slice(file, e + BoltBytes.ReadU32(file, e), BoltBytes.ReadU32(file, e + 4), dataStart, end);
                    if (i == 0 && lower is not null)
                    {
                        Require(ByteArrayComparer.Instance.Compare(lower, key) == 0, "branch key 0 matches parent's");
                    }

                    stack.Push((BoltBytes.ReadU64(file, e + 8), key));
                }

                continue;
            }

            Require(flags == BoltBytes.LeafFlag, $"page {id} flags {flags}");
            ReadLeaf(file, at, count, dataStart, end, path, ref last, result, pending);
        }

        foreach (var (child, childRoot, inline) in pending)
        {
            if (inline is null)
            {
                ReadBucket(file, p, pgid, childRoot, child, seen, result);
            }
            else
            {
                Require(inline.Length >= 32 && BoltBytes.ReadU16(inline, 24) == BoltBytes.LeafFlag && BoltBytes.ReadU64(inline, 16) == 0, "inline page header");
                var count = BoltBytes.ReadU16(inline, 26);
                byte[]? inlineLast = null;
                var nested = new List<(string, ulong, byte[]?)>();
                ReadLeaf(inline, 16, count, 32 + (16L * count), inline.Length, child, ref inlineLast, result, nested);
                Require(nested.Count == 0, "no bucket inside an inline bucket");
            }
        }
    }

    private static void ReadLeaf(byte[] buffer, long at, int count, long dataStart, long end, string path, ref byte[]? last, List<ReadEntry> result, List<(string, ulong, byte[]?)> pending)
    {
        for (var i = 0; i < count; i++)
        {
            var e = at + 16 + (16L * i);
            var flags = BoltBytes.ReadU32(buffer, e);
            var keyAt = e + BoltBytes.ReadU32(buffer, e + 4);
            var ksize = BoltBytes.ReadU32(buffer, e + 8);
            var vsize = BoltBytes.ReadU32(buffer, e + 12);
            var key = Slice(buffer, keyAt, ksize, dataStart, end);
            var value = Slice(buffer, keyAt + ksize, vsize, dataStart, end);
            Require(key.Length > 0, "non-empty key");
            Require(last is null || ByteArrayComparer.Instance.Compare(last, key) < 0, "keys ascending");
            last = key;
            if (flags == BoltBytes.BucketLeafFlag)
            {
                Require(value.Length >= 16, "bucket header");
                var name = System.Text.Encoding.UTF8.GetString(key);
                var child = path.Length == 0 ? name : path + "/" + name;
                var root = BoltBytes.ReadU64(value, 0);
                pending.Add((child, root, root == 0 ? value : null));
                result.Add(new ReadEntry(path, key, null));
            }
            else
            {
                Require(flags == 0, "element flags");
                result.Add(new ReadEntry(path, key, value));
            }
        }
    }

    private static byte[] Slice(byte[] buffer, long at, long length, long min, long max)
    {
        Require(at >= min && length >= 0 && at + length <= max, $"slice [{at}, +{length}) within [{min}, {max})");
        return buffer.AsSpan((int)at, (int)length).ToArray();
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidDataException("builder self-check failed: " + what);
        }
    }
}
