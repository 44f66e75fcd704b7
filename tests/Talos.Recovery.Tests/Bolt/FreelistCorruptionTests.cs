using Talos.Recovery.Tests.Bolt.Support;
using static Talos.Recovery.Bolt.BoltProblemCode;

namespace Talos.Recovery.Tests.Bolt;

/// <summary>
/// Damage to a synced freelist (spec §1.10, §2.1 steps 1, 2, 4, 5): files from non-Linux etcd, etcd &lt; 3.3, or
/// rewritten by read-write tools.
/// </summary>
[TestFixture]
public sealed class FreelistCorruptionTests
{
    private static BoltFile F() => BoltFixtures.Workhorse(FreelistMode.Synced);

    private static long CountOffset(BoltFile f) => f.PageOffset(f.FreelistPageId!.Value) + 10;

    private static long IdOffset(BoltFile f, int index) => f.PageOffset(f.FreelistPageId!.Value) + 16 + (8L * index);

    /// <summary>Appends an id to the freelist (one more count).</summary>
    private static byte[] WithExtraId(BoltFile f, ulong id)
    {
        var bytes = f.Clone();
        var n = f.FreePageIds.Count;
        BoltBytes.U16(bytes, CountOffset(f), (ushort)(n + 1));
        BoltBytes.U64(bytes, IdOffset(f, n), id);
        return bytes;
    }

    [TestCase(0UL)]
    [TestCase(1UL)]
    public void Meta_page_id_in_the_freelist_is_FreelistIdOutOfRange(ulong id)
    {
        var f = F();
        Corrupt.Expect(f, WithExtraId(f, id), [FreelistIdOutOfRange], f.FreelistPageId, alsoPages: [(long)id]);
    }

    [TestCase(0UL)]
    [TestCase(1UL)]
    [TestCase(1000UL)]
    public void Id_at_or_past_the_high_water_mark_in_the_freelist_is_FreelistIdOutOfRange(ulong beyond)
    {
        var f = F();
        Corrupt.Expect(f, WithExtraId(f, f.Pgid + beyond), [FreelistIdOutOfRange], f.FreelistPageId, alsoPages: [(long)(f.Pgid + beyond)]);
    }

    [Test]
    public void Huge_id_in_the_freelist_is_FreelistIdOutOfRange()
    {
        var f = F();
        Corrupt.Expect(f, WithExtraId(f, ulong.MaxValue), [FreelistIdOutOfRange], f.FreelistPageId, alsoPages: [-1, long.MaxValue]);
    }

    [Test]
    public void Id_listed_twice_is_AlreadyFreed()
    {
        var f = F();
        var dup = f.FreePageIds[2];
        Corrupt.Expect(f, WithExtraId(f, dup), [AlreadyFreed], dup, checkOffset: false);
    }

    [Test]
    public void Reachable_leaf_in_the_freelist_is_ReachableFreed()
    {
        var f = F();
        var leaf = f.Leaves("key")[4];
        Corrupt.Expect(f, WithExtraId(f, leaf), [ReachableFreed], leaf);
    }

    [Test]
    public void Bucket_root_in_the_freelist_is_ReachableFreed()
    {
        var f = F();
        var root = f.Bucket("test/outer").RootPageId;
        Corrupt.Expect(f, WithExtraId(f, root), [ReachableFreed], root);
    }

    [Test]
    public void Freelist_page_listing_itself_is_rejected()
    {
        // bbolt does not check this; a page cannot be both the freelist and free.
        var f = F();
        Corrupt.Expect(f, WithExtraId(f, f.FreelistPageId!.Value), [ReachableFreed, MultipleReferences, FreelistIdOutOfRange], f.FreelistPageId, checkOffset: false);
    }

    [Test]
    public void Free_id_missing_from_the_freelist_is_UnreachableUnfreed()
    {
        var f = F();
        var bytes = f.Clone();
        var last = f.FreePageIds.Max();
        BoltBytes.U16(bytes, CountOffset(f), (ushort)(f.FreePageIds.Count - 1));
        Corrupt.Expect(f, bytes, [UnreachableUnfreed], last);
    }

    [Test]
    public void Free_id_replaced_by_another_free_id_is_AlreadyFreed_and_UnreachableUnfreed()
    {
        var f = F();
        var ids = f.FreePageIds.Order().ToList();
        var bytes = f.Clone();
        BoltBytes.U64(bytes, IdOffset(f, 1), ids[0]);
        var v = CheckerAssert.Verify(bytes, skipHashCheck: true);
        CheckerAssert.HasError(v, [AlreadyFreed], [(long)ids[0]]);
        CheckerAssert.HasError(v, [UnreachableUnfreed], [(long)ids[1]]);
    }

