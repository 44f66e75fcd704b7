using Talos.Recovery.Client;
using Talos.Recovery.Recovery;
using Talos.Recovery.Testing.Etcd;
using Talos.Recovery.Testing.Simulator;

namespace Talos.Recovery.Tests.Integration.Recovery;

/// <summary>The whole procedure against the node simulator (real etcd behind a Talos machine API): every branch of issue 6.</summary>
[TestFixture]
[NonParallelizable]
public sealed class RecoveryEndToEndTests
{
    private static readonly RecoveryPlanOptions Fast = new()
    {
        ResetTimeout = TimeSpan.FromSeconds(30),
        PreparingTimeout = TimeSpan.FromSeconds(30),
        UploadTimeout = TimeSpan.FromSeconds(30),
        BootstrapTimeout = TimeSpan.FromSeconds(30),
        HealthyTimeout = TimeSpan.FromSeconds(60),
        JoinTimeout = TimeSpan.FromSeconds(90),
        VerifyTimeout = TimeSpan.FromSeconds(30),
    };

    [Test]
    public async Task Three_nodes_with_two_lost_are_restored_with_every_key_and_revision()
    {
        await using var c = await Cluster.StartAsync(3);
        var before = await c.DigestAsync(c.Sim.ControlPlanes[0]);
        var backup = await c.Recovery.BackupAsync(c.BackupDirectory);
        Assert.That(backup.Manifest.Snapshot.Method, Is.EqualTo(BackupSnapshotMethod.EtcdSnapshot));
        Assert.That(backup.Manifest.Snapshot.SourceNode, Is.Not.EqualTo(c.LeaderAddress()), "a healthy follower is asked first");
        Assert.That(backup.Manifest.Nodes.Select(n => n.MachineConfigFile), Has.All.Not.Null);

        await c.Sim.ControlPlanes[1].LoseDataAsync();
        await c.Sim.ControlPlanes[2].LoseDataAsync();

        var assessment = await c.Recovery.AssessAsync(c.Nodes);
        Assert.That(assessment.Verdict, Is.EqualTo(ClusterVerdict.DisasterRecoveryRequired), RecoveryFormatter.FormatAssessment(assessment));
        var plan = await c.Recovery.PlanAsync(assessment, backup, Fast);
        var progress = new Recorder();
        var result = await c.Recovery.ExecuteAsync(plan, progress);

        Assert.That(result.RestoredStatus!.Revision, Is.EqualTo(backup.Status.Revision));
        Assert.That(result.RestoredStatus.LiveKeyCount, Is.EqualTo(backup.Status.LiveKeyCount));
        Assert.That(progress.Completed, Is.EquivalentTo(plan.Steps.Select(s => s.Number).Except(progress.Skipped)));
        foreach (var node in c.Sim.ControlPlanes)
        {
            Assert.That(await c.DigestAsync(node), Is.EqualTo(before), node.Name);
        }

        var after = await c.Recovery.AssessAsync(c.Nodes);
        Assert.That(after.Verdict, Is.EqualTo(ClusterVerdict.Healthy), RecoveryFormatter.FormatAssessment(after));
    }

