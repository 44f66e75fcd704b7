using Talos.Recovery.Bolt;
using Talos.Recovery.Tests.Bolt.Support;
using static Talos.Recovery.Bolt.BoltProblemCode;

namespace Talos.Recovery.Tests.Bolt;

/// <summary>
/// Damage to branch and leaf pages (spec §1.2, §1.3, §1.7, §2): page headers, references, element arrays, keys
/// and key order. The base is <see cref="BoltFixtures.Workhorse"/>: a three-level <c>key</c> bucket, nested page
/// buckets, free pages. Every case runs on a no-freelist (Linux etcd) file unless the invariant needs a freelist.
/// </summary>
[TestFixture]
public sealed class TreeCorruptionTests
{
    private static BoltFile F(FreelistMode freelist = FreelistMode.None) => BoltFixtures.Workhorse(freelist);

    private static ulong KeyLeaf(BoltFile f, int i = 5) => f.Leaves("key")[i];

    /// <summary>A branch right above leaves in the key bucket (not the bucket root).</summary>
    private static ulong LowerBranch(BoltFile f) => f.Branches("key").First(id => f.Page(id).Level == 1 && f.Page(id).Count >= 3);

    // ---- page header: id -------------------------------------------------------------------------------------

    [Test]
    public void Leaf_header_naming_another_page_is_PageIdMismatch([Values] FreelistMode freelist)
    {
        var f = F(freelist);
        var leaf = KeyLeaf(f);
        var bytes = f.Clone();
        BoltBytes.U64(bytes, f.PageOffset(leaf), leaf + 1000);
        Corrupt.Expect(f, bytes, [PageIdMismatch], leaf);
    }

    [Test]
    public void Branch_header_naming_another_page_is_PageIdMismatch()
    {
        var f = F();
        var branch = f.Bucket("key").RootPageId;
        var bytes = f.Clone();
        BoltBytes.U64(bytes, f.PageOffset(branch), 2);
        Corrupt.Expect(f, bytes, [PageIdMismatch], branch);
    }

    [Test]
    public void Bucket_root_header_naming_another_page_is_PageIdMismatch()
    {
        var f = F();
        var root = f.Bucket("test/outer").RootPageId;
        var bytes = f.Clone();
        BoltBytes.U64(bytes, f.PageOffset(root), root - 1);
        Corrupt.Expect(f, bytes, [PageIdMismatch], root);
    }

    [Test]
    public void Free_page_with_any_header_is_not_checked([Values] FreelistMode freelist)
    {
        var f = F(freelist);
        var bytes = f.Clone();
        foreach (var free in f.FreePageIds)
        {
            BoltBytes.U64(bytes, f.PageOffset(free), 0xDEAD);
            BoltBytes.U16(bytes, f.PageOffset(free) + 8, 0x77);
            BoltBytes.U16(bytes, f.PageOffset(free) + 10, 0xFFFF);
            BoltBytes.U32(bytes, f.PageOffset(free) + 12, 0xFFFFFFFF);
        }

        CheckerAssert.Clean(bytes, f.Status, skipHashCheck: true);
    }

    // ---- page header: flags ----------------------------------------------------------------------------------

    [TestCase(0x00)]
    [TestCase(0x04)]
    [TestCase(0x10)]
    [TestCase(0x20)]
    [TestCase(0x03)]
    [TestCase(0x12)]
    [TestCase(0xFFFF)]
    public void Leaf_with_flags_other_than_branch_or_leaf_is_InvalidPageType(int flags)
    {
        var f = F();
        var leaf = KeyLeaf(f);
        var bytes = f.Clone();
        BoltBytes.U16(bytes, f.PageOffset(leaf) + 8, (ushort)flags);
        Corrupt.Expect(f, bytes, [InvalidPageType], leaf);
    }

    [Test]
    public void Branch_flagged_as_leaf_is_rejected()
    {
        var f = F();
        var branch = LowerBranch(f);
        var bytes = f.Clone();
        BoltBytes.U16(bytes, f.PageOffset(branch) + 8, BoltBytes.LeafFlag);
        Corrupt.Expect(f, bytes, [], branch, checkOffset: false);
    }

    [Test]
    public void Leaf_flagged_as_branch_is_rejected()
    {
        var f = F();
        var leaf = KeyLeaf(f);
        var bytes = f.Clone();
        BoltBytes.U16(bytes, f.PageOffset(leaf) + 8, BoltBytes.BranchFlag);
        Corrupt.Expect(f, bytes, []);
    }

