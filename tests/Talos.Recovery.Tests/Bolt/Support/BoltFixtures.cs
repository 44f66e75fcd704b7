using System.Text;

namespace Talos.Recovery.Tests.Bolt.Support;

/// <summary>Named, deterministic files used across the Bolt tests.</summary>
internal static class BoltFixtures
{
    /// <summary>
    /// A fresh etcd: ten buckets, small content, all inline except <c>key</c> when it grows. No freelist (Linux).
    /// </summary>
    public static BoltFile EtcdSmall(bool trailer = false, FreelistMode freelist = FreelistMode.None, int pageSize = 4096)
    {
        var b = new BoltFileBuilder(pageSize) { Trailer = trailer, Freelist = freelist, FreePageCount = 3 };
        b.AddEtcdBuckets(new EtcdShape { Revisions = 12, ValueSize = 16 });
        return b.Build();
    }

    /// <summary>
    /// The corruption-test workhorse: etcd buckets with a three-level <c>key</c> bucket (root branch → branches →
    /// leaves, at most 8 keys per page), a <c>test</c> bucket holding a page bucket with a nested page bucket and an
    /// inline bucket with equal-length keys, free pages interleaved, and pages laid out so the root bucket's page is
    /// not last.
    /// </summary>
    public static BoltFile Workhorse(FreelistMode freelist = FreelistMode.None, bool trailer = false, int pageSize = 4096, int tail = 0)
    {
        var b = new BoltFileBuilder(pageSize)
        {
            Trailer = trailer,
            Freelist = freelist,
            FreePageCount = 6,
            MaxKeysPerPage = 8,
            Seed = 11,
            TailLength = tail,
            FreePageContent = FreePageContent.Mixed,
        };
        b.AddEtcdBuckets(new EtcdShape { Revisions = 300, ValueSize = 20, TombstoneEvery = 9 });
        var test = b.Bucket("test");
        var outer = test.Bucket("outer");
        outer.Storage = BucketStorage.Page;
        outer.Sequence = 42;
        for (var i = 0; i < 12; i++)
        {
            outer.Put($"o{i:D2}", $"outer-value-{i}");
        }

        var deep = outer.Bucket("deep");
        deep.Storage = BucketStorage.Page;
        for (var i = 0; i < 30; i++)
        {
            deep.Put($"d{i:D3}", new string('v', 40));
        }

        var inline = test.Bucket("inl");
        inline.Put("a1", "one").Put("a2", "two").Put("a3", "three");
        test.Put("plain", "a value");
        return b.Build();
    }

    /// <summary>Many small nested buckets, most of them inline (bucket values carrying page images).</summary>
    public static BoltFile InlineHeavy(FreelistMode freelist, bool trailer, int buckets = 300, int seed = 3)
    {
        var b = new BoltFileBuilder { Freelist = freelist, Trailer = trailer, FreePageCount = 12, Seed = seed };
        b.AddEtcdBuckets(new EtcdShape { Revisions = 40 });
        var rng = new Random(seed);
        var k8s = b.Bucket("k8s");
        for (var i = 0; i < buckets; i++)
        {
            var nested = k8s.Bucket($"ns-{i:D4}");
            var n = 1 + rng.Next(5);
            for (var j = 0; j < n; j++)
            {
                var value = new byte[rng.Next(0, 60)];
                rng.NextBytes(value);
                nested.Put(Encoding.ASCII.GetBytes($"obj-{j}"), value);
            }
        }

        return b.Build();
    }

    /// <summary>Values of tens of kilobytes: leaves with many overflow pages.</summary>
    public static BoltFile OverflowHeavy(FreelistMode freelist, bool trailer, int seed = 5)
    {
        var b = new BoltFileBuilder { Freelist = freelist, Trailer = trailer, FreePageCount = 4, Seed = seed };
        b.AddEtcdBuckets(new EtcdShape { Revisions = 60, ValueSize = 300, BigValueEvery = 4, BigValueSize = 20000, Seed = seed });
        return b.Build();
    }

    /// <summary>The flattened content of a description (bucket path, key, value or null for a bucket), in cursor order.</summary>
    public static List<ReadEntry> Flatten(BoltBucketSpec root)
    {
        var result = new List<ReadEntry>();
        var queue = new Queue<BoltBucketSpec>();
        queue.Enqueue(root);
        while (queue.Count > 0)
        {
            var bucket = queue.Dequeue();
            foreach (var e in bucket.Entries)
            {
                result.Add(new ReadEntry(bucket.Path, e.Key, e.Value));
                if (e.Bucket is not null)
                {
                    queue.Enqueue(e.Bucket);
                }
            }
        }

        return result;
    }
}