    [Test]
    public async Task Nodes_with_etcd_on_an_ETCD_partition_are_detected_and_wiped_with_it_and_restored()
    {
        await using var c = await Cluster.StartAsync(3, etcdVolume: SimulatedEtcdVolume.Partition);
        var before = await c.DigestAsync(c.Sim.ControlPlanes[0]);
        var backup = await c.Recovery.BackupAsync(c.BackupDirectory);
        await c.Sim.ControlPlanes[1].LoseDataAsync();
        await c.Sim.ControlPlanes[2].LoseDataAsync();

        var assessment = await c.Recovery.AssessAsync(c.Nodes);
        Assert.That(assessment.Verdict, Is.EqualTo(ClusterVerdict.DisasterRecoveryRequired), RecoveryFormatter.FormatAssessment(assessment));
        Assert.That(assessment.Nodes.Select(n => n.EtcdOnSeparateVolume), Is.All.EqualTo(true));
        Assert.That(assessment.Nodes.Select(n => n.EtcdVolume!.Type), Is.All.EqualTo(TalosVolumeType.Partition));

        // Overriding the detection shows why it matters: wiping EPHEMERAL alone leaves cp-1's data on its ETCD partition, so its
        // etcd starts again from it instead of reaching Preparing, and the run stops before any bootstrap.
        var wrong = await c.Recovery.PlanAsync(assessment, backup, new RecoveryPlanOptions { EtcdOnSeparateVolume = false, ResetTimeout = Fast.ResetTimeout, PreparingTimeout = TimeSpan.FromSeconds(5) });
        var stuck = Assert.ThrowsAsync<RecoveryStepFailedException>(async () => await c.Recovery.ExecuteAsync(wrong));
        Assert.That(stuck!.Step.Kind, Is.EqualTo(RecoveryStepKind.WaitForEtcdPreparing), stuck.Message);
        Assert.That(Directory.EnumerateFileSystemEntries(c.Sim.ControlPlanes[0].EtcdDataDirectory), Is.Not.Empty, "cp-1 kept its etcd data");

        // Detected, not configured: every reset wipes ETCD with EPHEMERAL; the run resumes and resets cp-1 again, with both labels.
        var plan = await c.Recovery.PlanAsync(assessment, backup, Fast);
        Assert.That(plan.Steps.Where(s => s.Kind == RecoveryStepKind.ResetNode).Select(s => s.LabelsToWipe), Is.All.EqualTo(new[] { "EPHEMERAL", "ETCD" }));
        Assert.That(plan.Warnings, Has.Some.Contains("ETCD volume of its own"));
        var result = await c.Recovery.ExecuteAsync(plan);

        Assert.That(result.RestoredStatus!.Revision, Is.EqualTo(backup.Status.Revision));
        foreach (var node in c.Sim.ControlPlanes)
        {
            Assert.That(await c.DigestAsync(node), Is.EqualTo(before), node.Name);
        }

        var after = await c.Recovery.AssessAsync(c.Nodes);
        Assert.That(after.Verdict, Is.EqualTo(ClusterVerdict.Healthy), RecoveryFormatter.FormatAssessment(after));
    }

    [Test]
    public async Task A_single_node_cluster_is_restored()
    {
        await using var c = await Cluster.StartAsync(1);
        var before = await c.DigestAsync(c.Sim.ControlPlanes[0]);
        var backup = await c.Recovery.BackupAsync(c.BackupDirectory);
        await c.Sim.ControlPlanes[0].LoseDataAsync();

        var plan = await c.Recovery.PlanAsync(await c.Recovery.AssessAsync(c.Nodes), backup, Fast);
        var result = await c.Recovery.ExecuteAsync(plan);

        Assert.That(result.Steps.Single(s => s.Step.Kind == RecoveryStepKind.ResetNode).Skipped, Is.True, "the node had already lost its data");
        Assert.That(await c.DigestAsync(c.Sim.ControlPlanes[0]), Is.EqualTo(before));
    }

    [Test]
    public async Task Without_a_working_etcd_the_backup_falls_back_to_a_raw_copy_that_restores_with_the_hash_check_skipped()
    {
        await using var c = await Cluster.StartAsync(3);
        var before = await c.DigestAsync(c.Sim.ControlPlanes[0]);
        await c.Sim.ControlPlanes[1].LoseDataAsync();
        await c.Sim.ControlPlanes[2].LoseDataAsync();
        await c.Sim.ControlPlanes[0].StopEtcdAsync();

        var assessment = await c.Recovery.AssessAsync(c.Nodes);
        var backup = await c.Recovery.BackupAsync(c.BackupDirectory, assessment);
        Assert.That(backup.Manifest.Snapshot.Method, Is.EqualTo(BackupSnapshotMethod.RawCopy));
        Assert.That(backup.HasTrailer, Is.False);

        var plan = await c.Recovery.PlanAsync(assessment, backup, Fast);
        Assert.That(plan.RecoverSkipHashCheck, Is.True);
        await c.Recovery.ExecuteAsync(plan);

        Assert.That(await c.DigestAsync(c.Sim.FindNode(plan.BootstrapNode!)!), Is.EqualTo(before));
    }

