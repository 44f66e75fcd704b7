using Talos.Recovery.Testing.Etcd;

namespace Talos.Recovery.Tests.Integration.Harness;

/// <summary>The etcdctl wrapper, the lock-free raw copy of a live database, and restore through the harness.</summary>
[TestFixture]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EtcdctlAndCopyTests
{
    private EtcdCluster _etcd = null!;
    private string _work = null!;

    [OneTimeSetUp]
    public async Task StartEtcd()
    {
        EtcdRequirement.Require();
        _etcd = await EtcdCluster.StartAsync();
        await _etcd.Client.PutManyAsync(EtcdTestData.KubernetesLike(300, 200));
        _work = Directory.CreateTempSubdirectory("talos-recovery-etcdctl-tests-").FullName;
    }

    [OneTimeTearDown]
    public async Task StopEtcd()
    {
        if (_etcd is not null)
        {
            await _etcd.DisposeAsync();
        }

        if (_work is not null)
        {
            Directory.Delete(_work, recursive: true);
        }
    }

    [Test]
    public async Task Snapshot_save_writes_a_file_with_a_sha256_trailer_and_status_parses_its_json()
    {
        var path = Path.Combine(_work, "saved.db");

        var save = await _etcd.Etcdctl.SnapshotSaveAsync(path);
        var status = await _etcd.Etcdctl.SnapshotStatusJsonAsync(path);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(save.Succeeded, Is.True);
            Assert.That(new FileInfo(path).Length % 512, Is.EqualTo(32), "etcd appends a 32-byte SHA-256 to streamed snapshots");
            Assert.That(status.Json, Does.StartWith("{\"hash\":"));
            Assert.That(status.Revision, Is.GreaterThan(1));
            Assert.That(status.TotalKey, Is.GreaterThanOrEqualTo(300));
            Assert.That(status.TotalSize, Is.EqualTo(new FileInfo(path).Length - 32));
            Assert.That(save.Arguments[0], Does.StartWith("--endpoints="));
        }
    }

    [Test]
    public async Task A_failing_command_reports_exit_code_and_stderr_and_the_checked_form_throws()
    {
        var missing = Path.Combine(_work, "missing.db");

        var result = await _etcd.Etcdctl.RunAsync(["snapshot", "status", missing]);
        var ex = Assert.ThrowsAsync<EtcdctlException>(() => _etcd.Etcdctl.SnapshotStatusJsonAsync(missing));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Succeeded, Is.False);
            Assert.That(result.ExitCode, Is.EqualTo(1));
            Assert.That(result.StandardError, Does.Contain("no such file or directory"));
            Assert.That(ex!.Result.ExitCode, Is.EqualTo(1));
        }
    }

    [Test]
    public void DotNet_file_apis_cannot_read_a_live_database_because_they_take_a_shared_flock()
    {
        // The finding behind UnlockedFile: on Linux every FileShare value makes .NET take flock(LOCK_SH|LOCK_NB),
        // which conflicts with the exclusive flock etcd (bbolt) holds on member/snap/db while it runs.
        var db = _etcd.Members[0].DatabasePath;

        using (Assert.EnterMultipleScope())
        {
            foreach (var share in new[] { FileShare.Read, FileShare.ReadWrite, FileShare.ReadWrite | FileShare.Delete })
            {
                Assert.Throws<IOException>(() => new FileStream(db, FileMode.Open, FileAccess.Read, share).Dispose(), $"FileShare.{share}");
            }

            Assert.Throws<IOException>(() => File.Copy(db, Path.Combine(_work, "copy-attempt.db")));
        }
    }

    [Test]
    public async Task A_live_database_is_copied_without_a_lock_and_etcdctl_reads_the_copy()
    {
        var saved = Path.Combine(_work, "before-copy.db");
        await _etcd.Etcdctl.SnapshotSaveAsync(saved); // forces etcd to commit its pending batch
        var copy = Path.Combine(_work, "live-copy.db");

        var bytes = await _etcd.Members[0].CopyDatabaseAsync(copy);
        var copyStatus = await _etcd.Etcdctl.SnapshotStatusJsonAsync(copy);
        var savedStatus = await _etcd.Etcdctl.SnapshotStatusJsonAsync(saved);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(_etcd.Members[0].IsRunning, Is.True);
            Assert.That(bytes, Is.EqualTo(new FileInfo(copy).Length));
            Assert.That(bytes % 512, Is.Zero, "a raw bbolt file has no trailer");
            Assert.That(File.GetUnixFileMode(copy), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            Assert.That(copyStatus.Hash, Is.EqualTo(savedStatus.Hash), "an idle member's database holds what the snapshot holds");
            Assert.That(copyStatus.Revision, Is.EqualTo(savedStatus.Revision));
            Assert.That(copyStatus.TotalKey, Is.EqualTo(savedStatus.TotalKey));
        }
    }

    [Test]
    public void UnlockedFile_reports_a_missing_file_as_FileNotFoundException()
    {
        Assert.Throws<FileNotFoundException>(() => UnlockedFile.OpenRead(Path.Combine(_work, "nope")));
    }

    [Test]
    public async Task Etcdctl_snapshot_status_on_a_live_database_blocks_on_the_lock_until_the_timeout()
    {
        var etcdctl = new Etcdctl(_etcd.Binaries.EtcdctlPath) { Timeout = TimeSpan.FromSeconds(2) };

        var result = await etcdctl.RunAsync(["snapshot", "status", _etcd.Members[0].DatabasePath]);

        Assert.That(result.TimedOut, Is.True, "bbolt waits forever for etcd's exclusive flock");
        Assert.That(result.Succeeded, Is.False);
        Assert.That(result.ExitCode, Is.EqualTo(-1));
    }

    [Test]
    public async Task A_cluster_restored_from_a_saved_snapshot_has_the_same_content()
    {
        var saved = Path.Combine(_work, "for-restore.db");
        await _etcd.Etcdctl.SnapshotSaveAsync(saved);
        var expected = await _etcd.Client.ComputeDigestAsync(includeRevisions: true);

        await using var restored = await EtcdCluster.StartAsync(new EtcdClusterOptions { RestoreSnapshotPath = saved });
        var actual = await restored.Client.ComputeDigestAsync(includeRevisions: true);

        Assert.That(actual, Is.EqualTo(expected));
        Assert.That(expected.Keys, Is.GreaterThanOrEqualTo(300));
    }

    [Test]
    public async Task A_three_member_cluster_restored_from_a_raw_copy_with_skip_hash_check_has_the_same_content()
    {
        var saved = Path.Combine(_work, "for-raw-restore.db");
        await _etcd.Etcdctl.SnapshotSaveAsync(saved);
        var raw = Path.Combine(_work, "raw-for-restore.db");
        await _etcd.Members[0].CopyDatabaseAsync(raw);
        var expected = await _etcd.Client.ComputeDigestAsync(includeRevisions: true);

        await using var restored = await EtcdCluster.StartAsync(new EtcdClusterOptions { MemberCount = 3, RestoreSnapshotPath = raw, RestoreSkipHashCheck = true });
        var actual = await restored.CreateClient(2).ComputeDigestAsync(includeRevisions: true);

        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public async Task Restoring_a_raw_copy_without_skip_hash_check_fails_as_etcdctl_does()
    {
        var raw = Path.Combine(_work, "raw-no-skip.db");
        await _etcd.Members[0].CopyDatabaseAsync(raw);

        var ex = Assert.ThrowsAsync<EtcdctlException>(() => EtcdCluster.StartAsync(new EtcdClusterOptions { RestoreSnapshotPath = raw }));

        Assert.That(ex!.Result.StandardError, Does.Contain("snapshot missing hash but --skip-hash-check=false"));
    }
}
