using Talos.Recovery.Bolt;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Testing.Etcd;

namespace Talos.Recovery.Tests.Integration.Snapshots;

/// <summary>
/// The SDK against etcd's own tools on snapshots made by real etcd 3.4: <c>SnapshotFile</c>'s status must equal
/// <c>etcdctl snapshot status</c> on the same file, verification must accept what etcd wrote and flag what it lacks.
/// </summary>
[TestFixture]
public sealed class SnapshotComparisonTests
{
    private static IEnumerable<TestCaseData> AllFiles()
        => SnapshotFixtures.PlannedFiles().Select(f => new TestCaseData(f.Fixture, f.File).SetArgDisplayNames(f.Fixture, f.File));

    private static IEnumerable<TestCaseData> SavedFiles()
        => SnapshotFixtures.PlannedFiles().Where(f => f.Kind == SnapshotFileKind.Saved).Select(f => new TestCaseData(f.Fixture, f.File).SetArgDisplayNames(f.Fixture, f.File));

    private static IEnumerable<TestCaseData> RawFiles()
        => SnapshotFixtures.PlannedFiles().Where(f => f.Kind != SnapshotFileKind.Saved).Select(f => new TestCaseData(f.Fixture, f.File).SetArgDisplayNames(f.Fixture, f.File));

    private static IEnumerable<TestCaseData> Fixtures()
        => SnapshotFixtures.Names.Select(n => new TestCaseData(n).SetArgDisplayNames(n));

    [TestCaseSource(nameof(AllFiles))]
    public async Task Status_equals_etcdctl_snapshot_status(string fixture, string file)
    {
        var f = await SnapshotFixtures.GetFileAsync(fixture, file);
        using var snapshot = SnapshotFile.Open(f.Path);

        var status = snapshot.GetStatus();

        Assert.That(
            (status.Hash, status.Revision, status.TotalKey, status.TotalSize),
            Is.EqualTo((f.Etcdctl.Hash, f.Etcdctl.Revision, f.Etcdctl.TotalKey, f.Etcdctl.TotalSize)),
            $"etcdctl: {f.Etcdctl.Json}");
    }

    [TestCaseSource(nameof(AllFiles))]
    public async Task Live_key_count_and_storage_version_match_what_etcd_served(string fixture, string file)
    {
        var built = await SnapshotFixtures.GetAsync(fixture);
        var f = built.Files.Single(x => x.Name == file);
        using var snapshot = SnapshotFile.Open(f.Path);

        var status = snapshot.GetStatus();

        Assert.That(status.LiveKeyCount, Is.EqualTo(built.Content.Keys), "live keys = keys a range at the latest revision returned");
        Assert.That(status.StorageVersion, Is.Empty, "etcd 3.4 writes no storageVersion");
    }

    [TestCaseSource(nameof(SavedFiles))]
    public async Task Verify_accepts_a_saved_snapshot_and_its_trailer(string fixture, string file)
    {
        var f = await SnapshotFixtures.GetFileAsync(fixture, file);
        using var snapshot = SnapshotFile.Open(f.Path);

        var result = snapshot.Verify();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.IsValid, Is.True, string.Join(Environment.NewLine, result.Problems));
            Assert.That(result.Trailer, Is.EqualTo(SnapshotTrailerState.Verified));
            Assert.That(result.DatabaseLength, Is.EqualTo(f.Etcdctl.TotalSize), "a streamed snapshot is exactly pgid × page size, plus the trailer");
            Assert.That(result.FileLength, Is.EqualTo(f.Etcdctl.TotalSize + SnapshotFile.TrailerLength));
            Assert.That(result.Status?.Hash, Is.EqualTo(f.Etcdctl.Hash));
            Assert.That(result.Status?.Revision, Is.EqualTo(f.Etcdctl.Revision));
        }
    }

    [TestCaseSource(nameof(RawFiles))]
    public async Task Verify_with_SkipHashCheck_accepts_a_raw_copy(string fixture, string file)
    {
        var f = await SnapshotFixtures.GetFileAsync(fixture, file);
        using var snapshot = SnapshotFile.Open(f.Path);

        var result = snapshot.Verify(new SnapshotVerifyOptions { SkipHashCheck = true });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.IsValid, Is.True, string.Join(Environment.NewLine, result.Problems));
            Assert.That(result.Trailer, Is.EqualTo(SnapshotTrailerState.Absent));
            Assert.That(snapshot.HasTrailer, Is.False);
            Assert.That(result.Status?.Hash, Is.EqualTo(f.Etcdctl.Hash));
            Assert.That(result.Status?.TotalSize, Is.EqualTo(f.Etcdctl.TotalSize));
        }
    }

    [TestCaseSource(nameof(RawFiles))]
    public async Task Verify_without_SkipHashCheck_rejects_a_raw_copy_for_its_missing_trailer(string fixture, string file)
    {
        var f = await SnapshotFixtures.GetFileAsync(fixture, file);
        using var snapshot = SnapshotFile.Open(f.Path);

        var result = snapshot.Verify();

        Assert.That(result.IsValid, Is.False);
        Assert.That(result.Problems.Select(p => p.Code), Does.Contain(BoltProblemCode.TrailerMissing));
        Assert.That(result.Problems.Where(p => p.Severity == BoltProblemSeverity.Error).Select(p => p.Code), Is.EquivalentTo(new[] { BoltProblemCode.TrailerMissing }), "the trailer is the only thing wrong");
    }

    [TestCaseSource(nameof(Fixtures))]
    public async Task Inspect_reports_what_the_cluster_held(string fixture)
    {
        var built = await SnapshotFixtures.GetAsync(fixture);
        using var snapshot = SnapshotFile.Open(built.File(SnapshotFileKind.Saved).Path);

        var inspection = snapshot.Inspect();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(inspection.LiveKeys, Is.EqualTo(built.Content.Keys));
            Assert.That(inspection.AuthEnabled, Is.EqualTo(built.Facts.AuthEnabled));
            Assert.That(inspection.Members.Count(m => !m.Removed), Is.EqualTo(built.Facts.Members));
            Assert.That(inspection.Leases, Is.EqualTo(built.Facts.Leases));
            Assert.That(inspection.HasFreelist, Is.False, "Linux etcd never persists the freelist");
            Assert.That(inspection.Buckets.Select(b => b.Name), Is.EqualTo(new[] { "alarm", "auth", "authRoles", "authUsers", "cluster", "key", "lease", "members", "members_removed", "meta" }));
            Assert.That(inspection.ClusterVersion, Is.EqualTo("3.4.0"));
            if (built.Facts.CompactedRevision is { } compacted)
            {
                Assert.That(inspection.FinishedCompactRevision, Is.EqualTo(compacted));
            }
        }
    }
}