    [Test]
    public async Task An_interrupted_run_resumes_from_the_observed_state_without_wiping_again()
    {
        await using var c = await Cluster.StartAsync(3);
        var before = await c.DigestAsync(c.Sim.ControlPlanes[0]);
        var backup = await c.Recovery.BackupAsync(c.BackupDirectory);
        await c.Sim.ControlPlanes[1].LoseDataAsync();
        await c.Sim.ControlPlanes[2].LoseDataAsync();
        var plan = await c.Recovery.PlanAsync(await c.Recovery.AssessAsync(c.Nodes), backup, Fast);

        using var interrupt = new CancellationTokenSource();
        var first = new Recorder(p =>
        {
            if (p.Step.Kind == RecoveryStepKind.UploadSnapshot && p.Stage == RecoveryProgressStage.Completed)
            {
                interrupt.Cancel();
            }
        });
        Assert.That(async () => await c.Recovery.ExecuteAsync(plan, first, interrupt.Token), Throws.InstanceOf<OperationCanceledException>());

        var second = new Recorder();
        await c.Recovery.ExecuteAsync(plan, second);

        var resets = plan.Steps.Where(s => s.Kind == RecoveryStepKind.ResetNode).Select(s => s.Number).ToList();
        Assert.That(second.Skipped, Is.SupersetOf(resets), "every node was already Preparing: none is reset again");
        Assert.That(second.Started, Does.Contain(plan.Steps.Single(s => s.Kind == RecoveryStepKind.Bootstrap).Number));
        Assert.That(await c.DigestAsync(c.Sim.FindNode(plan.BootstrapNode!)!), Is.EqualTo(before));
    }

    [Test]
    public async Task A_corrupted_upload_surfaces_as_a_typed_error_with_the_nodes_message()
    {
        await using var c = await Cluster.StartAsync(1);
        var backup = await c.Recovery.BackupAsync(c.BackupDirectory);
        await c.Sim.ControlPlanes[0].LoseDataAsync();
        var plan = await c.Recovery.PlanAsync(await c.Recovery.AssessAsync(c.Nodes), backup, Fast);
        var node = c.Sim.ControlPlanes[0];
        var corrupt = new Recorder(p =>
        {
            if (p.Step.Kind == RecoveryStepKind.UploadSnapshot && p.Stage == RecoveryProgressStage.Completed)
            {
                // The upload arrived damaged: its SHA-256 trailer no longer matches (etcdctl's status still reads it).
                var bytes = File.ReadAllBytes(node.EtcdSnapshotUploadPath);
                bytes[^1] ^= 0xFF;
                File.WriteAllBytes(node.EtcdSnapshotUploadPath, bytes);
            }
        });

        var e = Assert.ThrowsAsync<RecoveryStepFailedException>(async () => await c.Recovery.ExecuteAsync(plan, corrupt));

        Assert.That(e!.Step.Kind, Is.EqualTo(RecoveryStepKind.WaitForEtcdHealthy));
        Assert.That(e.Node, Is.EqualTo(node.Address));
        Assert.That(e.NodeMessage, Does.Contain("error recovering from the snapshot"));
    }

    [Test]
    public async Task A_healthy_cluster_and_a_cluster_with_quorum_are_not_restored_from_a_snapshot()
    {
        await using var c = await Cluster.StartAsync(3);
        var backup = await c.Recovery.BackupAsync(c.BackupDirectory);

        var healthy = await c.Recovery.AssessAsync(c.Nodes);
        Assert.That(healthy.Verdict, Is.EqualTo(ClusterVerdict.Healthy), RecoveryFormatter.FormatAssessment(healthy));
        var e = Assert.ThrowsAsync<RecoveryRefusedException>(() => c.Recovery.PlanAsync(healthy, backup, Fast));
        Assert.That(e!.Reason, Is.EqualTo(RecoveryRefusalReason.ClusterHealthy));

        await c.Sim.ControlPlanes[2].StopEtcdAsync();
        var degraded = await c.Recovery.AssessAsync(c.Nodes);
        Assert.That(degraded.Verdict, Is.EqualTo(ClusterVerdict.QuorumRestorable), RecoveryFormatter.FormatAssessment(degraded));
        Assert.That(degraded.QuorumRestoreActions.Select(a => a.Kind), Is.EqualTo(new[] { QuorumRestoreActionKind.RemoveMember, QuorumRestoreActionKind.ResetNode }));
        e = Assert.ThrowsAsync<RecoveryRefusedException>(() => c.Recovery.PlanAsync(degraded, backup, Fast));
        Assert.That(e!.Reason, Is.EqualTo(RecoveryRefusalReason.QuorumRestorable));
    }

