using Talos.Recovery.Snapshots;
using Talos.Recovery.Tests.Bolt.Support;
using static Talos.Recovery.Bolt.BoltProblemCode;

namespace Talos.Recovery.Tests.Bolt;

/// <summary>Truncation, the data-dir tail and the SHA-256 trailer (spec §1.1, §1.6, §4.2).</summary>
[TestFixture]
public sealed class FileCorruptionTests
{
    // ---- truncation ------------------------------------------------------------------------------------------

    [Test]
    public void File_cut_in_the_middle_of_a_page_is_FileTruncated()
    {
        var f = BoltFixtures.Workhorse();
        var length = (int)f.DatabaseLength - (f.PageSize * 3) - 1000;
        var v = CheckerAssert.Rejected(f.Bytes.AsMemory(0, length), skipHashCheck: true, [FileTruncated]);
        Assert.That(v.FormatError, Is.Null, "a truncated file with valid metas is reported, not thrown");
    }

    [TestCase(1)]
    [TestCase(5)]
    public void File_cut_at_a_page_boundary_is_FileTruncated(int pages)
    {
        var f = BoltFixtures.Workhorse();
        var length = (int)f.DatabaseLength - (f.PageSize * pages);
        CheckerAssert.Rejected(f.Bytes.AsMemory(0, length), skipHashCheck: true, [FileTruncated]);
        CheckerAssert.GetStatusThrows(f.Bytes.AsMemory(0, length), FileTruncated);
    }

    [Test]
    public void Every_truncation_point_of_a_small_file_is_rejected_without_reading_past_the_end()
    {
        // Every length from 0 to the full size (step 97 bytes + every page boundary ± 1).
        var f = BoltFixtures.EtcdSmall(freelist: FreelistMode.Synced);
        var lengths = new SortedSet<int>();
        for (var n = 0; n < f.Bytes.Length; n += 97)
        {
            lengths.Add(n);
        }

        for (var page = 1; page <= (int)f.Pgid; page++)
        {
            lengths.Add((page * f.PageSize) - 1);
            lengths.Add(page * f.PageSize);
            lengths.Add(Math.Min(f.Bytes.Length, (page * f.PageSize) + 1));
        }

        lengths.Remove(f.Bytes.Length);
        foreach (var length in lengths)
        {
            var outcome = CheckerAssert.Check(f.Bytes.AsMemory(0, length), skipHashCheck: true);
            Assert.That(outcome.Rejected, Is.True, () => $"length {length}: {outcome}");
        }
    }

