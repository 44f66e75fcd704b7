using System.Globalization;
using Talos.Recovery.Bolt;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Tests.Bolt.Support;

namespace Talos.Recovery.Tests.Bolt;

/// <summary>
/// Valid files of every shape the builder makes must verify with zero errors and the status etcdctl prints (the
/// builder's prediction, itself cross-checked against etcdctl in <see cref="BoltFileBuilderTests"/>).
/// </summary>
[TestFixture]
public sealed class ValidFileTests
{
    [TestCaseSource(typeof(BoltFileBuilderTests), nameof(BoltFileBuilderTests.Shapes))]
    public void Builder_file_verifies_clean_with_the_etcdctl_status(string name)
    {
        var f = BoltFileBuilderTests.BuildShape(name);
        var v = CheckerAssert.Clean(f.Bytes, f.Status, skipHashCheck: !f.HasTrailer);
        Assert.That(v.Trailer, Is.EqualTo(f.HasTrailer ? SnapshotTrailerState.Verified : SnapshotTrailerState.Absent));
        Assert.That(v.Problems, Is.Empty, () => "a valid WriteTo-style file should not even warn:\n" + CheckerAssert.Dump(v));
    }

    [TestCaseSource(typeof(BoltFileBuilderTests), nameof(BoltFileBuilderTests.Shapes))]
    public void GetStatus_of_a_builder_file_is_the_etcdctl_status(string name)
    {
        var f = BoltFileBuilderTests.BuildShape(name);
        using var file = SnapshotFile.FromMemory(f.Bytes);
        CheckerAssert.AssertStatus(file.GetStatus(), f.Status!);
    }

    [Test]
    public void Etcd_fixture_with_3_6_storage_version_reports_it()
    {
        var b = new BoltFileBuilder { Trailer = true };
        b.AddEtcdBuckets(new EtcdShape { Revisions = 50, StorageVersion = "3.6.0" });
        var f = b.Build();
        var v = CheckerAssert.Clean(f.Bytes, f.Status);
        Assert.That(v.Status!.StorageVersion, Is.EqualTo("3.6.0"));
    }

    [TestCase(512)]
    [TestCase(1024)]
    [TestCase(4096)]
    [TestCase(16384)]
    [TestCase(65536)]
    public void Every_power_of_two_page_size_from_512_verifies(int pageSize)
    {
        var b = new BoltFileBuilder(pageSize) { Trailer = true, FreePageCount = 3, Freelist = FreelistMode.Synced, MaxKeysPerPage = 6 };
        b.AddEtcdBuckets(new EtcdShape { Revisions = 120 });
        var f = b.Build();
        CheckerAssert.Clean(f.Bytes, f.Status);
    }

    [Test]
    public void Synced_and_unsynced_files_of_the_same_content_have_the_same_status_but_their_size()
    {
        var a = BoltFixtures.Workhorse(FreelistMode.None);
        var s = BoltFixtures.Workhorse(FreelistMode.Synced);
        var va = CheckerAssert.Clean(a.Bytes, a.Status, skipHashCheck: true);
        var vs = CheckerAssert.Clean(s.Bytes, s.Status, skipHashCheck: true);
        Assert.That(vs.Status!.Hash, Is.EqualTo(va.Status!.Hash));
        Assert.That(vs.Status.TotalSize, Is.EqualTo(va.Status.TotalSize + s.PageSize), "one more page: the freelist");
    }

    [Test]
    public void Page_2_can_hold_a_bucket_root()
    {
        // bbolt reuses page 2 (the initial freelist) for anything once the freelist moves; a bucket root there is fine.
        var b = new BoltFileBuilder();
        b.Bucket("a").Storage = BucketStorage.Page;
        b.Bucket("a").Put("k", "v");
        var f = b.Build();
        Assert.That(f.Bucket("a").RootPageId, Is.EqualTo(2), "fixture: bucket a's root is page 2");
        CheckerAssert.Clean(f.Bytes, f.Status, skipHashCheck: true);
    }

    [Test]
    public void Root_bucket_on_page_2_is_fine()
    {
        var f = new BoltFileBuilder().Build();
        Assert.That(f.RootPageId, Is.EqualTo(2));
        CheckerAssert.Clean(f.Bytes, f.Status, skipHashCheck: true);
    }

    [Test]
    public void Stale_free_pages_with_plausible_headers_are_ignored()
    {
        foreach (var freelist in new[] { FreelistMode.None, FreelistMode.Synced })
        {
            var b = new BoltFileBuilder { Freelist = freelist, FreePageCount = 40, FreePageContent = FreePageContent.StaleCopy, Seed = 99, Trailer = true };
            b.AddEtcdBuckets(new EtcdShape { Revisions = 400 });
            var f = b.Build();
            CheckerAssert.Clean(f.Bytes, f.Status);
        }
    }

    [Test]
    public void Garbage_in_free_pages_and_in_the_data_dir_tail_is_ignored()
    {
        var b = new BoltFileBuilder { FreePageCount = 40, FreePageContent = FreePageContent.Garbage, TailLength = 5 * 4096 + 100 };
        b.AddEtcdBuckets(new EtcdShape { Revisions = 400 });
        var f = b.Build();
        var v = CheckerAssert.Clean(f.Bytes, f.Status, skipHashCheck: true);
        Assert.That(v.DatabaseLength, Is.EqualTo(f.Bytes.Length), "no trailer: the whole file is the database part");
    }