    [Test]
    public void Page_unreferenced_after_a_branch_edit_is_UnreachableUnfreed()
    {
        // A branch loses its last child (count − 1): the child's page is neither reachable nor free.
        var f = F();
        var branch = f.Branches("key").First(id => f.Page(id).Level == 1 && f.Page(id).Count >= 3);
        var lost = f.Element(branch, f.Page(branch).Count - 1).ChildPageId;
        var bytes = f.Clone();
        BoltBytes.U16(bytes, f.PageOffset(branch) + 10, (ushort)(f.Page(branch).Count - 1));
        Corrupt.Expect(f, bytes, [UnreachableUnfreed], lost);
    }

    [TestCase(0x02)]
    [TestCase(0x00)]
    [TestCase(0x01)]
    public void Freelist_page_without_the_freelist_flag_is_InvalidFreelistPage(int flags)
    {
        var f = F();
        var bytes = f.Clone();
        BoltBytes.U16(bytes, f.PageOffset(f.FreelistPageId!.Value) + 8, (ushort)flags);
        Corrupt.Expect(f, bytes, [InvalidFreelistPage], f.FreelistPageId);
    }

    [Test]
    public void Freelist_header_naming_another_page_is_rejected()
    {
        var f = F();
        var bytes = f.Clone();
        BoltBytes.U64(bytes, f.PageOffset(f.FreelistPageId!.Value), 3);
        Corrupt.Expect(f, bytes, [PageIdMismatch, InvalidFreelistPage], f.FreelistPageId);
    }

    [Test]
    public void Meta_freelist_naming_a_leaf_is_rejected()
    {
        var f = F();
        var leaf = f.Leaves("key")[1];
        var bytes = f.Clone();
        BoltBytes.RewriteBothMetas(bytes, f.PageSize, m => m with { Freelist = leaf });
        Corrupt.Expect(f, bytes, [InvalidFreelistPage, MultipleReferences], leaf);
    }

    [TestCase(511)] // (4096 − 16) / 8 + 1: one id past the page
    [TestCase(0xFFFE)]
    public void Freelist_count_past_its_page_is_FreelistOutOfPage(int count)
    {
        var f = F();
        var bytes = f.Clone();
        BoltBytes.U16(bytes, CountOffset(f), (ushort)count);
        Corrupt.Expect(f, bytes, [FreelistOutOfPage], f.FreelistPageId);
    }

    [TestCase(1UL << 40)]
    [TestCase(ulong.MaxValue)]
    [TestCase(510UL)] // (4096 − 24) / 8 + 1
    public void Freelist_count_slot_past_its_page_is_FreelistOutOfPage(ulong count)
    {
        var f = F();
        var bytes = f.Clone();
        BoltBytes.U16(bytes, CountOffset(f), 0xFFFF);
        BoltBytes.U64(bytes, IdOffset(f, 0), count);
        Corrupt.Expect(f, bytes, [FreelistOutOfPage], f.FreelistPageId);
    }

    [Test]
    public void Freelist_overflow_past_the_high_water_mark_is_rejected()
    {
        var f = F();
        var bytes = f.Clone();
        BoltBytes.U32(bytes, f.PageOffset(f.FreelistPageId!.Value) + 12, 3);
        Corrupt.Expect(f, bytes, [OverflowOutOfRange, FreelistOutOfPage], f.FreelistPageId);
    }

    [Test]
    public void Large_freelist_missing_one_id_is_UnreachableUnfreed()
    {
        // 0xFFFF convention: the u64 count says one fewer than listed.
        var f = BoltFileBuilderTests.LargeFreelist(0x10005);
        var at = f.PageOffset(f.FreelistPageId!.Value);
        var bytes = f.Clone();
        BoltBytes.U64(bytes, at + 16, 0x10004);
        Corrupt.Expect(f, bytes, [UnreachableUnfreed], f.FreePageIds.Max(), checkOffset: false);
    }

    [Test]
    public void Large_freelist_read_as_a_plain_count_is_rejected()
    {
        // The pre-2017 off-by-one family: a reader that ignores the count slot sees different ids.
        var f = BoltFileBuilderTests.LargeFreelist(0xFFFF);
        var at = f.PageOffset(f.FreelistPageId!.Value);
        var bytes = f.Clone();
        BoltBytes.U16(bytes, at + 10, 0xFFFE);
        Corrupt.Expect(f, bytes, []);
    }
}