    [Test]
    public async Task A_quorum_restore_removes_the_dead_member_and_the_wiped_node_joins_again()
    {
        await using var c = await Cluster.StartAsync(3);
        var before = await c.DigestAsync(c.Sim.ControlPlanes[0]);
        var backup = await c.Recovery.BackupAsync(c.BackupDirectory);
        await c.Sim.ControlPlanes[2].StopEtcdAsync();
        var assessment = await c.Recovery.AssessAsync(c.Nodes);
        Assert.That(assessment.Verdict, Is.EqualTo(ClusterVerdict.QuorumRestorable), RecoveryFormatter.FormatAssessment(assessment));

        var plan = await c.Recovery.PlanAsync(assessment, backup, Fast, quorumRestore: true);
        await c.Recovery.ExecuteAsync(plan);

        var after = await c.Recovery.AssessAsync(c.Nodes);
        Assert.That(after.Verdict, Is.EqualTo(ClusterVerdict.Healthy), RecoveryFormatter.FormatAssessment(after));
        Assert.That(after.Members.Select(m => m.Member.Id), Does.Not.Contain(assessment.Members.Single(m => !m.Healthy).Member.Id));
        Assert.That(await c.DigestAsync(c.Sim.ControlPlanes[2]), Is.EqualTo(before), "the wiped node got the data from its peers, not from the snapshot");
    }

    [Test]
    public async Task Member_lists_that_disagree_are_reported_per_node_and_restored_by_quorum_without_wiping_the_majority()
    {
        await using var c = await Cluster.StartAsync(3);
        var (cp1, cp2, cp3) = (c.Sim.ControlPlanes[0], c.Sim.ControlPlanes[1], c.Sim.ControlPlanes[2]);
        var before = await c.DigestAsync(cp1);
        var backup = await c.Recovery.BackupAsync(c.BackupDirectory);
        var healthy = await c.Recovery.AssessAsync(c.Nodes);
        var oldMember = healthy.Members.Single(m => m.Node == cp3.Address).Member;
        var majority = healthy.Members.Where(m => m.Node != cp3.Address).Select(m => m.Member).ToList();

        // cp-3 is bootstrapped into a cluster of its own while cp-1 and cp-2 keep quorum: a split brain.
        await cp3.SplitIntoOwnClusterAsync();
        var untouched = new[] { cp1.EtcdProcessId, cp2.EtcdProcessId };

        // Had cp-3 led the cluster, cp-1 and cp-2 elect a new leader first (until then the assessment is Blocked: unsettled membership).
        await c.WaitForLeaderAsync(cp1, cp2);

        var assessment = await c.Recovery.AssessAsync(c.Nodes);
        var report = RecoveryFormatter.FormatAssessment(assessment);
        Assert.That(assessment.MemberListsAgree, Is.False, report);
        var newMemberId = assessment.Find(cp3.Address)!.Members!.Members.Single().Id;
        Assert.That(newMemberId, Is.Not.EqualTo(oldMember.Id), "cp-3 runs a member of its own");
        Assert.That(assessment.Find(cp3.Address)!.EtcdCondition, Is.EqualTo(NodeEtcdCondition.Healthy), "cp-3's own one-member cluster has a leader");

        // How the lists differ, per member: the majority's members (cp-3's old one included) are not in cp-3's list, cp-3's new one only there.
        var differences = assessment.MemberListDifferences.ToDictionary(d => d.MemberId);
        Assert.That(differences.Keys, Is.EquivalentTo(majority.Select(m => m.Id).Append(oldMember.Id).Append(newMemberId)), report);
        foreach (var id in majority.Select(m => m.Id).Append(oldMember.Id))
        {
            Assert.That(differences[id].ListedBy, Is.EquivalentTo(new[] { cp1.Address, cp2.Address }), report);
            Assert.That(differences[id].NotListedBy, Is.EqualTo(new[] { cp3.Address }), report);
        }

        Assert.That(differences[newMemberId].MemberName, Is.EqualTo("cp-3"));
        Assert.That(differences[newMemberId].ListedBy, Is.EqualTo(new[] { cp3.Address }));
        Assert.That(differences[newMemberId].NotListedBy, Is.EquivalentTo(new[] { cp1.Address, cp2.Address }));
        Assert.That(assessment.Notes, Has.Some.Contains("The member lists differ"));
        Assert.That(report, Does.Contain("member lists differ").And.Contain("Member list differences"));

        // The majority's list is the cluster's: quorum holds (2 of 3), cp-3's old member is the unhealthy one.
        Assert.That(assessment.Members.Select(m => m.Member.Id), Is.EquivalentTo(healthy.Members.Select(m => m.Member.Id)));
        Assert.That(assessment.Members.Single(m => !m.Healthy).Member.Id, Is.EqualTo(oldMember.Id));
        Assert.That((assessment.HealthyMemberCount, assessment.VotingMemberCount, assessment.QuorumSize, assessment.HasQuorum), Is.EqualTo((2, 3, 2, true)));
        Assert.That(assessment.Verdict, Is.EqualTo(ClusterVerdict.QuorumRestorable), report);
        Assert.That(assessment.QuorumRestoreActions.Select(a => (a.Kind, a.Node, a.MemberId)), Is.EqualTo(new (QuorumRestoreActionKind, string?, ulong?)[]
        {
            (QuorumRestoreActionKind.RemoveMember, cp3.Address, oldMember.Id),
            (QuorumRestoreActionKind.ResetNode, cp3.Address, null),
        }), report);

        // No snapshot restore (which wipes every node) unless forced.
        var refused = Assert.ThrowsAsync<RecoveryRefusedException>(() => c.Recovery.PlanAsync(assessment, backup, Fast));
        Assert.That(refused!.Reason, Is.EqualTo(RecoveryRefusalReason.QuorumRestorable));
        var forced = await c.Recovery.PlanAsync(assessment, backup, new RecoveryPlanOptions { Force = true });
        Assert.That(forced.Forced, Is.True, "forcing is possible, and the plan says it was forced");

        // The quorum restore wipes only cp-3, and removes its old member through a node of the majority.
        var plan = await c.Recovery.PlanAsync(assessment, backup, Fast, quorumRestore: true);
        Assert.That(plan.Steps.Where(s => s.Kind == RecoveryStepKind.ResetNode).Select(s => s.Node), Is.EqualTo(new[] { cp3.Address }));
        var removal = plan.Steps.Single(s => s.Kind == RecoveryStepKind.RemoveMember);
        Assert.That(removal.MemberId, Is.EqualTo(oldMember.Id));
        Assert.That(removal.ViaNode, Is.AnyOf(cp1.Address, cp2.Address));

        var progress = new Recorder();
        await c.Recovery.ExecuteAsync(plan, progress);

        Assert.That(progress.Skipped, Is.Empty, "cp-3's healthy etcd of its own is not mistaken for a rejoined member");
        Assert.That(new[] { cp1.EtcdProcessId, cp2.EtcdProcessId }, Is.EqualTo(untouched), "the majority's etcd was never restarted");
        var after = await c.Recovery.AssessAsync(c.Nodes);
        Assert.That(after.Verdict, Is.EqualTo(ClusterVerdict.Healthy), RecoveryFormatter.FormatAssessment(after));
        Assert.That(after.MemberListsAgree, Is.True);
        Assert.That(after.Members.Select(m => m.Member.Id), Does.Not.Contain(oldMember.Id).And.Not.Contain(newMemberId));
        foreach (var node in c.Sim.ControlPlanes)
        {
            Assert.That(await c.DigestAsync(node), Is.EqualTo(before), node.Name);
        }
    }