    // ---- references ------------------------------------------------------------------------------------------

    [TestCase(0UL)]
    [TestCase(3UL)]
    [TestCase(1UL << 33)]
    [TestCase(ulong.MaxValue)]
    public void Branch_child_at_or_past_the_high_water_mark_is_PageOutOfBounds(ulong beyond)
    {
        var f = F();
        var branch = LowerBranch(f);
        var child = beyond == ulong.MaxValue ? ulong.MaxValue : f.Pgid + beyond;
        var bytes = f.Clone();
        BoltBytes.U64(bytes, f.Element(branch, 1).ChildOffset, child);
        Corrupt.Expect(f, bytes, [PageOutOfBounds], branch, checkOffset: true, alsoPages: [unchecked((long)child)]);
    }

    [Test]
    public void Bucket_root_past_the_high_water_mark_is_PageOutOfBounds()
    {
        var f = F();
        var entry = f.Bucket("test/outer/deep").EntryInParent!.Value;
        var bytes = f.Clone();
        BoltBytes.U64(bytes, entry.ValueOffset, f.Pgid + 10);
        Corrupt.Expect(f, bytes, [PageOutOfBounds, InvalidBucketRoot]);
    }

    [Test]
    public void Two_branch_elements_naming_one_child_is_MultipleReferences()
    {
        var f = F();
        var branch = LowerBranch(f);
        var first = f.Element(branch, 0).ChildPageId;
        var bytes = f.Clone();
        BoltBytes.U64(bytes, f.Element(branch, 1).ChildOffset, first);
        Corrupt.Expect(f, bytes, [MultipleReferences], first, checkOffset: false);
    }

    [Test]
    public void Two_buckets_sharing_a_root_page_is_MultipleReferences()
    {
        var f = F();
        var shared = f.Bucket("test/outer/deep").RootPageId;
        var bytes = f.Clone();
        var key = f.Bucket("key").EntryInParent!.Value;
        BoltBytes.U64(bytes, key.ValueOffset, shared);
        Corrupt.Expect(f, bytes, [MultipleReferences], shared, checkOffset: false);
    }

    [Test]
    public void Branch_child_pointing_to_its_bucket_root_is_a_cycle_reported_as_MultipleReferences()
    {
        var f = F();
        var root = f.Bucket("key").RootPageId;
        var branch = LowerBranch(f);
        var bytes = f.Clone();
        BoltBytes.U64(bytes, f.Element(branch, 2).ChildOffset, root);
        Corrupt.Expect(f, bytes, [MultipleReferences, TreeTooDeep], root, checkOffset: false);
    }

    [Test]
    public void Branch_child_pointing_to_itself_is_a_cycle()
    {
        var f = F();
        var branch = LowerBranch(f);
        var bytes = f.Clone();
        BoltBytes.U64(bytes, f.Element(branch, 0).ChildOffset, branch);
        Corrupt.Expect(f, bytes, [MultipleReferences, TreeTooDeep], branch, checkOffset: false);
    }

    [Test]
    public void Bucket_whose_root_is_its_parent_bucket_page_is_a_cycle()
    {
        var f = F();
        var deepEntry = f.Bucket("test/outer/deep").EntryInParent!.Value;
        var outerRoot = f.Bucket("test/outer").RootPageId; // an ancestor of deep's entry page
        var bytes = f.Clone();
        BoltBytes.U64(bytes, deepEntry.ValueOffset, outerRoot);
        Corrupt.Expect(f, bytes, [MultipleReferences, TreeTooDeep], outerRoot, checkOffset: false);
    }

    [Test]
    public void Bucket_whose_root_is_the_root_bucket_page_is_a_cycle()
    {
        var f = F();
        var entry = f.Bucket("test").EntryInParent!.Value;
        var bytes = f.Clone();
        BoltBytes.U64(bytes, entry.ValueOffset, f.RootPageId);
        Corrupt.Expect(f, bytes, [MultipleReferences, TreeTooDeep], f.RootPageId, checkOffset: false);
    }

