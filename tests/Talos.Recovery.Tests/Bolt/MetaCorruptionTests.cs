using Talos.Recovery.Bolt;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Tests.Bolt.Support;
using static Talos.Recovery.Bolt.BoltProblemCode;

namespace Talos.Recovery.Tests.Bolt;

/// <summary>Damage to the file as a whole and to the meta pages (spec §1.4–1.6): what makes a file unreadable.</summary>
[TestFixture]
public sealed class MetaCorruptionTests
{
    public enum MetaField
    {
        Magic,
        Version,
        Checksum,
    }

    private static BoltFile Base() => BoltFixtures.Workhorse();

    private static void Break(byte[] bytes, int pageSize, int meta, MetaField field)
    {
        switch (field)
        {
            case MetaField.Magic:
                BoltBytes.RewriteMeta(bytes, pageSize, meta, m => m with { Magic = 0xDEADBEEF });
                break;
            case MetaField.Version:
                BoltBytes.RewriteMeta(bytes, pageSize, meta, m => m with { Version = 3 });
                break;
            default:
                BoltBytes.RewriteMeta(bytes, pageSize, meta, m => m with { Checksum = m.Checksum ^ 0x100 }, recomputeChecksum: false);
                break;
        }
    }

    private static BoltProblemCode CodeOf(MetaField field) => field switch
    {
        MetaField.Magic => MetaInvalidMagic,
        MetaField.Version => MetaVersionMismatch,
        _ => MetaChecksumMismatch,
    };

    [Test]
    public void Empty_memory_is_EmptyFile()
    {
        CheckerAssert.FormatError(Array.Empty<byte>(), EmptyFile);
    }

