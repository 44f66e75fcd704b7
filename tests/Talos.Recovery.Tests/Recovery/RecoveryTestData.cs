using Talos.Recovery.Client;
using Talos.Recovery.Client.Etcd;
using Talos.Recovery.Recovery;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Tests.Bolt.Support;

namespace Talos.Recovery.Tests.Recovery;

/// <summary>Observations of simulated nodes, and backup sets built from the Bolt fixtures, for the pure recovery tests.</summary>
internal static class RecoveryTestData
{
    public static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    public static EtcdMember Member(int i, bool learner = false)
        => new((ulong)(0x1000 + i), $"cp-{i}", [$"https://10.0.0.{i}:2380"], [$"https://10.0.0.{i}:2379"], learner);

    public static string NodeName(int i) => $"10.0.0.{i}";

    /// <summary>A reachable control plane with nothing about etcd yet.</summary>
    public static NodeObservation Base(int i, string version = "v1.11.3", TalosMachineType type = TalosMachineType.ControlPlane)
        => new(NodeName(i))
        {
            ObservedAt = Now,
            Version = new TalosVersionInfo(NodeName(i), version, "abc", "", "go1.24", "linux", "amd64", "metal", true),
            MachineType = type,
            Hostname = $"cp-{i}",
        };

    public static TalosServiceInfo Service(string node, TalosServiceState state, bool healthy = true, params string[] events)
        => new(node, "etcd", state, state.ToString(), new TalosServiceHealth(state != TalosServiceState.Running, healthy && state == TalosServiceState.Running, healthy ? "" : "quorum lost", Now),
            events.Select(e => new TalosServiceEvent(e, state, state.ToString(), Now)).DefaultIfEmpty(new TalosServiceEvent("Running pre state", state, state.ToString(), Now)).ToList());

    public static TalosEtcdMemberStatus Status(int i, ulong leader, params string[] errors)
        => new(NodeName(i), Member(i).Id, "3.5.16", 1 << 20, 1 << 19, leader, 100, 2, 100, errors, false, "3.5.0");

    /// <summary>A healthy member of a cluster with <paramref name="members"/>.</summary>
    public static NodeObservation Healthy(int i, int leader, params int[] members)
        => Base(i) with
        {
            EtcdService = Service(NodeName(i), TalosServiceState.Running),
            EtcdStatus = Status(i, Member(leader).Id),
            Members = new TalosEtcdMemberList(NodeName(i), members.Select(m => Member(m)).ToList()),
        };

    /// <summary>A member that runs but has no leader (quorum lost): member list fails.</summary>
    public static NodeObservation NoLeader(int i)
        => Base(i) with
        {
            EtcdService = Service(NodeName(i), TalosServiceState.Running, healthy: false),
            EtcdStatus = Status(i, 0),
            Failures = [new ObservationFailure(TalosApiCall.EtcdMemberList, ObservationFailureKind.Failed, "Unknown: etcdserver: no leader", null)],
        };

    /// <summary>A node whose etcd data is gone: etcd in its join loop.</summary>
    public static NodeObservation Preparing(int i, params string[] events)
        => Base(i) with
        {
            EtcdService = Service(NodeName(i), TalosServiceState.Preparing, events: events.Length == 0 ? ["Running pre state"] : events),
            Failures =
            [
                new ObservationFailure(TalosApiCall.EtcdMemberList, ObservationFailureKind.Failed, "Unknown: failed to create etcd client", null),
                new ObservationFailure(TalosApiCall.EtcdStatus, ObservationFailureKind.Failed, "Unknown: failed to create etcd client", null),
            ],
        };

    public static NodeObservation Failed(int i, string message)
        => Base(i) with
        {
            EtcdService = Service(NodeName(i), TalosServiceState.Failed, events: [message]),
        };

    public static NodeObservation Unreachable(int i)
        => new(NodeName(i))
        {
            ObservedAt = Now,
            Failures = Enum.GetValues<TalosApiCall>().Take(6).Select(c => new ObservationFailure(c, ObservationFailureKind.Unreachable, "Unavailable: connection refused", null)).ToList(),
        };

    /// <summary>The node as observed with an <c>ETCD</c> volume of <paramref name="type"/> (a partition: etcd's data on a volume of its own).</summary>
    public static NodeObservation WithEtcdVolume(NodeObservation node, TalosVolumeType type = TalosVolumeType.Partition)
        => node with
        {
            EtcdVolume = type == TalosVolumeType.Directory
                ? new TalosVolumeStatus(node.Node, "ETCD", type, TalosVolumePhase.Ready, "", "", "EPHEMERAL", 0, "")
                : new TalosVolumeStatus(node.Node, "ETCD", type, TalosVolumePhase.Ready, "/dev/sda6", "/dev/sda6", "", 10UL << 30, ""),
        };

    /// <summary>The node as observed without an <c>ETCD</c> volume (<c>NotFound</c>).</summary>
    public static NodeObservation WithoutEtcdVolume(NodeObservation node) => node with { HasNoEtcdVolume = true };

    public static ClusterAssessment Assess(params NodeObservation[] nodes) => ClusterAssessment.Evaluate(nodes, assessedAt: Now);

    /// <summary>Where the recovery tests keep their files (removed after the run by <see cref="RecoveryTestCleanup"/>).</summary>
    public static string Root { get; } = Path.Combine(Path.GetTempPath(), $"talos-recovery-tests-{Environment.ProcessId}");

    /// <summary>A fresh directory under the test temp root.</summary>
    public static string NewDirectory()
    {
        var path = Path.Combine(Root, Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Writes a backup set with a fixture snapshot: streamed (with trailer) or a raw copy.</summary>
    public static BackupSet WriteBackup(string destination, bool rawCopy = false, params int[] nodes)
    {
        var bytes = BoltFixtures.EtcdSmall(trailer: !rawCopy).Bytes;
        using var writer = BackupSetWriter.Create(destination);
        var method = rawCopy ? BackupSnapshotMethod.RawCopy : BackupSnapshotMethod.EtcdSnapshot;
        File.WriteAllBytes(writer.SnapshotPath(method), bytes);
        using var file = SnapshotFile.FromMemory(bytes);
        var verification = file.Verify(new SnapshotVerifyOptions { SkipHashCheck = rawCopy });
        foreach (var i in nodes.Length == 0 ? [1, 2, 3] : nodes)
        {
            writer.AddNode(NodeName(i), $"cp-{i}", TalosMachineType.ControlPlane, "v1.11.3", $"version: v1alpha1\nmachine:\n  type: controlplane # {i}\n");
        }

        var snapshot = new BackupSnapshot(
            rawCopy ? BackupManifest.RawCopyFileName : BackupManifest.SnapshotFileName,
            method,
            NodeName(nodes.Length == 0 ? 2 : nodes[0]),
            bytes.Length,
            Convert.ToHexStringLower(verification.ActualSha256!.Value.Span),
            !rawCopy,
            verification.Status!);
        return writer.Commit(Now, "admin@test", "test", snapshot, []);
    }
}

/// <summary>Removes the recovery tests' files after the run.</summary>
[SetUpFixture]
public sealed class RecoveryTestCleanup
{
    [OneTimeTearDown]
    public void DeleteFiles()
    {
        if (Directory.Exists(RecoveryTestData.Root))
        {
            Directory.Delete(RecoveryTestData.Root, recursive: true);
        }
    }
}
