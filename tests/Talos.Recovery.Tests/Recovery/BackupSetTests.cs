using System.Text;
using Talos.Recovery.Recovery;
using static Talos.Recovery.Tests.Recovery.RecoveryTestData;

namespace Talos.Recovery.Tests.Recovery;

public class BackupSetTests
{
    [Test]
    public void A_written_set_opens_verified_with_private_modes_and_no_temporary_directory_left()
    {
        var parent = NewDirectory();
        var set = WriteBackup(Path.Combine(parent, "backup"));

        Assert.That(set.Verification.IsValid, Is.True);
        Assert.That(set.Verification.Trailer, Is.EqualTo(global::Talos.Recovery.Snapshots.SnapshotTrailerState.Verified));
        Assert.That(set.HasTrailer, Is.True);
        Assert.That(set.Manifest.Snapshot.Method, Is.EqualTo(BackupSnapshotMethod.EtcdSnapshot));
        Assert.That(Path.GetFileName(set.SnapshotPath), Is.EqualTo("etcd.snapshot"));
        Assert.That(Directory.GetFileSystemEntries(parent), Is.EqualTo(new[] { set.Directory }), "no .tmp directory left beside the set");
        Assert.That(File.ReadAllText(set.MachineConfigPath(NodeName(1))!), Does.Contain("controlplane # 1"));
        Assert.That(set.MachineConfigPath("10.9.9.9"), Is.Null);
        if (!OperatingSystem.IsWindows())
        {
            const UnixFileMode rw = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            Assert.That(File.GetUnixFileMode(set.Directory), Is.EqualTo(rw | UnixFileMode.UserExecute));
            Assert.That(File.GetUnixFileMode(Path.Combine(set.Directory, "machineconfig")), Is.EqualTo(rw | UnixFileMode.UserExecute));
            Assert.That(File.GetUnixFileMode(set.SnapshotPath), Is.EqualTo(rw));
            Assert.That(File.GetUnixFileMode(Path.Combine(set.Directory, "manifest.json")), Is.EqualTo(rw));
            Assert.That(File.GetUnixFileMode(set.MachineConfigPath(NodeName(2))!), Is.EqualTo(rw));
        }
    }

    [Test]
    public void The_manifest_round_trips_everything_recorded()
    {
        var set = WriteBackup(Path.Combine(NewDirectory(), "b"));
        var again = BackupSet.Open(set.Directory);

        var m = again.Manifest;
        Assert.That(m.CreatedAt, Is.EqualTo(Now));
        Assert.That((m.Context, m.Cluster), Is.EqualTo(("admin@test", "test")));
        Assert.That(m.Snapshot with { Status = set.Status }, Is.EqualTo(set.Manifest.Snapshot));
        Assert.That(m.Snapshot.Status, Is.EqualTo(set.Status));
        Assert.That(m.Nodes, Is.EqualTo(set.Manifest.Nodes));
        Assert.That(m.Nodes.Select(n => n.MachineConfigFile), Is.EqualTo(new[] { "machineconfig/10.0.0.1.yaml", "machineconfig/10.0.0.2.yaml", "machineconfig/10.0.0.3.yaml" }));
        var json = File.ReadAllText(Path.Combine(set.Directory, "manifest.json"));
        Assert.That(json, Does.Contain("\"method\": \"etcdSnapshot\"").And.Contain("\"trailer\": true").And.Contain($"\"sha256\": \"{set.Manifest.Snapshot.Sha256}\""));
    }

    [Test]
    public void A_raw_copy_without_trailer_is_accepted_as_such()
    {
        var set = WriteBackup(Path.Combine(NewDirectory(), "raw"), rawCopy: true);

        Assert.That(set.HasTrailer, Is.False);
        Assert.That(Path.GetFileName(set.SnapshotPath), Is.EqualTo("etcd.raw.db"));
        Assert.That(set.Verification.Trailer, Is.EqualTo(global::Talos.Recovery.Snapshots.SnapshotTrailerState.Absent));
    }

    [Test]
    public void A_flipped_byte_in_the_snapshot_is_refused()
    {
        var set = WriteBackup(Path.Combine(NewDirectory(), "b"));
        var bytes = File.ReadAllBytes(set.SnapshotPath);
        bytes[^40] ^= 0x01; // the database's last page, before the trailer
        File.WriteAllBytes(set.SnapshotPath, bytes);

        var e = Assert.Throws<BackupSetException>(() => BackupSet.Open(set.Directory));
        Assert.That(e!.Directory, Is.EqualTo(set.Directory));
        Assert.That(e.Message, Does.Contain("etcd.snapshot"));
    }