    [Test]
    public void Empty_file_on_disk_is_EmptyFile()
    {
        var path = Path.GetTempFileName();
        try
        {
            var ex = Assert.Throws<SnapshotFormatException>(() =>
            {
                using var file = SnapshotFile.Open(path);
                file.Verify();
            });
            Assert.That(ex!.Code, Is.EqualTo(EmptyFile));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase(1)]
    [TestCase(79)]
    [TestCase(100)]
    [TestCase(4096)]
    [TestCase(4096 + 2048)]
    [TestCase(8191)]
    public void File_shorter_than_two_pages_is_FileTooSmall(int length)
    {
        var f = Base();
        CheckerAssert.FormatError(f.Bytes.AsMemory(0, length), FileTooSmall);
    }

    [Test]
    public void File_of_exactly_two_pages_is_not_too_small_but_is_truncated()
    {
        var f = Base();
        CheckerAssert.Rejected(f.Bytes.AsMemory(0, 2 * f.PageSize), skipHashCheck: true, [FileTruncated]);
    }

    [Test]
    public void Sixteen_kib_pages_need_32_kib()
    {
        var f = BoltFixtures.EtcdSmall(pageSize: 16384);
        CheckerAssert.FormatError(f.Bytes.AsMemory(0, (2 * 16384) - 1), FileTooSmall);
    }

    [Test]
    public void One_invalid_meta_is_a_warning_and_the_other_is_used([Values(0, 1)] int meta, [Values] MetaField field)
    {
        var f = Base();
        var bytes = f.Clone();
        Break(bytes, f.PageSize, meta, field);
        var v = CheckerAssert.Clean(bytes, f.Status, skipHashCheck: true);
        Assert.That(
            v.Problems.Where(p => p.Severity == BoltProblemSeverity.Warning && p.PageId == meta && (p.Code == MetaOneInvalid || p.Code == CodeOf(field))),
            Is.Not.Empty,
            () => CheckerAssert.Dump(v));
    }

    [Test]
    public void One_invalid_meta_in_a_streamed_snapshot_still_fails_the_trailer([Values(0, 1)] int meta)
    {
        var f = BoltFixtures.Workhorse(trailer: true);
        var bytes = f.Clone();
        Break(bytes, f.PageSize, meta, MetaField.Checksum);
        var v = CheckerAssert.Verify(bytes);
        CheckerAssert.HasError(v, [TrailerMismatch]);
    }

    [Test]
    public void Both_metas_invalid_is_fatal_with_the_bbolt_error([Values] MetaField field)
    {
        var f = Base();
        var bytes = f.Clone();
        Break(bytes, f.PageSize, 0, field);
        Break(bytes, f.PageSize, 1, field);
        CheckerAssert.FormatError(bytes, CodeOf(field));
        CheckerAssert.GetStatusThrows(bytes, CodeOf(field));
    }

    [Test]
    public void Both_metas_invalid_for_different_reasons_is_fatal()
    {
        var f = Base();
        var bytes = f.Clone();
        Break(bytes, f.PageSize, 0, MetaField.Magic);
        Break(bytes, f.PageSize, 1, MetaField.Checksum);
        CheckerAssert.FormatError(bytes, MetaInvalidMagic, MetaChecksumMismatch);
    }

    [Test]
    public void Bbolt_1_3_6_checksum_zero_is_not_accepted()
    {
        // bbolt ≥ 1.3.7 requires an exact checksum; 1.3.6 accepted 0. The checker follows ≥ 1.3.7.
        var f = Base();
        var bytes = f.Clone();
        BoltBytes.RewriteMeta(bytes, f.PageSize, 0, m => m with { Checksum = 0 }, recomputeChecksum: false);
        BoltBytes.RewriteMeta(bytes, f.PageSize, 1, m => m with { Checksum = 0 }, recomputeChecksum: false);
        CheckerAssert.FormatError(bytes, MetaChecksumMismatch);
    }

    [TestCase(0u)]
    [TestCase(3u)]
    [TestCase(256u)]
    [TestCase(4000u)]
    [TestCase(4097u)]
    [TestCase(1u << 30)]
    [TestCase(uint.MaxValue)]
    public void Invalid_page_size_in_both_metas_is_MetaInvalidPageSize(uint pageSize)
    {
        var f = Base();
        var bytes = f.Clone();
        BoltBytes.RewriteBothMetas(bytes, f.PageSize, m => m with { PageSize = pageSize });
        CheckerAssert.Rejected(bytes, skipHashCheck: true, [MetaInvalidPageSize]);
    }

    [TestCase(8192u)]
    [TestCase(2048u)]
    [TestCase(512u)]
    public void Wrong_but_plausible_page_size_in_both_metas_is_rejected(uint pageSize)
    {
        var f = Base();
        var bytes = f.Clone();
        BoltBytes.RewriteBothMetas(bytes, f.PageSize, m => m with { PageSize = pageSize });
        CheckerAssert.Rejected(bytes, skipHashCheck: true, []);
    }

    [TestCase(8192u)]
    [TestCase(4000u)]
    [TestCase(2048u)]
    public void Page_size_of_the_newer_meta_disagreeing_with_the_other_is_an_error(uint pageSize)
    {
        // bbolt takes P from a checksum-valid meta 0 and then reads the file with it: etcd cannot read this file,
        // so it must not pass as valid (MetaDisagreement per its documentation, or the damage reading it causes).
        var f = Base();
        var bytes = f.Clone();
        BoltBytes.RewriteMeta(bytes, f.PageSize, 0, m => m with { PageSize = pageSize });
        CheckerAssert.Rejected(bytes, skipHashCheck: true, []);
    }

    [TestCase(8192u)]
    [TestCase(2048u)]
    public void Page_size_of_the_older_meta_disagreeing_is_reported(uint pageSize)
    {
        // bbolt uses meta 0 (higher txid) and never looks at meta 1's page size: readable, but reported.
        var f = Base();
        var bytes = f.Clone();
        BoltBytes.RewriteMeta(bytes, f.PageSize, 1, m => m with { PageSize = pageSize });
        var v = CheckerAssert.Check(bytes, skipHashCheck: true).Verification!;
        Assert.That(v.Problems.Where(p => p.PageId == 1 && p.Code is MetaDisagreement or MetaInvalidPageSize or MetaOneInvalid), Is.Not.Empty, () => CheckerAssert.Dump(v));
    }

    [Test]
    public void Page_size_disagreement_in_a_streamed_snapshot_is_an_error()
    {
        var f = BoltFixtures.Workhorse(trailer: true);
        var bytes = f.Clone();
        BoltBytes.RewriteMeta(bytes, f.PageSize, 1, m => m with { PageSize = 8192 });
        BoltBytes.RefreshTrailer(bytes);
        CheckerAssert.Rejected(bytes, skipHashCheck: false, [MetaDisagreement, MetaInvalidPageSize], [1]);
    }

    [TestCase(0UL)]
    [TestCase(1UL)]
    public void High_water_mark_below_two_is_rejected(ulong pgid)
    {
        var f = Base();
        var bytes = f.Clone();
        BoltBytes.RewriteBothMetas(bytes, f.PageSize, m => m with { Pgid = pgid });
        CheckerAssert.Rejected(bytes, skipHashCheck: true, [MetaInvalidHighWaterMark, MetaRootOutOfRange]);
    }

    [TestCase(1UL << 40)]
    [TestCase(ulong.MaxValue)]
    [TestCase((ulong.MaxValue / 4096) + 1)]
    [TestCase(1UL << 52)]
    public void Absurd_high_water_mark_is_rejected_without_reading_past_the_end(ulong pgid)
    {
        var f = Base();
        var bytes = f.Clone();
        BoltBytes.RewriteBothMetas(bytes, f.PageSize, m => m with { Pgid = pgid });
        var before = GC.GetAllocatedBytesForCurrentThread();
        CheckerAssert.Rejected(bytes, skipHashCheck: true, [FileTruncated, MetaInvalidHighWaterMark]);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(64L << 20), "memory must not scale with the claimed page count");
    }

