using System.Diagnostics;
using Talos.Recovery.Bolt;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Tests.Bolt.Support;
using static Talos.Recovery.Bolt.BoltProblemCode;

namespace Talos.Recovery.Tests.Bolt;

/// <summary>
/// Shapes built to make a naive checker explode or lie: shared subtrees (exponential paths), long chains, many
/// warnings against the problem cap, pages that are both used and free, and near-misses of valid etcd data.
/// </summary>
[TestFixture]
public sealed class PathologicalShapeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    /// <summary>A no-freelist etcd file with a page bucket "dag" and <paramref name="spare"/> zeroed free pages at the end to draw in.</summary>
    private static BoltFile WithSparePages(int spare, int pageSize = 4096)
    {
        var b = new BoltFileBuilder(pageSize) { FreePageCount = spare, FreePagesAtEnd = true, FreePageContent = FreePageContent.Zero };
        b.AddEtcdBuckets();
        var dag = b.Bucket("dag");
        dag.Storage = BucketStorage.Page;
        dag.Put("seed", "x");
        return b.Build();
    }

    private static CheckOutcome Timed(byte[] bytes, bool skipHashCheck = true)
    {
        var task = Task.Run(() => CheckerAssert.Check(bytes, skipHashCheck));
        Assert.That(task.Wait(Limit), Is.True, $"Verify did not finish within {Limit.TotalSeconds} s");
        return task.Result;
    }

    [Test]
    public void Branches_sharing_one_child_at_every_level_do_not_explode()
    {
        // 4 levels × 150 elements all naming the next page: 150³ root-to-leaf paths over 4 pages.
        var f = WithSparePages(4);
        var bytes = f.Clone();
        var ids = f.FreePageIds.Order().ToArray();
        var elements = Enumerable.Range(0, 150).Select(RawPages.Key).ToArray();
        for (var level = 0; level < 3; level++)
        {
            RawPages.Branch(bytes, f.PageSize, ids[level], elements.Select(k => (k, ids[level + 1])).ToList());
        }

        RawPages.Leaf(bytes, f.PageSize, ids[3], [(0u, RawPages.Key(0), [1])]);
        BoltBytes.U64(bytes, f.Bucket("dag").EntryInParent!.Value.ValueOffset, ids[0]);
        var watch = Stopwatch.StartNew();
        var outcome = Timed(bytes);
        TestContext.Out.WriteLine($"{watch.ElapsedMilliseconds} ms, {outcome.Verification?.Problems.Count} problems");
        CheckerAssert.HasError(outcome.Verification!, [MultipleReferences], [(long)ids[1]]);
    }

    [Test]
    public void Buckets_sharing_one_root_at_every_level_do_not_explode()
    {
        // A leaf of 90 bucket entries all naming page B, whose 90 bucket entries all name page C, …
        var f = WithSparePages(4);
        var bytes = f.Clone();
        var ids = f.FreePageIds.Order().ToArray();
        for (var level = 0; level < 3; level++)
        {
            var next = ids[level + 1];
            RawPages.Leaf(bytes, f.PageSize, ids[level], Enumerable.Range(0, 90).Select(i => (1u, RawPages.Key(i), RawPages.BucketValue(next))).ToList());
        }

        RawPages.Leaf(bytes, f.PageSize, ids[3], [(0u, RawPages.Key(0), [1])]);
        BoltBytes.U64(bytes, f.Bucket("dag").EntryInParent!.Value.ValueOffset, ids[0]);
        var outcome = Timed(bytes);
        CheckerAssert.HasError(outcome.Verification!, [MultipleReferences], [(long)ids[1]]);
    }

    [Test]
    public void Chain_of_single_child_branches_deeper_than_any_limit_ends()
    {
        // 700 branch pages in a line, then a leaf: legal for a reader, absurd for a writer. Accept, or TreeTooDeep.
        const int depth = 700;
        var f = WithSparePages(depth + 1, pageSize: 512);
        var bytes = f.Clone();
        var ids = f.FreePageIds.Order().ToArray();
        for (var level = 0; level < depth; level++)
        {
            RawPages.Branch(bytes, f.PageSize, ids[level], [(RawPages.Key(0), ids[level + 1])]);
        }

        RawPages.Leaf(bytes, f.PageSize, ids[depth], [(0u, RawPages.Key(0), [1])]);
        BoltBytes.U64(bytes, f.Bucket("dag").EntryInParent!.Value.ValueOffset, ids[0]);
        var outcome = Timed(bytes);
        Assert.That(outcome.FormatError, Is.Null, outcome.ToString);
        Assert.That(outcome.Errors.Select(e => e.Code), Is.All.EqualTo(TreeTooDeep), outcome.ToString);
    }

    /// <summary>A valid file whose bucket "w" has <paramref name="emptyLeaves"/> empty leaves below branches (EmptyLeaf warnings).</summary>
    private static byte[] WithEmptyLeaves(int emptyLeaves, out BoltFile f)
    {
        var b = new BoltFileBuilder(512) { MaxKeysPerPage = 1 };
        b.AddEtcdBuckets(new EtcdShape { Revisions = 3 });
        var w = b.Bucket("w");
        w.Storage = BucketStorage.Page;
        for (var i = 0; i <= emptyLeaves; i++)
        {
            w.Put(RawPages.Key(i), [1]);
        }

        f = b.Build();
        var bytes = f.Clone();
        foreach (var leaf in f.Leaves("w").Skip(1))
        {
            BoltBytes.U16(bytes, f.PageOffset(leaf) + 10, 0);
        }

        return bytes;
    }

    [Test]
    public void Empty_leaves_below_branches_are_warnings_only()
    {
        var bytes = WithEmptyLeaves(3, out _);
        var v = CheckerAssert.Verify(bytes, skipHashCheck: true);
        Assert.That(v.IsValid, Is.True, () => CheckerAssert.Dump(v));
        Assert.That(v.Problems.Count(p => p.Code == EmptyLeaf && p.Severity == BoltProblemSeverity.Warning), Is.EqualTo(3), () => CheckerAssert.Dump(v));
    }

    [Test]
    public void Warnings_beyond_MaxProblems_do_not_make_a_file_invalid()
    {
        // SnapshotVerification.IsValid: "True when no problem of severity Error was found."
        var bytes = WithEmptyLeaves(3, out _);
        var v = CheckerAssert.Verify(bytes, skipHashCheck: true, maxProblems: 1);
        Assert.That(v.Problems, Has.Count.EqualTo(1));
        Assert.That(v.ProblemsNotRecorded, Is.EqualTo(2));
        Assert.That(v.IsValid, Is.True, () => "only warnings, but: " + CheckerAssert.Dump(v));
    }

    [Test]
    public void GetStatus_succeeds_on_a_file_with_more_than_a_thousand_warnings()
    {
        // GetStatus uses the default cap (1000): uncounted warnings must not turn into "1 errors found".
        var bytes = WithEmptyLeaves(1001, out _);
        var v = CheckerAssert.Verify(bytes, skipHashCheck: true);
        Assert.That(v.Problems.Where(p => p.Severity == BoltProblemSeverity.Error), Is.Empty, "fixture: warnings only");
        using var file = SnapshotFile.FromMemory(bytes);
        try
        {
            file.GetStatus();
        }
        catch (SnapshotIntegrityException ex)
        {
            Assert.Fail($"GetStatus threw for a file with 0 errors and {v.Problems.Count}+{v.ProblemsNotRecorded} warnings: {ex.Message} (Problems: {ex.Problems.Count})");
        }
    }

    [Test]
    public void Errors_beyond_MaxProblems_are_counted_and_invalidate()
    {
        var f = BoltFixtures.Workhorse();
        var bytes = f.Clone();
        foreach (var leaf in f.Leaves("key").Take(5))
        {
            BoltBytes.U64(bytes, f.PageOffset(leaf), 1);
        }

        var v = CheckerAssert.Verify(bytes, skipHashCheck: true, maxProblems: 2);
        Assert.Multiple(() =>
        {
            Assert.That(v.Problems, Has.Count.EqualTo(2));
            Assert.That(v.ProblemsNotRecorded, Is.GreaterThanOrEqualTo(3));
            Assert.That(v.IsValid, Is.False);
        });
    }

    [Test]
    public void Overflow_continuation_page_listed_as_free_is_rejected()
    {
        // bbolt only checks a page's first id against the freelist; a continuation page that is also "free" would
        // be handed out again and overwritten on the next write.
        var f = BoltFixtures.OverflowHeavy(FreelistMode.Synced, trailer: false);
        var leaf = f.Pages.First(p => p.Kind == BoltPageKind.Leaf && p.Overflow >= 2);
        var continuation = leaf.Id + 1;
        var bytes = f.Clone();
        var at = f.PageOffset(f.FreelistPageId!.Value);
        var n = f.FreePageIds.Count;
        BoltBytes.U16(bytes, at + 10, (ushort)(n + 1));
        BoltBytes.U64(bytes, at + 16 + (8L * n), continuation);
        Corrupt.Expect(f, bytes, [ReachableFreed, MultipleReferences, AlreadyFreed], continuation, checkOffset: false, alsoPages: [(long)leaf.Id]);
    }

    [TestCase(0x12)]
    [TestCase(0x11)]
    [TestCase(0x14)]
    [TestCase(0x30)]
    public void Freelist_page_with_extra_flag_bits_is_InvalidFreelistPage(int flags)
    {
        // bbolt ≥ 1.4 compares page types exactly (spec §1.3), as the checker does for branch and leaf pages.
        var f = BoltFixtures.Workhorse(FreelistMode.Synced);
        var bytes = f.Clone();
        BoltBytes.U16(bytes, f.PageOffset(f.FreelistPageId!.Value) + 8, (ushort)flags);
        Corrupt.Expect(f, bytes, [InvalidFreelistPage], f.FreelistPageId);
    }

    [Test]
    public void Revision_bump_entry_with_an_empty_value_is_valid()
    {
        // etcdutl restore --bump-revision writes a key-bucket entry with an empty value (spec §3.5, §6).
        var b = new BoltFileBuilder { Trailer = true };
        b.AddEtcdBuckets(new EtcdShape { Revisions = 30 });
        b.Bucket("key").Put(EtcdData.RevisionKey(1_000_000, 0), []);
        var f = b.Build();
        CheckerAssert.Clean(f.Bytes, f.Status);
    }

    [Test]
    public void Nested_bucket_named_key_does_not_count_as_the_key_bucket()
    {
        var b = new BoltFileBuilder { Trailer = true };
        b.AddEtcdBuckets(new EtcdShape { Revisions = 30 });
        b.Bucket("zz").Bucket("key").Put("x", "not a revision");
        b.Bucket("zz").Bucket("key").Put(new byte[] { 0x7F, 0, 0, 0, 0, 0, 0, 0, 0x5F, 0, 0, 0, 0, 0, 0, 0, 0 }, [9]);
        var f = b.Build();
        CheckerAssert.Clean(f.Bytes, f.Status);
    }

    [Test]
    public void Data_dir_metas_with_equal_txids_are_readable()
    {
        var f = BoltFixtures.Workhorse();
        var bytes = f.Clone();
        BoltBytes.RewriteMeta(bytes, f.PageSize, 1, m => m with { TxId = f.TxId });
        var v = CheckerAssert.Verify(bytes, skipHashCheck: true);
        Assert.That(v.Problems.Where(p => p.Severity == BoltProblemSeverity.Error), Is.Empty, () => CheckerAssert.Dump(v));
    }
}