    [Test]
    public async Task An_init_node_blocks_the_recovery()
    {
        await using var c = await Cluster.StartAsync(3, init: true);
        var backup = await c.Recovery.BackupAsync(c.BackupDirectory);
        await c.Sim.ControlPlanes[1].LoseDataAsync();
        await c.Sim.ControlPlanes[2].LoseDataAsync();

        var assessment = await c.Recovery.AssessAsync(c.Nodes);

        Assert.That(assessment.Verdict, Is.EqualTo(ClusterVerdict.Blocked));
        var e = Assert.ThrowsAsync<RecoveryRefusedException>(() => c.Recovery.PlanAsync(assessment, backup, Fast));
        Assert.That(e!.Reason, Is.EqualTo(RecoveryRefusalReason.InitNodePresent));
        Assert.That(e.Nodes, Is.EqualTo(new[] { c.Sim.ControlPlanes[0].Address }));
    }

    [Test]
    public async Task Bootstrap_is_refused_while_a_node_is_not_preparing_and_the_run_resumes_once_it_is()
    {
        await using var c = await Cluster.StartAsync(3);
        var before = await c.DigestAsync(c.Sim.ControlPlanes[0]);
        var backup = await c.Recovery.BackupAsync(c.BackupDirectory);
        await c.Sim.ControlPlanes[1].LoseDataAsync();
        await c.Sim.ControlPlanes[2].LoseDataAsync();
        var plan = await c.Recovery.PlanAsync(await c.Recovery.AssessAsync(c.Nodes), backup, Fast);
        var other = c.Sim.ControlPlanes.First(n => n.Address != plan.BootstrapNode);
        var powerOff = new Recorder(p =>
        {
            if (p.Step.Kind == RecoveryStepKind.UploadSnapshot && p.Stage == RecoveryProgressStage.Completed)
            {
                other.PowerOffAsync().GetAwaiter().GetResult();
            }
        });

        var e = Assert.ThrowsAsync<RecoveryRefusedException>(async () => await c.Recovery.ExecuteAsync(plan, powerOff));
        Assert.That(e!.Reason, Is.EqualTo(RecoveryRefusalReason.EtcdNotPreparing));
        Assert.That(e.Nodes, Is.EqualTo(new[] { other.Address }));

        await other.PowerOnAsync();
        await c.Recovery.ExecuteAsync(plan);
        Assert.That(await c.DigestAsync(c.Sim.FindNode(plan.BootstrapNode!)!), Is.EqualTo(before));
    }