    [Test]
    public void A_snapshot_replaced_by_another_valid_one_is_refused_by_its_digest()
    {
        var a = WriteBackup(Path.Combine(NewDirectory(), "a"));
        var b = WriteBackup(Path.Combine(NewDirectory(), "b"), rawCopy: true);
        File.Copy(b.SnapshotPath, Path.Combine(a.Directory, "etcd.snapshot"), overwrite: true);

        Assert.That(() => BackupSet.Open(a.Directory), Throws.TypeOf<BackupSetException>().With.Message.Contains("bytes").Or.Message.Contains("trailer"));
    }

    [Test]
    public void A_manifest_that_lies_about_the_digest_is_refused()
    {
        var set = WriteBackup(Path.Combine(NewDirectory(), "b"));
        var manifest = Path.Combine(set.Directory, "manifest.json");
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace(set.Manifest.Snapshot.Sha256, new string('0', 64), StringComparison.Ordinal));

        Assert.That(() => BackupSet.Open(set.Directory), Throws.TypeOf<BackupSetException>().With.Message.Contains("was changed or replaced"));
    }

    [Test]
    public void A_changed_machine_configuration_is_refused()
    {
        var set = WriteBackup(Path.Combine(NewDirectory(), "b"));
        File.AppendAllText(set.MachineConfigPath(NodeName(2))!, "# edited\n");

        Assert.That(() => BackupSet.Open(set.Directory), Throws.TypeOf<BackupSetException>().With.Message.Contains("machineconfig/10.0.0.2.yaml"));
    }

    [Test]
    public void A_directory_without_manifest_or_with_a_broken_one_is_not_a_backup_set()
    {
        var empty = NewDirectory();
        Assert.That(() => BackupSet.Open(empty), Throws.TypeOf<BackupSetException>().With.Message.Contains("no manifest.json"));

        File.WriteAllText(Path.Combine(empty, "manifest.json"), "{\"formatVersion\": 2}");
        Assert.That(() => BackupSet.Open(empty), Throws.TypeOf<BackupSetException>().With.Message.Contains("formatVersion 2"));

        File.WriteAllText(Path.Combine(empty, "manifest.json"), "{\"formatVersion\": 1, \"createdAt\": \"2026-11-28T12:00:00Z\"}");
        Assert.That(() => BackupSet.Open(empty), Throws.TypeOf<BackupSetException>().With.Message.Contains("snapshot: missing"));

        Assert.That(() => BackupSet.Open(Path.Combine(empty, "nope")), Throws.TypeOf<BackupSetException>().With.Message.Contains("does not exist"));
    }

    [Test]
    public void A_machine_configuration_path_that_leaves_the_set_is_refused()
    {
        var set = WriteBackup(Path.Combine(NewDirectory(), "b"));
        var manifest = Path.Combine(set.Directory, "manifest.json");
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("machineconfig/10.0.0.1.yaml", "../../etc/passwd", StringComparison.Ordinal));

        Assert.That(() => BackupSet.Open(set.Directory), Throws.TypeOf<BackupSetException>().With.Message.Contains("leaves the backup set"));
    }

    [Test]
    public void The_writer_refuses_an_existing_destination_and_cleans_up_when_not_committed()
    {
        var parent = NewDirectory();
        var existing = Path.Combine(parent, "existing");
        Directory.CreateDirectory(existing);
        File.WriteAllText(Path.Combine(existing, "x"), "x");
        Assert.Throws<IOException>(() => BackupSetWriter.Create(existing));

        string temporary;
        using (var writer = BackupSetWriter.Create(Path.Combine(parent, "abandoned")))
        {
            temporary = writer.TemporaryDirectory;
            writer.AddNode(NodeName(1), null, null, null, "config");
            Assert.That(Directory.Exists(temporary), Is.True);
        }

        Assert.That(Directory.Exists(temporary), Is.False);
        Assert.That(Directory.Exists(Path.Combine(parent, "abandoned")), Is.False);
    }

    [TestCase("10.0.0.1", "10.0.0.1")]
    [TestCase("[fd00::1]:50000", "_fd00__1__50000")]
    [TestCase("../x", "_x")]
    [TestCase("..", "node")]
    public void Node_names_become_safe_file_names(string node, string expected)
        => Assert.That(BackupSetWriter.SafeFileName(node), Is.EqualTo(expected));

    [Test]
    public void Machine_configurations_are_stored_byte_for_byte()
    {
        var parent = NewDirectory();
        using var writer = BackupSetWriter.Create(Path.Combine(parent, "b"));
        const string yaml = "version: v1alpha1\n# ünïcode\n---\nkind: HostnameConfig\n";
        var node = writer.AddNode("cp", "cp", null, null, yaml);

        Assert.That(File.ReadAllBytes(Path.Combine(writer.TemporaryDirectory, node.MachineConfigFile!)), Is.EqualTo(Encoding.UTF8.GetBytes(yaml)));
        Assert.That(node.MachineConfigSha256, Has.Length.EqualTo(64));
    }
}