    [TestCase(1)]
    [TestCase(7)]
    public void High_water_mark_past_the_end_of_the_file_is_FileTruncated(int extra)
    {
        var f = Base();
        var bytes = f.Clone();
        BoltBytes.RewriteBothMetas(bytes, f.PageSize, m => m with { Pgid = m.Pgid + (ulong)extra });
        CheckerAssert.Rejected(bytes, skipHashCheck: true, [FileTruncated]);
    }

    [Test]
    public void High_water_mark_below_the_last_tree_page_puts_pages_out_of_bounds()
    {
        var f = Base();
        var last = f.Leaves("key")[^1];
        var bytes = f.Clone();
        BoltBytes.RewriteBothMetas(bytes, f.PageSize, m => m with { Pgid = last });
        CheckerAssert.Rejected(bytes, skipHashCheck: true, [PageOutOfBounds, OverflowOutOfRange, MetaRootOutOfRange]);
    }

    [TestCase(0UL)]
    [TestCase(1UL)]
    [TestCase(100UL)]
    [TestCase(ulong.MaxValue)]
    public void Root_at_or_past_the_high_water_mark_is_MetaRootOutOfRange(ulong beyond)
    {
        var f = Base();
        var bytes = f.Clone();
        var root = beyond == ulong.MaxValue ? ulong.MaxValue : f.Pgid + beyond;
        BoltBytes.RewriteBothMetas(bytes, f.PageSize, m => m with { Root = root });
        CheckerAssert.Rejected(bytes, skipHashCheck: true, [MetaRootOutOfRange]);
        CheckerAssert.GetStatusThrows(bytes, MetaRootOutOfRange);
    }

    [TestCase(0UL)]
    [TestCase(1UL)]
    public void Root_on_a_meta_page_is_rejected(ulong root)
    {
        var f = Base();
        var bytes = f.Clone();
        BoltBytes.RewriteBothMetas(bytes, f.PageSize, m => m with { Root = root });
        CheckerAssert.Rejected(bytes, skipHashCheck: true, [InvalidPageType, MultipleReferences, InvalidBucketRoot, MetaRootOutOfRange]);
    }

    [Test]
    public void Root_on_a_zeroed_free_page_is_rejected()
    {
        var b = new BoltFileBuilder { FreePageCount = 3, FreePageContent = FreePageContent.Zero };
        b.AddEtcdBuckets();
        var f = b.Build();
        var free = f.FreePageIds[0];
        var bytes = f.Clone();
        BoltBytes.RewriteBothMetas(bytes, f.PageSize, m => m with { Root = free });
        CheckerAssert.Rejected(bytes, skipHashCheck: true, [InvalidPageType, PageIdMismatch], [(long)free]);
    }

    [Test]
    public void Root_on_a_leaf_of_the_key_bucket_makes_top_level_values()
    {
        var f = Base();
        var leaf = f.Leaves("key")[0];
        var bytes = f.Clone();
        BoltBytes.RewriteBothMetas(bytes, f.PageSize, m => m with { Root = leaf });
        CheckerAssert.Rejected(bytes, skipHashCheck: true, [TopLevelNotBucket]);
    }