    /// <summary>Synchronous progress (so a test can act between two steps), recording step numbers per stage.</summary>
    private sealed class Recorder(Action<RecoveryProgress>? act = null) : IProgress<RecoveryProgress>
    {
        public List<int> Started { get; } = [];

        public List<int> Completed { get; } = [];

        public List<int> Skipped { get; } = [];

        public void Report(RecoveryProgress value)
        {
            (value.Stage switch
            {
                RecoveryProgressStage.Started => Started,
                RecoveryProgressStage.Completed => Completed,
                RecoveryProgressStage.Skipped => Skipped,
                _ => [],
            }).Add(value.Step.Number);
            TestContext.Progress.WriteLine($"  step {value.Step.Number} {value.Step.Kind} {value.Stage}: {value.Message}");
            act?.Invoke(value);
        }
    }

    private sealed class Cluster : IAsyncDisposable
    {
        private Cluster(TalosClusterSimulator sim, TalosClient client, string directory)
        {
            Sim = sim;
            Client = client;
            Directory = directory;
            Recovery = new RecoveryClient(client, new RecoveryClientOptions
            {
                PollInterval = TimeSpan.FromMilliseconds(100),
                ObservationTimeout = TimeSpan.FromSeconds(5),
                TemporaryDirectory = directory,
            });
        }

        public TalosClusterSimulator Sim { get; }

        public TalosClient Client { get; }

        public RecoveryClient Recovery { get; }

        public string Directory { get; }

        public string BackupDirectory => Path.Combine(Directory, "backup");

        public IReadOnlyList<string> Nodes => Sim.ControlPlanes.Select(n => n.Address).ToList();

        public static async Task<Cluster> StartAsync(int controlPlanes, bool init = false, SimulatedEtcdVolume etcdVolume = SimulatedEtcdVolume.Ephemeral)
        {
            EtcdRequirement.Require();
            var sim = await TalosClusterSimulator.StartAsync(new TalosSimulatorOptions
            {
                ControlPlanes = controlPlanes,
                InitNode = init,
                EtcdVolume = etcdVolume,
                TalosVersion = etcdVolume == SimulatedEtcdVolume.Ephemeral ? "v1.11.3" : "v1.14.0",
            });
            var client = TalosClient.FromConfig(sim.CreateTalosConfig("os:admin"), options: new TalosClientOptions { CallTimeout = TimeSpan.FromSeconds(30) });
            var cluster = new Cluster(sim, client, System.IO.Directory.CreateTempSubdirectory("talos-recovery-e2e-").FullName);
            using var etcd = new EtcdGatewayClient(sim.ControlPlanes[0].EtcdClientUrl!);
            await etcd.PutManyAsync(EtcdTestData.KubernetesLike(300, 200));
            await etcd.PutAsync("/registry/configmaps/default/last", "written before the backup");
            return cluster;
        }

        public async Task<EtcdContentDigest> DigestAsync(SimulatedNode node)
        {
            using var etcd = new EtcdGatewayClient(node.EtcdClientUrl ?? throw new AssertionException($"etcd is not running on {node.Name}"));
            return await etcd.ComputeDigestAsync(includeRevisions: true);
        }

        public async Task WaitForLeaderAsync(params SimulatedNode[] nodes)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            foreach (var node in nodes)
            {
                while ((await Client.EtcdStatusAsync(node.Address)).Leader == 0)
                {
                    Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"etcd on {node.Name} found no leader");
                    await Task.Delay(100);
                }
            }
        }

        public string LeaderAddress()
        {
            var statuses = Sim.ControlPlanes.Select(n => Client.EtcdStatusAsync(n.Address).GetAwaiter().GetResult()).ToList();
            var leader = statuses.First().Leader;
            return statuses.First(s => s.MemberId == leader).Node;
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Sim.DisposeAsync();
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