    [Test]
    public void Truncated_file_on_disk_is_reported_without_faulting()
    {
        // Through the memory map: bbolt dies with SIGBUS here (spec §1.6); the checker must not touch the bytes.
        var f = BoltFixtures.Workhorse();
        var path = Path.Combine(Path.GetTempPath(), $"truncated-{Guid.NewGuid():N}.db");
        try
        {
            File.WriteAllBytes(path, f.Bytes.AsSpan(0, (int)f.DatabaseLength - f.PageSize - 123).ToArray());
            using var file = SnapshotFile.Open(path);
            var v = file.Verify(new SnapshotVerifyOptions { SkipHashCheck = true });
            CheckerAssert.HasError(v, [FileTruncated]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Streamed_snapshot_cut_by_a_page_looks_like_it_has_a_trailer_and_fails_it()
    {
        // (pgid − 1) × P + 32 bytes: size % 512 == 32 still holds, so the last 32 bytes are taken as the trailer.
        var f = BoltFixtures.Workhorse(trailer: true);
        var cut = f.Bytes.AsMemory(0, f.Bytes.Length - f.PageSize);
        var v = CheckerAssert.Verify(cut);
        CheckerAssert.HasError(v, [FileTruncated]);
        CheckerAssert.HasError(v, [TrailerMismatch]);
        Assert.That(v.Trailer, Is.EqualTo(SnapshotTrailerState.Mismatch));
    }

    [Test]
    public void Streamed_snapshot_cut_anywhere_else_has_no_trailer()
    {
        var f = BoltFixtures.Workhorse(trailer: true);
        var cut = f.Bytes.AsMemory(0, f.Bytes.Length - 1000);
        var v = CheckerAssert.Verify(cut);
        CheckerAssert.HasError(v, [TrailerMissing]);
        CheckerAssert.HasError(v, [FileTruncated]);
        Assert.That(v.Trailer, Is.EqualTo(SnapshotTrailerState.Absent));
    }

    // ---- trailer ---------------------------------------------------------------------------------------------

    [Test]
    public void Valid_trailer_is_Verified()
    {
        var f = BoltFixtures.Workhorse(trailer: true);
        var v = CheckerAssert.Clean(f.Bytes, f.Status);
        Assert.Multiple(() =>
        {
            Assert.That(v.Trailer, Is.EqualTo(SnapshotTrailerState.Verified));
            Assert.That(v.DatabaseLength, Is.EqualTo(f.DatabaseLength));
            Assert.That(v.ExpectedSha256!.Value.ToArray(), Is.EqualTo(f.Bytes[^32..]));
            Assert.That(v.ActualSha256!.Value.ToArray(), Is.EqualTo(f.Bytes[^32..]));
        });
    }

    [TestCase(0)]
    [TestCase(31)]
    public void Damaged_trailer_is_TrailerMismatch_and_status_still_works(int index)
    {
        var f = BoltFixtures.Workhorse(trailer: true);
        var bytes = f.Clone();
        bytes[bytes.Length - 32 + index] ^= 0x01;
        var v = CheckerAssert.Verify(bytes);
        CheckerAssert.HasError(v, [TrailerMismatch]);
        Assert.That(v.Trailer, Is.EqualTo(SnapshotTrailerState.Mismatch));
        Assert.That(v.Problems.Where(p => p.Code != TrailerMismatch && p.Severity == Talos.Recovery.Bolt.BoltProblemSeverity.Error), Is.Empty, () => CheckerAssert.Dump(v));

        // etcdctl snapshot status never reads the trailer; GetStatus behaves the same.
        using var file = SnapshotFile.FromMemory(bytes);
        CheckerAssert.AssertStatus(file.GetStatus(), f.Status!);
    }

    [Test]
    public void Byte_changed_in_a_free_page_of_a_streamed_snapshot_is_TrailerMismatch_only()
    {
        var f = BoltFixtures.Workhorse(trailer: true);
        var bytes = f.Clone();
        bytes[f.PageOffset(f.FreePageIds[0]) + 100] ^= 0x40;
        var v = CheckerAssert.Verify(bytes);
        CheckerAssert.HasError(v, [TrailerMismatch]);
        Assert.That(v.Problems.Where(p => p.Code != TrailerMismatch), Is.Empty, () => CheckerAssert.Dump(v));
    }

    [Test]
    public void Value_byte_changed_in_a_streamed_snapshot_is_TrailerMismatch()
    {
        var f = BoltFixtures.Workhorse(trailer: true);
        var e = f.Find("cluster", "clusterVersion");
        var bytes = f.Clone();
        bytes[e.ValueOffset] ^= 0x01;
        var v = CheckerAssert.Verify(bytes);
        CheckerAssert.HasError(v, [TrailerMismatch]);
    }

    [Test]
    public void Missing_trailer_is_TrailerMissing_unless_skipped()
    {
        var f = BoltFixtures.Workhorse();
        var v = CheckerAssert.Verify(f.Bytes);
        CheckerAssert.HasError(v, [TrailerMissing]);
        Assert.That(v.Trailer, Is.EqualTo(SnapshotTrailerState.Absent));
        Assert.That(v.Problems.Where(p => p.Code != TrailerMissing), Is.Empty, () => CheckerAssert.Dump(v));

        var skipped = CheckerAssert.Clean(f.Bytes, f.Status, skipHashCheck: true);
        Assert.That(skipped.Trailer, Is.EqualTo(SnapshotTrailerState.Absent));
    }

    [Test]
    public void Present_trailer_with_the_check_skipped_is_NotChecked()
    {
        var f = BoltFixtures.Workhorse(trailer: true);
        var bytes = f.Clone();
        bytes[^1] ^= 0xFF;
        var v = CheckerAssert.Clean(bytes, f.Status, skipHashCheck: true);
        Assert.That(v.Trailer, Is.EqualTo(SnapshotTrailerState.NotChecked));
        Assert.That(v.DatabaseLength, Is.EqualTo(f.DatabaseLength), "the trailer is still cut off");
    }

    [Test]
    public void Trailer_over_a_database_part_longer_than_the_high_water_mark_is_TrailerLengthMismatch()
    {
        // A data-dir copy (grown by 512 bytes) with a correct SHA-256 appended: not what a stream produces.
        var b = new BoltFileBuilder { Trailer = true, TailLength = 512 };
        b.AddEtcdBuckets();
        var f = b.Build();
        var v = CheckerAssert.Verify(f.Bytes);
        Assert.That(v.Trailer, Is.EqualTo(SnapshotTrailerState.Verified), "the digest itself matches");
        CheckerAssert.HasError(v, [TrailerLengthMismatch]);
    }

    [Test]
    public void Data_dir_copy_with_a_tail_is_valid_without_a_trailer()
    {
        var b = new BoltFileBuilder { TailLength = 3 * 4096 };
        b.AddEtcdBuckets(new EtcdShape { Revisions = 100 });
        var f = b.Build();
        CheckerAssert.Clean(f.Bytes, f.Status, skipHashCheck: true);
    }

    [Test]
    public void Data_dir_copy_whose_length_happens_to_look_like_a_trailer_is_a_mismatch()
    {
        // pgid × P + 32 bytes of tail: by etcd's rule the last 32 bytes are a trailer, and they do not match.
        var b = new BoltFileBuilder { TailLength = 32 };
        b.AddEtcdBuckets();
        var f = b.Build();
        var v = CheckerAssert.Verify(f.Bytes);
        CheckerAssert.HasError(v, [TrailerMismatch]);
    }

    [Test]
    public void Shorter_than_a_trailer_is_not_a_trailer()
    {
        Assert.That(SnapshotFile.HasTrailerByLength(32), Is.True);
        Assert.That(SnapshotFile.HasTrailerByLength(31), Is.False);
        Assert.That(SnapshotFile.HasTrailerByLength(512 + 32), Is.True);
        Assert.That(SnapshotFile.HasTrailerByLength(4096), Is.False);
    }
}
