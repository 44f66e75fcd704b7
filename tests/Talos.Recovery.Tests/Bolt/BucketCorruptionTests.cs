using Talos.Recovery.Tests.Bolt.Support;
using static Talos.Recovery.Bolt.BoltProblemCode;

namespace Talos.Recovery.Tests.Bolt;

/// <summary>Damage to bucket entries and inline buckets (spec §1.8), and etcd-level shape (spec §3.4, §3.8).</summary>
[TestFixture]
public sealed class BucketCorruptionTests
{
    private static BoltFile F(FreelistMode freelist = FreelistMode.None) => BoltFixtures.Workhorse(freelist);

    // ---- bucket entries --------------------------------------------------------------------------------------

    [Test]
    public void Bucket_flag_on_a_short_plain_value_is_InvalidBucketHeader()
    {
        var f = F();
        var e = f.Find("test", "plain");
        Assert.That(e.ValueLength, Is.LessThan(16), "fixture");
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.ElementOffset, BoltBytes.BucketLeafFlag);
        Corrupt.Expect(f, bytes, [InvalidBucketHeader], e.PageId);
    }

    [Test]
    public void Bucket_value_shorter_than_the_header_is_InvalidBucketHeader()
    {
        var f = F();
        var e = f.Bucket("test/outer").EntryInParent!.Value;
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.ValueSizeOffset, 8);
        Corrupt.Expect(f, bytes, [InvalidBucketHeader], e.PageId);
    }

    [Test]
    public void Bucket_flag_on_a_key_bucket_value_is_rejected()
    {
        // The first 8 bytes of a KeyValue proto read as a root page id: garbage either way.
        var f = F();
        var leaf = f.Leaves("key")[3];
        var e = f.Element(leaf, 1);
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.ElementOffset, BoltBytes.BucketLeafFlag);
        Corrupt.Expect(f, bytes, []);
    }

    [Test]
    public void Bucket_flag_cleared_on_a_top_level_bucket_is_TopLevelNotBucket()
    {
        var f = F();
        var e = f.Bucket("lease").EntryInParent!.Value;
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.ElementOffset, 0);
        Corrupt.Expect(f, bytes, [TopLevelNotBucket], e.PageId);
    }

    [Test]
    public void Bucket_flag_cleared_on_a_nested_page_bucket_leaks_its_pages()
    {
        var f = F(FreelistMode.Synced);
        var deep = f.Bucket("test/outer/deep");
        var bytes = f.Clone();
        BoltBytes.U32(bytes, deep.EntryInParent!.Value.ElementOffset, 0);
        Corrupt.Expect(f, bytes, [UnreachableUnfreed], deep.RootPageId);
    }

    [Test]
    public void Bucket_root_moved_to_its_own_first_leaf_leaks_the_rest_in_a_synced_file()
    {
        // Without a freelist the same edit is a valid, smaller bucket (the other pages count as free).
        var f = F(FreelistMode.Synced);
        var deep = f.Bucket("test/outer/deep");
        var first = f.Leaves("test/outer/deep")[0];
        var bytes = f.Clone();
        BoltBytes.U64(bytes, deep.EntryInParent!.Value.ValueOffset, first);
        Corrupt.Expect(f, bytes, [UnreachableUnfreed], deep.RootPageId);
    }

    [Test]
    public void Bucket_root_on_a_meta_page_is_rejected()
    {
        var f = F();
        var e = f.Bucket("test/outer/deep").EntryInParent!.Value;
        var bytes = f.Clone();
        BoltBytes.U64(bytes, e.ValueOffset, 1);
        Corrupt.Expect(f, bytes, [InvalidBucketRoot, MultipleReferences, InvalidPageType]);
    }

    [Test]
    public void Bucket_root_on_page_2_owned_by_another_bucket_is_MultipleReferences()
    {
        var f = F();
        Assert.That(f.Page(2).BucketPath, Is.EqualTo("test/outer/deep"), "fixture: page 2 is a leaf of test/outer/deep");
        var bytes = f.Clone();
        var key = f.Bucket("key").EntryInParent!.Value;
        BoltBytes.U64(bytes, key.ValueOffset, 2);
        Corrupt.Expect(f, bytes, [MultipleReferences, TopLevelNotBucket, InvalidRevisionKey], 2, checkOffset: false, alsoPages: [(long)key.PageId]);
    }

    [Test]
    public void Bucket_root_on_a_free_page_is_rejected([Values] FreelistMode freelist)
    {
        var f = F(freelist);
        var e = f.Bucket("test/outer/deep").EntryInParent!.Value;
        var free = f.FreePageIds[0];
        var bytes = f.Clone();
        BoltBytes.U64(bytes, e.ValueOffset, free);
        BoltBytes.U64(bytes, f.PageOffset(free), 0); // make sure its stale header does not look valid
        Corrupt.Expect(f, bytes, [ReachableFreed, PageIdMismatch, InvalidPageType]);
    }

    [Test]
    public void Page_bucket_turned_inline_with_only_a_header_is_InvalidInlineBucket()
    {
        var f = F();
        var e = f.Bucket("test/outer/deep").EntryInParent!.Value;
        var bytes = f.Clone();
        BoltBytes.U64(bytes, e.ValueOffset, 0); // root 0 = inline, but the value is only the 16-byte header
        Corrupt.Expect(f, bytes, [InvalidInlineBucket], e.PageId);
    }

    // ---- inline buckets --------------------------------------------------------------------------------------

    private static (BoltFile F, BoltBucketLayout Inl, BoltElementRef Entry) Inline()
    {
        var f = F();
        var inl = f.Bucket("test/inl");
        return (f, inl, inl.EntryInParent!.Value);
    }

    [TestCase(20u)]
    [TestCase(16u)]
    [TestCase(31u)]
    public void Inline_value_shorter_than_header_and_page_header_is_InvalidInlineBucket(uint vsize)
    {
        var (f, _, entry) = Inline();
        var bytes = f.Clone();
        BoltBytes.U32(bytes, entry.ValueSizeOffset, vsize);
        Corrupt.Expect(f, bytes, [InvalidInlineBucket], entry.PageId);
    }

    [TestCase(0x01)]
    [TestCase(0x00)]
    [TestCase(0x12)]
    [TestCase(0x04)]
    public void Inline_page_that_is_not_a_leaf_is_InvalidInlineBucket(int flags)
    {
        var (f, inl, entry) = Inline();
        var bytes = f.Clone();
        BoltBytes.U16(bytes, inl.InlinePageOffset + 8, (ushort)flags);
        Corrupt.Expect(f, bytes, [InvalidInlineBucket], entry.PageId);
    }

    [TestCase(4)]
    [TestCase(50)]
    [TestCase(0xFFFF)]
    public void Inline_count_past_the_value_is_InvalidInlineBucket(int count)
    {
        var (f, inl, entry) = Inline();
        var bytes = f.Clone();
        BoltBytes.U16(bytes, inl.InlinePageOffset + 10, (ushort)count);
        Corrupt.Expect(f, bytes, [InvalidInlineBucket, ElementArrayOutOfPage, ElementOutOfPage], entry.PageId);
    }

    [TestCase(200u)]
    [TestCase(0xFFFFFFF0u)]
    [TestCase(0u)]
    public void Inline_element_position_outside_the_value_is_InvalidInlineBucket(uint pos)
    {
        var (f, _, entry) = Inline();
        var e = f.InlineElement("test/inl", 1);
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.PosOffset, pos);
        Corrupt.Expect(f, bytes, [InvalidInlineBucket, ElementOutOfPage], entry.PageId);
    }

    [Test]
    public void Inline_value_running_past_the_bucket_value_is_InvalidInlineBucket()
    {
        // The last inline value would still be inside the host page, but not inside the bucket's value.
        var (f, _, entry) = Inline();
        var e = f.InlineElement("test/inl", 2);
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.ValueSizeOffset, (uint)e.ValueLength + 6);
        Corrupt.Expect(f, bytes, [InvalidInlineBucket, ElementOutOfPage], entry.PageId);
    }

    [Test]
    public void Sub_bucket_inside_an_inline_bucket_is_InvalidInlineBucket()
    {
        var (f, _, entry) = Inline();
        var e = f.InlineElement("test/inl", 0);
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.ElementOffset, BoltBytes.BucketLeafFlag);
        Corrupt.Expect(f, bytes, [InvalidInlineBucket], entry.PageId);
    }

    [Test]
    public void Inline_element_with_unknown_flags_is_rejected()
    {
        var (f, _, entry) = Inline();
        var e = f.InlineElement("test/inl", 1);
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.ElementOffset, 0x02);
        Corrupt.Expect(f, bytes, [InvalidElementFlags, InvalidInlineBucket], entry.PageId);
    }

    [Test]
    public void Inline_keys_out_of_order_are_rejected()
    {
        var (f, _, entry) = Inline();
        var bytes = f.Clone();
        Corrupt.SwapKeys(bytes, f.InlineElement("test/inl", 0), f.InlineElement("test/inl", 1));
        Corrupt.Expect(f, bytes, [KeyOrder, InvalidInlineBucket], entry.PageId);
    }

    [Test]
    public void Empty_key_in_an_inline_bucket_is_rejected()
    {
        var (f, _, entry) = Inline();
        var e = f.InlineElement("test/inl", 1);
        var bytes = f.Clone();
        BoltBytes.U32(bytes, e.KeySizeOffset, 0);
        Corrupt.Expect(f, bytes, [EmptyKey, InvalidInlineBucket], entry.PageId);
    }

    [Test]
    public void Top_level_inline_bucket_damage_is_found_too()
    {
        // etcd's own inline buckets (cluster: one key) – the ones a fresh etcd has.
        var f = F();
        var cluster = f.Bucket("cluster");
        Assert.That(cluster.IsInline, Is.True);
        var bytes = f.Clone();
        BoltBytes.U16(bytes, cluster.InlinePageOffset + 8, BoltBytes.BranchFlag);
        Corrupt.Expect(f, bytes, [InvalidInlineBucket], cluster.EntryInParent!.Value.PageId);
    }

    // ---- etcd level ------------------------------------------------------------------------------------------

    [Test]
    public void Top_level_plain_value_is_TopLevelNotBucket()
    {
        var b = new BoltFileBuilder();
        b.AddEtcdBuckets();
        b.Root.Put("zzz", "not a bucket");
        var f = b.Build();
        Assert.That(f.Status, Is.Null, "etcdctl: cannot get hash of bucket zzz");
        Corrupt.Expect(f, f.Clone(), [TopLevelNotBucket], f.RootPageId);
    }

    [TestCase(16)]
    [TestCase(8)]
    [TestCase(19)]
    public void Key_bucket_key_of_the_wrong_length_is_InvalidRevisionKey(int length)
    {
        // etcdctl 3.4 panics on keys shorter than 17 bytes; 3.6 rejects any length but 17 and 18.
        var b = new BoltFileBuilder();
        b.AddEtcdBuckets();
        var key = new byte[length];
        key[0] = 0x7F; // sorts last
        b.Bucket("key").Put(key, EtcdData.KeyValue("k"u8.ToArray(), 1, 1, 1, [1]));
        var f = b.Build();
        Corrupt.Expect(f, f.Clone(), [InvalidRevisionKey]);
    }

    [Test]
    public void Key_bucket_key_with_a_bad_separator_is_reported_if_anything_as_InvalidRevisionKey()
    {
        // 3.4 ignores the separator, 3.6 rejects it: either choice is defensible, a different code is not.
        var b = new BoltFileBuilder();
        b.AddEtcdBuckets();
        var key = EtcdData.RevisionKey(1000, 0);
        key[8] = (byte)'-';
        b.Bucket("key").Put(key, EtcdData.KeyValue("k"u8.ToArray(), 1000, 1000, 1, [1]));
        var f = b.Build();
        var v = CheckerAssert.Verify(f.Bytes, skipHashCheck: true);
        Assert.That(v.Problems.Where(p => p.Code != InvalidRevisionKey), Is.Empty, () => CheckerAssert.Dump(v));
    }

    [Test]
    public void Key_bucket_value_that_is_not_a_KeyValue_is_reported()
    {
        var b = new BoltFileBuilder();
        b.AddEtcdBuckets();
        b.Bucket("key").Put(EtcdData.RevisionKey(1000, 0), [0xFF, 0xFF, 0xFF]);
        var f = b.Build();
        var v = CheckerAssert.Check(f.Bytes, skipHashCheck: true).Verification!;
        Assert.That(v.Problems.Where(p => p.Code == InvalidKeyValue), Is.Not.Empty, () => CheckerAssert.Dump(v));
    }
}
