using System.Text;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Tests.Bolt.Support;

namespace Talos.Recovery.Tests.Bolt;

/// <summary>
/// The checker's page accounting (as <see cref="SnapshotFile.Inspect"/> reports it) against the builder's exact
/// page map, and the memory-mapped path against the in-memory one.
/// </summary>
[TestFixture]
public sealed class PageAccountingTests
{
    [TestCaseSource(typeof(BoltFileBuilderTests), nameof(BoltFileBuilderTests.Shapes))]
    public void Inspect_counts_every_page_by_use(string name)
    {
        var f = BoltFileBuilderTests.BuildShape(name);
        using var file = SnapshotFile.FromMemory(f.Bytes);
        var inspection = file.Inspect(new SnapshotVerifyOptions { SkipHashCheck = !f.HasTrailer });
        var expected = new SnapshotPageCounts(
            Meta: 2,
            Freelist: f.FreelistPageId is { } fl ? f.Page(fl).Overflow + 1 : 0,
            Branch: f.PagesOf(BoltPageKind.Branch).Count(),
            Leaf: f.PagesOf(BoltPageKind.Leaf).Count(),
            Overflow: f.Pages.Where(p => p.Kind is BoltPageKind.Branch or BoltPageKind.Leaf).Sum(p => (long)p.Overflow),
            Free: f.FreePageIds.Count);
        Assert.Multiple(() =>
        {
            Assert.That(inspection.Pages, Is.EqualTo(expected));
            Assert.That(inspection.PageCount, Is.EqualTo((long)f.Pgid));
            Assert.That(inspection.PageSize, Is.EqualTo(f.PageSize));
            Assert.That(inspection.TransactionId, Is.EqualTo(f.TxId));
            Assert.That(inspection.HasFreelist, Is.EqualTo(f.FreelistPageId is not null));
            Assert.That(inspection.Fragmentation, Is.EqualTo((double)f.FreePageIds.Count / (long)f.Pgid).Within(1e-12));
        });
    }

    [TestCaseSource(typeof(BoltFileBuilderTests), nameof(BoltFileBuilderTests.Shapes))]
    public void Inspect_lists_top_level_buckets_in_cursor_order(string name)
    {
        var f = BoltFileBuilderTests.BuildShape(name);
        using var file = SnapshotFile.FromMemory(f.Bytes);
        var inspection = file.Inspect(new SnapshotVerifyOptions { SkipHashCheck = !f.HasTrailer });
        var expected = f.Buckets.Values
            .Where(b => b.Path.Length > 0 && !b.Path.Contains('/', StringComparison.Ordinal))
            .OrderBy(b => Encoding.UTF8.GetBytes(b.Path), ByteArrayComparer.Instance)
            .Select(b => new SnapshotBucket(b.Path, b.EntryCount, b.IsInline))
            .ToList();
        Assert.That(inspection.Buckets, Is.EqualTo(expected));
    }

    [Test]
    public void Memory_mapped_file_verifies_like_the_same_bytes_in_memory()
    {
        var f = BoltFixtures.Workhorse(FreelistMode.Synced, trailer: true);
        var path = Path.Combine(Path.GetTempPath(), $"mapped-{Guid.NewGuid():N}.db");
        try
        {
            File.WriteAllBytes(path, f.Bytes);
            using var file = SnapshotFile.Open(path);
            var v = file.Verify();
            Assert.That(v.IsValid, Is.True, () => CheckerAssert.Dump(v));
            Assert.That(v.Path, Is.EqualTo(Path.GetFullPath(path)));
            CheckerAssert.AssertStatus(v.Status, f.Status!);
            CheckerAssert.AssertStatus(file.GetStatus(), f.Status!);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Memory_mapped_damaged_file_reports_the_same_problems()
    {
        var f = BoltFixtures.Workhorse();
        var bytes = f.Clone();
        var leaf = f.Leaves("key")[3];
        BoltBytes.U16(bytes, f.PageOffset(leaf) + 8, 0x20);
        var path = Path.Combine(Path.GetTempPath(), $"mapped-{Guid.NewGuid():N}.db");
        try
        {
            File.WriteAllBytes(path, bytes);
            using var file = SnapshotFile.Open(path);
            var mapped = file.Verify(new SnapshotVerifyOptions { SkipHashCheck = true });
            var memory = CheckerAssert.Verify(bytes, skipHashCheck: true);
            Assert.That(mapped.Problems.Select(p => (p.Code, p.PageId, p.Offset)), Is.EqualTo(memory.Problems.Select(p => (p.Code, p.PageId, p.Offset))));
            Assert.That(mapped.IsValid, Is.False);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