    [Test]
    public void Overflow_running_into_the_next_reachable_page_is_MultipleReferences()
    {
        var f = F();
        var leaf = f.Leaves("key").First(id => id + 1 < f.Pgid && f.Page(id + 1).Kind is BoltPageKind.Leaf or BoltPageKind.Branch);
        var bytes = f.Clone();
        BoltBytes.U32(bytes, f.PageOffset(leaf) + 12, 1);
        Corrupt.Expect(f, bytes, [MultipleReferences], leaf + 1, checkOffset: false, alsoPages: [(long)leaf]);
    }

    [TestCase(0xFFFFFFFFu)]
    [TestCase(1000u)]
    public void Overflow_past_the_high_water_mark_is_OverflowOutOfRange(uint overflow)
    {
        var f = F();
        var root = f.Bucket("test/outer").RootPageId;
        var bytes = f.Clone();
        BoltBytes.U32(bytes, f.PageOffset(root) + 12, overflow);
        Corrupt.Expect(f, bytes, [OverflowOutOfRange], root);
    }

    [Test]
    public void Overflow_of_the_last_page_past_the_high_water_mark_is_OverflowOutOfRange()
    {
        var b = new BoltFileBuilder();
        b.AddEtcdBuckets();
        var f = b.Build();
        Assert.That(f.RootPageId, Is.EqualTo(f.Pgid - 1), "fixture: root bucket page is last");
        var bytes = f.Clone();
        BoltBytes.U32(bytes, f.PageOffset(f.RootPageId) + 12, 1);
        Corrupt.Expect(f, bytes, [OverflowOutOfRange], f.RootPageId);
    }

    // ---- element array and element bounds ------------------------------------------------------------------

    [TestCase(0xFFFF)]
    [TestCase(256)] // (4096 − 16) / 16 + 1: one element past the page
    public void Leaf_count_whose_element_array_leaves_the_page_is_ElementArrayOutOfPage(int count)
    {
        var f = F();
        var leaf = KeyLeaf(f);
        var bytes = f.Clone();
        BoltBytes.U16(bytes, f.PageOffset(leaf) + 10, (ushort)count);
        Corrupt.Expect(f, bytes, [ElementArrayOutOfPage], leaf);
    }

    [Test]
    public void Branch_count_whose_element_array_leaves_the_page_is_ElementArrayOutOfPage()
    {
        var f = F();
        var branch = f.Bucket("key").RootPageId;
        var bytes = f.Clone();
        BoltBytes.U16(bytes, f.PageOffset(branch) + 10, 0xFFFF);
        Corrupt.Expect(f, bytes, [ElementArrayOutOfPage], branch);
    }

    [TestCase(1)]
    [TestCase(3)]
    public void Leaf_count_a_little_too_large_is_rejected(int extra)
    {
        var f = F();
        var leaf = KeyLeaf(f);
        var bytes = f.Clone();
        BoltBytes.U16(bytes, f.PageOffset(leaf) + 10, (ushort)(f.Page(leaf).Count + extra));
        Corrupt.Expect(f, bytes, [], leaf);
    }

    [Test]
    public void Branch_with_no_elements_is_EmptyBranch()
    {
        var f = F();
        var branch = LowerBranch(f);
        var bytes = f.Clone();
        BoltBytes.U16(bytes, f.PageOffset(branch) + 10, 0);
        Corrupt.Expect(f, bytes, [EmptyBranch], branch);
    }