    [Test]
    public void Freelist_at_or_past_the_high_water_mark_is_MetaFreelistOutOfRange([Values(0UL, 5UL, ulong.MaxValue - 1)] ulong beyond)
    {
        var f = BoltFixtures.Workhorse(FreelistMode.Synced);
        var bytes = f.Clone();
        var freelist = beyond == ulong.MaxValue - 1 ? beyond : f.Pgid + beyond;
        BoltBytes.RewriteBothMetas(bytes, f.PageSize, m => m with { Freelist = freelist });
        CheckerAssert.Rejected(bytes, skipHashCheck: true, [MetaFreelistOutOfRange]);
    }

    [Test]
    public void Streamed_snapshot_metas_disagreeing_on_root_is_MetaDisagreement()
    {
        var f = BoltFixtures.Workhorse(trailer: true);
        var bytes = f.Clone();
        BoltBytes.RewriteMeta(bytes, f.PageSize, 1, m => m with { Root = f.Bucket("key").RootPageId });
        BoltBytes.RefreshTrailer(bytes);
        var v = CheckerAssert.Verify(bytes);
        CheckerAssert.HasError(v, [MetaDisagreement]);
    }

    [Test]
    public void Streamed_snapshot_metas_disagreeing_on_high_water_mark_is_MetaDisagreement()
    {
        var f = BoltFixtures.Workhorse(trailer: true);
        var bytes = f.Clone();
        BoltBytes.RewriteMeta(bytes, f.PageSize, 1, m => m with { Pgid = m.Pgid - 1 });
        BoltBytes.RefreshTrailer(bytes);
        var v = CheckerAssert.Verify(bytes);
        CheckerAssert.HasError(v, [MetaDisagreement]);
    }

    [Test]
    public void Streamed_snapshot_metas_disagreeing_on_freelist_is_MetaDisagreement()
    {
        var f = BoltFixtures.Workhorse(FreelistMode.Synced, trailer: true);
        var bytes = f.Clone();
        BoltBytes.RewriteMeta(bytes, f.PageSize, 1, m => m with { Freelist = BoltBytes.NoFreelist });
        BoltBytes.RefreshTrailer(bytes);
        var v = CheckerAssert.Verify(bytes);
        CheckerAssert.HasError(v, [MetaDisagreement]);
    }

    [TestCase(0, 0x02)]
    [TestCase(1, 0x00)]
    [TestCase(0, 0x14)]
    public void Meta_page_header_with_wrong_flags_is_reported(int meta, int flags)
    {
        var f = Base();
        var bytes = f.Clone();
        BoltBytes.U16(bytes, ((long)meta * f.PageSize) + 8, (ushort)flags);
        AssertMetaHeaderReported(bytes, meta);
    }

    [TestCase(0, 1UL)]
    [TestCase(1, 0UL)]
    [TestCase(1, 77UL)]
    public void Meta_page_header_with_wrong_id_is_reported(int meta, ulong id)
    {
        var f = Base();
        var bytes = f.Clone();
        BoltBytes.U64(bytes, (long)meta * f.PageSize, id);
        AssertMetaHeaderReported(bytes, meta);
    }

    private static void AssertMetaHeaderReported(byte[] bytes, int meta)
    {
        var outcome = CheckerAssert.Check(bytes, skipHashCheck: true);
        if (outcome.FormatError is { } fe)
        {
            Assert.That(fe.Code, Is.EqualTo(MetaInvalidHeader), outcome.ToString);
            return;
        }

        Assert.That(
            outcome.Verification!.Problems.Where(p => p.PageId == meta && (p.Code == MetaInvalidHeader || p.Code == MetaOneInvalid)),
            Is.Not.Empty,
            outcome.ToString);
    }

    [Test]
    public void Both_meta_headers_wrong_is_an_error()
    {
        var f = Base();
        var bytes = f.Clone();
        BoltBytes.U16(bytes, 8, 0x02);
        BoltBytes.U16(bytes, f.PageSize + 8, 0x02);
        CheckerAssert.Rejected(bytes, skipHashCheck: true, [MetaInvalidHeader]);
    }

    [Test]
    public void Big_endian_file_fails_the_magic_check()
    {
        // A file written on s390x: every header integer byte-swapped. Simulate on the metas.
        var f = Base();
        var bytes = f.Clone();
        for (var meta = 0; meta < 2; meta++)
        {
            var at = meta * f.PageSize;
            bytes.AsSpan(at + 16, 4).Reverse();
            bytes.AsSpan(at + 20, 4).Reverse();
        }

        CheckerAssert.FormatError(bytes, MetaInvalidMagic);
    }
}