/// <summary>
/// Oracle checks on the fixtures themselves, judged by etcd's own tools: etcdctl restores them, the restored cluster
/// serves what the original served, and copies of one state agree. These hold whatever the SDK does.
/// </summary>
[TestFixture]
public sealed class SnapshotFixtureOracleTests
{
    private static IEnumerable<TestCaseData> Fixtures()
        => SnapshotFixtures.Names.Select(n => new TestCaseData(n).SetArgDisplayNames(n));

    [TestCaseSource(nameof(Fixtures))]
    public async Task Etcdctl_restores_the_saved_snapshot_and_the_restored_cluster_serves_the_same_keys(string fixture)
    {
        var built = await SnapshotFixtures.GetAsync(fixture);
        var options = new EtcdClusterOptions { RestoreSnapshotPath = built.File(SnapshotFileKind.Saved).Path, EnableAuth = built.Facts.AuthEnabled };

        await using var restored = await EtcdCluster.StartAsync(options);
        var content = await restored.Client.ComputeDigestAsync(includeRevisions: true);

        Assert.That(content, Is.EqualTo(built.Content));
    }

    [TestCaseSource(nameof(Fixtures))]
    public async Task Etcdctl_restores_the_stopped_raw_copy_only_with_skip_hash_check(string fixture)
    {
        var built = await SnapshotFixtures.GetAsync(fixture);
        var raw = built.File(SnapshotFileKind.RawStopped).Path;
        var etcdctl = new Etcdctl();
        var work = Directory.CreateTempSubdirectory("talos-recovery-restore-").FullName;
        try
        {
            var refused = await etcdctl.RunAsync(["snapshot", "restore", raw, "--data-dir=" + Path.Combine(work, "a")]);
            var accepted = await etcdctl.RunAsync(["snapshot", "restore", raw, "--skip-hash-check=true", "--data-dir=" + Path.Combine(work, "b")]);

            using (Assert.EnterMultipleScope())
            {
                Assert.That(refused.Succeeded, Is.False);
                Assert.That(refused.StandardError, Does.Contain("snapshot missing hash but --skip-hash-check=false"));
                Assert.That(accepted.Succeeded, Is.True, accepted.ToString());
                Assert.That(File.Exists(Path.Combine(work, "b", "member", "snap", "db")), Is.True);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [TestCaseSource(nameof(Fixtures))]
    public async Task Saved_snapshots_and_live_copies_of_one_moment_have_the_same_etcdctl_status(string fixture)
    {
        var built = await SnapshotFixtures.GetAsync(fixture);
        var sameMoment = built.Files.Where(f => f.Kind != SnapshotFileKind.RawStopped).ToList();
        var stopped = built.File(SnapshotFileKind.RawStopped);
        var details = string.Join(Environment.NewLine, built.Files.Select(f => $"{f.Name}: {f.Etcdctl.Json}"));

        var distinct = sameMoment.Select(f => (f.Etcdctl.Hash, f.Etcdctl.Revision, f.Etcdctl.TotalKey)).Distinct().ToList();

        Assert.That(distinct, Has.Count.EqualTo(1), details);

        // The graceful stop may persist a newer consistent_index (part of the hash), but no key changes.
        Assert.That((stopped.Etcdctl.Revision, stopped.Etcdctl.TotalKey), Is.EqualTo((distinct[0].Revision, distinct[0].TotalKey)), details);
    }

    [TestCaseSource(nameof(Fixtures))]
    public async Task Saved_snapshots_carry_a_trailer_and_raw_copies_do_not(string fixture)
    {
        var built = await SnapshotFixtures.GetAsync(fixture);

        using (Assert.EnterMultipleScope())
        {
            foreach (var f in built.Files)
            {
                var length = new FileInfo(f.Path).Length;
                var expected = f.Kind == SnapshotFileKind.Saved ? 32 : 0;
                Assert.That(length % 512, Is.EqualTo(expected), f.Name);
                Assert.That(length, Is.GreaterThanOrEqualTo(f.Etcdctl.TotalSize), f.Name);
            }
        }
    }
}