    [TestCase(0xFFFFFF00u)]
    [TestCase(4096u)]
    [TestCase(0u)]
    [TestCase(16u)]
    public void Leaf_key_position_outside_the_data_area_is_ElementOutOfPage(uint pos)
    {
        var f = F();
        var leaf = KeyLeaf(f);
        var e = f.Element(leaf, 1);
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.PosOffset, pos);
        Corrupt.Expect(f, bytes, [ElementOutOfPage], leaf);
    }

    [TestCase(0x7FFFFFFFu)]
    [TestCase(0xFFFFFFFFu)]
    [TestCase(4096u)]
    public void Leaf_key_size_past_the_page_is_ElementOutOfPage(uint ksize)
    {
        var f = F();
        var leaf = KeyLeaf(f);
        var e = f.Element(leaf, f.Page(leaf).Count - 1);
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.KeySizeOffset, ksize);
        Corrupt.Expect(f, bytes, [ElementOutOfPage, KeyTooLarge], leaf);
    }

    [Test]
    public void Leaf_value_one_byte_past_the_page_is_ElementOutOfPage()
    {
        var f = F();
        var leaf = f.Leaves("test/outer/deep")[0];
        var e = f.Element(leaf, f.Page(leaf).Count - 1);
        var end = f.PageOffset(leaf) + f.PageSize;
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.ValueSizeOffset, (uint)(end - e.ValueOffset + 1));
        Corrupt.Expect(f, bytes, [ElementOutOfPage], leaf);
    }

    [Test]
    public void Leaf_value_ending_exactly_at_the_page_end_is_in_bounds()
    {
        // Boundary: the value may use the page up to its last byte (the extra bytes are zero padding).
        var f = F();
        var leaf = f.Leaves("test/outer/deep")[0];
        var e = f.Element(leaf, f.Page(leaf).Count - 1);
        var end = f.PageOffset(leaf) + f.PageSize;
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.ValueSizeOffset, (uint)(end - e.ValueOffset));
        var v = CheckerAssert.Clean(bytes, null, skipHashCheck: true);
        Assert.That(v.Status!.Hash, Is.EqualTo(f.Status!.Hash), "test/outer/deep is nested: not hashed");
    }

    [Test]
    public void Leaf_value_size_huge_is_ElementOutOfPage()
    {
        var f = F();
        var leaf = KeyLeaf(f);
        var e = f.Element(leaf, 0);
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.ValueSizeOffset, 0xFFFFFFF0);
        Corrupt.Expect(f, bytes, [ElementOutOfPage, ValueTooLarge], leaf);
    }

    [TestCase(0xFFFFFF00u)]
    [TestCase(0u)]
    public void Branch_key_position_outside_the_data_area_is_ElementOutOfPage(uint pos)
    {
        var f = F();
        var branch = LowerBranch(f);
        var e = f.Element(branch, 1);
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.PosOffset, pos);
        Corrupt.Expect(f, bytes, [ElementOutOfPage], branch);
    }

    [Test]
    public void Branch_key_size_past_the_page_is_ElementOutOfPage()
    {
        var f = F();
        var branch = LowerBranch(f);
        var e = f.Element(branch, 1);
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.KeySizeOffset, 0x10000);
        Corrupt.Expect(f, bytes, [ElementOutOfPage, KeyTooLarge], branch);
    }

    // ---- keys ----------------------------------------------------------------------------------------------

    [Test]
    public void Empty_leaf_key_is_EmptyKey()
    {
        var f = F();
        var leaf = f.Leaves("test/outer/deep")[0];
        var e = f.Element(leaf, 3);
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.KeySizeOffset, 0);
        Corrupt.Expect(f, bytes, [EmptyKey], leaf);
    }

    [Test]
    public void Empty_branch_key_is_EmptyKey()
    {
        var f = F();
        var branch = LowerBranch(f);
        var e = f.Element(branch, 1);
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.KeySizeOffset, 0);
        Corrupt.Expect(f, bytes, [EmptyKey], branch);
    }

    [Test]
    public void Empty_top_level_bucket_name_is_EmptyKey()
    {
        var f = F();
        var e = f.Bucket("alarm").EntryInParent!.Value;
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.KeySizeOffset, 0);
        Corrupt.Expect(f, bytes, [EmptyKey], e.PageId);
    }

    [Test]
    public void Key_longer_than_MaxKeySize_is_KeyTooLarge()
    {
        var b = new BoltFileBuilder { AllowInvalidKeys = true };
        b.AddEtcdBuckets();
        b.Bucket("big-keys").Put(new byte[BoltBytes.MaxKeySize + 1], [1]);
        var f = b.Build();
        var leaf = f.Bucket("big-keys").RootPageId;
        Corrupt.Expect(f, f.Clone(), [KeyTooLarge], leaf);
    }

    [TestCase(0x02u)]
    [TestCase(0x03u)]
    [TestCase(0x80000000u)]
    public void Leaf_element_flags_other_than_0_or_1_are_InvalidElementFlags(uint flags)
    {
        var f = F();
        var leaf = KeyLeaf(f);
        var e = f.Element(leaf, 2);
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.ElementOffset, flags);
        Corrupt.Expect(f, bytes, [InvalidElementFlags], leaf);
    }

    // ---- key order -----------------------------------------------------------------------------------------

    [Test]
    public void Swapped_keys_in_a_leaf_are_KeyOrder()
    {
        var f = F();
        var leaf = KeyLeaf(f);
        var i = Corrupt.AdjacentSameLength(f, leaf, 17);
        var bytes = f.Clone();
        Corrupt.SwapKeys(bytes, f.Element(leaf, i), f.Element(leaf, i + 1));
        Corrupt.Expect(f, bytes, [KeyOrder], leaf);
    }

    [Test]
    public void Duplicate_key_in_a_leaf_is_KeyOrder()
    {
        var f = F();
        var leaf = f.Leaves("test/outer/deep")[0];
        var bytes = f.Clone();
        Corrupt.CopyKey(bytes, f.Element(leaf, 4), f.Element(leaf, 5));
        Corrupt.Expect(f, bytes, [KeyOrder], leaf);
    }

    [Test]
    public void Swapped_top_level_bucket_names_are_KeyOrder()
    {
        var f = F();
        var alarm = f.Bucket("alarm").EntryInParent!.Value;
        var lease = f.Bucket("lease").EntryInParent!.Value;
        Assert.That(alarm.PageId, Is.EqualTo(lease.PageId), "fixture: both names on one leaf of the root bucket");
        var bytes = f.Clone();
        Corrupt.SwapKeys(bytes, alarm, lease);
        Corrupt.Expect(f, bytes, [KeyOrder], alarm.PageId);
    }

    [Test]
    public void First_key_of_a_leaf_below_its_branch_separator_is_KeyOrder()
    {
        var f = F();
        var branch = LowerBranch(f);
        var left = f.Element(branch, 1).ChildPageId;
        var right = f.Element(branch, 2).ChildPageId;
        var lastLeft = f.Element(left, f.Page(left).Count - 1);
        var firstRight = f.Element(right, 0);
        Assume.That(lastLeft.KeyLength, Is.EqualTo(firstRight.KeyLength));
        var bytes = f.Clone();
        Corrupt.CopyKey(bytes, lastLeft, firstRight);
        Corrupt.Expect(f, bytes, [KeyOrder], right, checkOffset: false, alsoPages: [(long)branch]);
    }

    [Test]
    public void Last_key_of_a_leaf_reaching_the_next_separator_is_KeyOrder()
    {
        var f = F();
        var branch = LowerBranch(f);
        var left = f.Element(branch, 1).ChildPageId;
        var separator = f.Element(branch, 2);
        var lastLeft = f.Element(left, f.Page(left).Count - 1);
        Assume.That(lastLeft.KeyLength, Is.EqualTo(separator.KeyLength));
        var bytes = f.Clone();
        Corrupt.CopyKey(bytes, separator, lastLeft);
        Corrupt.Expect(f, bytes, [KeyOrder], left, checkOffset: false, alsoPages: [(long)branch]);
    }

    [Test]
    public void Separator_key_above_its_child_first_key_is_KeyOrder()
    {
        var f = F();
        var branch = LowerBranch(f);
        var separator = f.Element(branch, 1);
        var bytes = f.Clone();
        bytes[separator.KeyOffset + separator.KeyLength - 2]++; // sub revision 0 → 256: above the child's first key
        Corrupt.Expect(f, bytes, [KeyOrder], separator.ChildPageId, checkOffset: false, alsoPages: [(long)branch]);
    }

    [Test]
    public void Swapped_separator_keys_in_a_branch_are_KeyOrder()
    {
        var f = F();
        var (branch, i) = f.Branches("key").SelectMany(id => Enumerable.Range(1, f.Page(id).Count - 2).Select(i => (id, i)))
            .First(x => f.Element(x.id, x.i).KeyLength == f.Element(x.id, x.i + 1).KeyLength);
        var a = f.Element(branch, i);
        var b = f.Element(branch, i + 1);
        var bytes = f.Clone();
        Corrupt.SwapKeys(bytes, a, b);
        Corrupt.Expect(f, bytes, [KeyOrder], branch, checkOffset: false, alsoPages: [(long)a.ChildPageId, (long)b.ChildPageId]);
    }

    [Test]
    public void Swapped_subtrees_under_the_bucket_root_are_KeyOrder()
    {
        // Children swapped, separators not: every key of both subtrees is outside the bounds its parent sets.
        var f = F();
        var root = f.Bucket("key").RootPageId;
        var a = f.Element(root, 0);
        var b = f.Element(root, 1);
        var bytes = f.Clone();
        BoltBytes.U64(bytes, a.ChildOffset, b.ChildPageId);
        BoltBytes.U64(bytes, b.ChildOffset, a.ChildPageId);
        Corrupt.Expect(f, bytes, [KeyOrder]);
    }
}