    [Test]
    public void Key_of_exactly_MaxKeySize_is_valid()
    {
        var b = new BoltFileBuilder();
        b.AddEtcdBuckets();
        b.Bucket("big-keys").Put(new byte[BoltBytes.MaxKeySize], [1, 2, 3]);
        var f = b.Build();
        CheckerAssert.Clean(f.Bytes, f.Status, skipHashCheck: true);
    }

    [Test]
    public void Nested_buckets_inline_and_paged_with_sequences_verify()
    {
        var b = new BoltFileBuilder { Freelist = FreelistMode.Synced, FreePageCount = 5, MaxKeysPerPage = 5 };
        b.AddEtcdBuckets();
        var top = b.Bucket("tree");
        top.Sequence = 7;
        for (var i = 0; i < 20; i++)
        {
            var child = top.Bucket($"c{i:D2}");
            child.Sequence = (ulong)i;
            child.Storage = i % 3 == 0 ? BucketStorage.Page : BucketStorage.Auto;
            for (var j = 0; j < i; j++)
            {
                child.Put($"k{j:D2}", new string('x', j * 20));
            }

            if (i % 5 == 0)
            {
                child.Bucket("grandchild").Put("g", "h");
            }
        }

        var f = b.Build();
        Assert.That(f.Buckets.Values.Count(x => x.IsInline), Is.GreaterThan(5));
        Assert.That(f.Buckets.Values.Count(x => !x.IsInline), Is.GreaterThan(5));
        CheckerAssert.Clean(f.Bytes, f.Status, skipHashCheck: true);
    }

    [Test]
    public void Multi_level_trees_verify_at_every_page_size()
    {
        foreach (var p in new[] { 512, 4096, 16384 })
        {
            var b = new BoltFileBuilder(p) { MaxKeysPerPage = 3, Trailer = true };
            b.AddEtcdBuckets(new EtcdShape { Revisions = 700 });
            var f = b.Build();
            Assert.That(f.Bucket("key").Levels, Is.GreaterThanOrEqualTo(6), $"P={p}");
            CheckerAssert.Clean(f.Bytes, f.Status);
        }
    }

    [Test]
    public void Freelist_with_0xFFFE_ids_uses_the_plain_count()
    {
        var f = BoltFileBuilderTests.LargeFreelist(0xFFFE);
        CheckerAssert.Clean(f.Bytes, f.Status, skipHashCheck: true);
    }

    [Test]
    public void Freelist_with_0xFFFF_ids_uses_the_count_slot()
    {
        var f = BoltFileBuilderTests.LargeFreelist(0xFFFF);
        CheckerAssert.Clean(f.Bytes, f.Status, skipHashCheck: true);
    }

    [Test]
    public void Freelist_with_more_than_0xFFFF_ids_uses_the_count_slot()
    {
        var f = BoltFileBuilderTests.LargeFreelist(0x10005);
        CheckerAssert.Clean(f.Bytes, f.Status, skipHashCheck: true);
    }

    [Test]
    public void Meta1_with_the_higher_txid_is_a_valid_choice()
    {
        // Same contents, meta 1 newer (as in a data-dir copy where the last commit went to page 1).
        var f = BoltFixtures.Workhorse();
        var bytes = f.Clone();
        BoltBytes.RewriteMeta(bytes, f.PageSize, 1, m => m with { TxId = f.TxId + 1 });
        var v = CheckerAssert.Clean(bytes, f.Status, skipHashCheck: true);
        Assert.That(v.Problems.Where(p => p.Severity == BoltProblemSeverity.Error), Is.Empty);
    }

    [Test]
    public void Deeply_nested_buckets_do_not_overflow_the_stack()
    {
        // 3000 levels of bucket nesting, each a one-leaf page bucket: the checker must be iterative (DESIGN.md) and
        // either accept it or report TreeTooDeep, never crash.
        var b = new BoltFileBuilder(512);
        b.AddEtcdBuckets(new EtcdShape { Revisions = 3 });
        var bucket = b.Bucket("deep");
        for (var i = 0; i < 3000; i++)
        {
            bucket = bucket.Bucket("n");
        }

        bucket.Put("leaf", "value");
        var f = b.Build();
        var outcome = CheckerAssert.Check(f.Bytes, skipHashCheck: true);
        Assert.That(outcome.FormatError, Is.Null, () => outcome.ToString());
        var errors = outcome.Errors.ToList();
        Assert.That(errors.All(e => e.Code == BoltProblemCode.TreeTooDeep), Is.True, () => outcome.ToString());
    }

    [Test]
    public void A_large_valid_file_verifies_quickly()
    {
        var b = new BoltFileBuilder { Trailer = true, FillPercent = 0.9 };
        b.AddEtcdBuckets(new EtcdShape { Revisions = 40_000, ValueSize = 150 });
        var f = b.Build();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        CheckerAssert.Clean(f.Bytes, f.Status);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{f.Bytes.Length / 1e6:F1} MB verified in {watch.ElapsedMilliseconds} ms"));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
    }
}
