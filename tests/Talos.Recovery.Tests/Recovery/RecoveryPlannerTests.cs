using Talos.Recovery.Client;
using Talos.Recovery.Recovery;
using static Talos.Recovery.Tests.Recovery.RecoveryTestData;

namespace Talos.Recovery.Tests.Recovery;

public class RecoveryPlannerTests
{
    private BackupSet _backup = null!;
    private BackupSet _rawCopy = null!;

    [OneTimeSetUp]
    public void WriteBackups()
    {
        _backup = WriteBackup(Path.Combine(NewDirectory(), "streamed"));
        _rawCopy = WriteBackup(Path.Combine(NewDirectory(), "raw"), rawCopy: true);
    }

    private static ClusterAssessment LostTwoOfThree() => Assess(NoLeader(1), Preparing(2), Preparing(3));

    [Test]
    public void Disaster_recovery_resets_every_node_then_restores_on_one_and_checks_the_data()
    {
        var plan = RecoveryPlanner.Create(LostTwoOfThree(), _backup);

        Assert.That(plan.Kind, Is.EqualTo(RecoveryPlanKind.DisasterRecovery));
        Assert.That(plan.BootstrapNode, Is.EqualTo(NodeName(2)), "a reachable control plane already Preparing is preferred");
        Assert.That(plan.Steps.Select(s => (s.Kind, s.Node)), Is.EqualTo(new (RecoveryStepKind, string?)[]
        {
            (RecoveryStepKind.ResetNode, NodeName(1)),
            (RecoveryStepKind.ResetNode, NodeName(3)),
            (RecoveryStepKind.ResetNode, NodeName(2)),
            (RecoveryStepKind.WaitForEtcdPreparing, null),
            (RecoveryStepKind.UploadSnapshot, NodeName(2)),
            (RecoveryStepKind.Bootstrap, NodeName(2)),
            (RecoveryStepKind.WaitForEtcdHealthy, NodeName(2)),
            (RecoveryStepKind.WaitForMembersJoined, NodeName(2)),
            (RecoveryStepKind.VerifyRestoredData, NodeName(2)),
        }));
        Assert.That(plan.Steps.Select(s => s.Number), Is.EqualTo(Enumerable.Range(1, 9)));
        Assert.That(plan.Steps.Where(s => s.Kind == RecoveryStepKind.ResetNode).Select(s => s.LabelsToWipe), Is.All.EqualTo(new[] { "EPHEMERAL" }));
        Assert.That(plan.Steps.Single(s => s.Kind == RecoveryStepKind.Bootstrap).RecoverSkipHashCheck, Is.False);
        Assert.That(plan.Steps.Single(s => s.Kind == RecoveryStepKind.WaitForEtcdPreparing).Nodes, Is.EqualTo(plan.Nodes));
        Assert.That(plan.Steps, Has.All.Property(nameof(RecoveryStep.Precondition)).Not.Empty.And.Property(nameof(RecoveryStep.Verification)).Not.Empty);
        Assert.That(plan.Forced, Is.False);
        Assert.That(plan.Backup, Is.SameAs(_backup));
    }

    [Test]
    public void Only_a_trailer_less_raw_copy_skips_the_nodes_hash_check()
    {
        var plan = RecoveryPlanner.Create(LostTwoOfThree(), _rawCopy);

        Assert.That(plan.RecoverSkipHashCheck, Is.True);
        Assert.That(plan.Steps.Single(s => s.Kind == RecoveryStepKind.Bootstrap).RecoverSkipHashCheck, Is.True);
        Assert.That(plan.Warnings, Has.Some.Contains("raw copy"));
        Assert.That(RecoveryPlanner.Create(LostTwoOfThree(), _backup).RecoverSkipHashCheck, Is.False);
    }

    [Test]
    public void A_separate_etcd_volume_is_wiped_too_when_asked()
    {
        var plan = RecoveryPlanner.Create(LostTwoOfThree(), _backup, new RecoveryPlanOptions { EtcdOnSeparateVolume = true });

        Assert.That(plan.Steps.First().LabelsToWipe, Is.EqualTo(new[] { "EPHEMERAL", "ETCD" }));
    }

    [Test]
    public void By_default_ETCD_is_wiped_only_on_nodes_whose_etcd_has_a_partition_of_its_own()
    {
        var assessment = Assess(WithEtcdVolume(NoLeader(1)), WithoutEtcdVolume(Preparing(2)), WithEtcdVolume(Preparing(3), TalosVolumeType.Directory));
        Assert.That(assessment.Nodes.Select(n => n.EtcdOnSeparateVolume), Is.EqualTo(new bool?[] { true, false, false }));

        var plan = RecoveryPlanner.Create(assessment, _backup);

        var labels = plan.Steps.Where(s => s.Kind == RecoveryStepKind.ResetNode).ToDictionary(s => s.Node!, s => s.LabelsToWipe);
        Assert.That(labels[NodeName(1)], Is.EqualTo(new[] { "EPHEMERAL", "ETCD" }));
        Assert.That(labels[NodeName(2)], Is.EqualTo(new[] { "EPHEMERAL" }), "no ETCD volume: etcd's data is on EPHEMERAL");
        Assert.That(labels[NodeName(3)], Is.EqualTo(new[] { "EPHEMERAL" }), "a directory ETCD volume lives on EPHEMERAL and goes with it");
        Assert.That(plan.Steps.Single(s => s.Node == NodeName(1) && s.Kind == RecoveryStepKind.ResetNode).Description, Does.Contain("wipe EPHEMERAL, ETCD"));
        Assert.That(plan.Warnings, Has.None.Contains("could not be read"));
        Assert.That(assessment.Notes, Has.Some.Contains($"ETCD volume of its own on {NodeName(1)}"));
        Assert.That(RecoveryFormatter.FormatAssessment(assessment), Does.Contain("ETCD (partition /dev/sda6)").And.Contain("EPHEMERAL (ETCD directory)"));
    }

    [Test]
    public void The_ETCD_volume_option_overrides_the_detection_for_every_node()
    {
        var assessment = Assess(WithEtcdVolume(NoLeader(1)), WithoutEtcdVolume(Preparing(2)), Preparing(3));

        var never = RecoveryPlanner.Create(assessment, _backup, new RecoveryPlanOptions { EtcdOnSeparateVolume = false });
        var always = RecoveryPlanner.Create(assessment, _backup, new RecoveryPlanOptions { EtcdOnSeparateVolume = true });

        Assert.That(never.Steps.Where(s => s.Kind == RecoveryStepKind.ResetNode).Select(s => s.LabelsToWipe), Is.All.EqualTo(new[] { "EPHEMERAL" }));
        Assert.That(always.Steps.Where(s => s.Kind == RecoveryStepKind.ResetNode).Select(s => s.LabelsToWipe), Is.All.EqualTo(new[] { "EPHEMERAL", "ETCD" }));
        Assert.That(never.Warnings.Concat(always.Warnings), Has.None.Contains("could not be read"), "with the override set, nothing is left to detection");
    }

    [Test]
    public void A_node_whose_ETCD_volume_could_not_be_read_wipes_EPHEMERAL_only_with_a_warning()
    {
        var unknown = Preparing(3) with { Failures = [.. Preparing(3).Failures, new ObservationFailure(TalosApiCall.VolumeStatus, ObservationFailureKind.Failed, "Unknown: boom", null)] };
        var plan = RecoveryPlanner.Create(Assess(WithoutEtcdVolume(NoLeader(1)), WithoutEtcdVolume(Preparing(2)), unknown), _backup);

        Assert.That(plan.Steps.Single(s => s.Kind == RecoveryStepKind.ResetNode && s.Node == NodeName(3)).LabelsToWipe, Is.EqualTo(new[] { "EPHEMERAL" }));
        Assert.That(plan.Warnings, Has.One.Contains(NodeName(3)).And.Contains("Unknown: boom").And.Contains("EtcdOnSeparateVolume"));
    }

    [Test]
    public void A_quorum_restore_wipes_ETCD_too_on_a_node_whose_etcd_has_a_partition_of_its_own()
    {
        var assessment = Assess(WithEtcdVolume(Healthy(1, 1, 1, 2, 3)), WithEtcdVolume(Healthy(2, 1, 1, 2, 3)), WithEtcdVolume(Failed(3, "boom")));

        var plan = RecoveryPlanner.CreateQuorumRestore(assessment, _backup);

        Assert.That(plan.Steps.Single(s => s.Kind == RecoveryStepKind.ResetNode).LabelsToWipe, Is.EqualTo(new[] { "EPHEMERAL", "ETCD" }));
        Assert.That(assessment.QuorumRestoreActions.Single(a => a.Kind == QuorumRestoreActionKind.ResetNode).Description,
            Does.Contain("--system-labels-to-wipe=EPHEMERAL --system-labels-to-wipe=ETCD"));
    }

    [Test]
    public void The_bootstrap_node_can_be_chosen_but_must_be_a_reachable_control_plane()
    {
        Assert.That(RecoveryPlanner.Create(LostTwoOfThree(), _backup, new RecoveryPlanOptions { BootstrapNode = NodeName(3) }).BootstrapNode, Is.EqualTo(NodeName(3)));

        var e = Assert.Throws<RecoveryRefusedException>(() => RecoveryPlanner.Create(LostTwoOfThree(), _backup, new RecoveryPlanOptions { BootstrapNode = "10.9.9.9" }));
        Assert.That(e!.Reason, Is.EqualTo(RecoveryRefusalReason.NoBootstrapCandidate));
    }

    [Test]
    public void With_no_node_preparing_the_first_reachable_control_plane_bootstraps()
        => Assert.That(RecoveryPlanner.Create(Assess(NoLeader(1), NoLeader(2), NoLeader(3)), _backup).BootstrapNode, Is.EqualTo(NodeName(1)));

    [Test]
    public void No_plan_without_a_verified_snapshot()
    {
        var e = Assert.Throws<RecoveryRefusedException>(() => RecoveryPlanner.Create(LostTwoOfThree(), null));

        Assert.That(e!.Reason, Is.EqualTo(RecoveryRefusalReason.SnapshotNotVerified));
        Assert.That(e.WayForward, Does.Contain("BackupSet.Open"));
    }

    [Test]
    public void A_verified_snapshot_that_disappeared_since_is_refused()
    {
        var gone = WriteBackup(Path.Combine(NewDirectory(), "gone"));
        File.Delete(gone.SnapshotPath);

        Assert.That(() => RecoveryPlanner.Create(LostTwoOfThree(), gone), Throws.TypeOf<RecoveryRefusedException>().With.Property(nameof(RecoveryRefusedException.Reason)).EqualTo(RecoveryRefusalReason.SnapshotNotVerified));
    }

    [Test]
    public void A_healthy_cluster_is_not_recovered_unless_forced()
    {
        var healthy = Assess(Healthy(1, 1, 1, 2, 3), Healthy(2, 1, 1, 2, 3), Healthy(3, 1, 1, 2, 3));

        var e = Assert.Throws<RecoveryRefusedException>(() => RecoveryPlanner.Create(healthy, _backup));
        Assert.That(e!.Reason, Is.EqualTo(RecoveryRefusalReason.ClusterHealthy));
        var forced = RecoveryPlanner.Create(healthy, _backup, new RecoveryPlanOptions { Force = true });
        Assert.That(forced.Forced, Is.True);
        Assert.That(forced.ToString(), Does.Contain("FORCED"));
    }

    [Test]
    public void A_quorum_restorable_cluster_is_pointed_to_the_quorum_restore()
    {
        var qr = Assess(Healthy(1, 1, 1, 2, 3), Healthy(2, 1, 1, 2, 3), Failed(3, "boom"));

        var e = Assert.Throws<RecoveryRefusedException>(() => RecoveryPlanner.Create(qr, _backup));
        Assert.That(e!.Reason, Is.EqualTo(RecoveryRefusalReason.QuorumRestorable));
        Assert.That(e.WayForward, Does.Contain("remove member cp-3"));
        Assert.That(RecoveryPlanner.Create(qr, _backup, new RecoveryPlanOptions { Force = true }).Kind, Is.EqualTo(RecoveryPlanKind.DisasterRecovery));
    }

    [Test]
    public void An_init_node_refuses_even_a_forced_plan()
    {
        var withInit = Assess(Healthy(1, 1, 1, 2, 3) with { MachineType = TalosMachineType.Init }, Healthy(2, 1, 1, 2, 3), Healthy(3, 1, 1, 2, 3));

        var e = Assert.Throws<RecoveryRefusedException>(() => RecoveryPlanner.Create(withInit, _backup, new RecoveryPlanOptions { Force = true }));
        Assert.That(e!.Reason, Is.EqualTo(RecoveryRefusalReason.InitNodePresent));
        Assert.That(e.Nodes, Is.EqualTo(new[] { NodeName(1) }));
    }

    [Test]
    public void Unreachable_nodes_refuse_a_disaster_recovery()
    {
        var e = Assert.Throws<RecoveryRefusedException>(() => RecoveryPlanner.Create(Assess(NoLeader(1), Preparing(2), Unreachable(3)), _backup));

        Assert.That(e!.Reason, Is.EqualTo(RecoveryRefusalReason.UnreachableNodes));
        Assert.That(e.Nodes, Is.EqualTo(new[] { NodeName(3) }));
    }

    [Test]
    public void A_quorum_restore_removes_the_dead_member_wipes_its_node_and_waits_for_it()
    {
        var qr = Assess(Healthy(1, 1, 1, 2, 3), Healthy(2, 1, 1, 2, 3), Failed(3, "boom"));

        var plan = RecoveryPlanner.CreateQuorumRestore(qr, _backup);

        Assert.That(plan.Kind, Is.EqualTo(RecoveryPlanKind.QuorumRestore));
        Assert.That(plan.Steps.Select(s => s.Kind), Is.EqualTo(new[] { RecoveryStepKind.RemoveMember, RecoveryStepKind.ResetNode, RecoveryStepKind.WaitForMembersJoined }));
        Assert.That(plan.Steps[0].MemberId, Is.EqualTo(Member(3).Id));
        Assert.That(plan.Steps[0].ViaNode, Is.EqualTo(NodeName(1)));
        Assert.That(plan.Steps[1].Node, Is.EqualTo(NodeName(3)));
        Assert.That(() => RecoveryPlanner.CreateQuorumRestore(LostTwoOfThree(), _backup), Throws.TypeOf<RecoveryRefusedException>().With.Property(nameof(RecoveryRefusedException.Reason)).EqualTo(RecoveryRefusalReason.PlanMismatch));
        Assert.That(() => RecoveryPlanner.CreateQuorumRestore(qr, null), Throws.TypeOf<RecoveryRefusedException>().With.Property(nameof(RecoveryRefusedException.Reason)).EqualTo(RecoveryRefusalReason.SnapshotNotVerified));
    }

    [Test]
    public void Bootstrap_is_refused_unless_every_etcd_is_preparing()
    {
        Assert.DoesNotThrow(() => RecoveryInterlocks.EnsureAllPreparing([Preparing(1), Preparing(2)]));

        var e = Assert.Throws<RecoveryRefusedException>(() => RecoveryInterlocks.EnsureAllPreparing([Preparing(1), NoLeader(2), Unreachable(3)]));
        Assert.That(e!.Reason, Is.EqualTo(RecoveryRefusalReason.EtcdNotPreparing));
        Assert.That(e.Nodes, Is.EqualTo(new[] { NodeName(2), NodeName(3) }));
        Assert.That(e.Message, Does.Contain("10.0.0.3: unreachable"));
    }

    [Test]
    public void The_init_interlock_names_the_init_nodes()
    {
        var e = Assert.Throws<RecoveryRefusedException>(() => RecoveryInterlocks.EnsureNoInitNode([Preparing(1), Preparing(2) with { MachineType = TalosMachineType.Init }]));

        Assert.That((e!.Reason, e.Nodes.Single()), Is.EqualTo((RecoveryRefusalReason.InitNodePresent, NodeName(2))));
    }

    [Test]
    public void The_dry_run_lists_every_step_with_precondition_verification_and_timeout()
    {
        var text = RecoveryPlanner.Create(LostTwoOfThree(), _rawCopy).ToString();

        Assert.That(text, Does.Contain("Recovery plan: DisasterRecovery"));
        Assert.That(text, Does.Contain("Bootstrap node: 10.0.0.2; node's hash check: skipped (raw copy without trailer)"));
        Assert.That(text, Does.Contain("  1. reset 10.0.0.1: wipe EPHEMERAL, not graceful, reboot"));
        Assert.That(text, Does.Contain("  9. check the restored data: revision ≥ "));
        Assert.That(text.Split('\n').Count(l => l.TrimStart().StartsWith("before:", StringComparison.Ordinal)), Is.EqualTo(9));
        Assert.That(text, Does.Contain("timeout: 10m"));
        Assert.That(text, Does.Contain("trailer absent"));
    }

    [Test]
    public void The_assessment_text_shows_each_node_and_the_verdict()
    {
        var text = RecoveryFormatter.FormatAssessment(Assess(Healthy(1, 1, 1, 2, 3), Healthy(2, 1, 1, 2, 3), Failed(3, "Failed to run pre stage: boom")));

        Assert.That(text, Does.StartWith("Verdict: QuorumRestorable\n"));
        Assert.That(text, Does.Contain("Quorum: 2 of 3 voting members healthy, 2 needed (held)"));
        Assert.That(text, Does.Contain("NODE").And.Contain("10.0.0.3").And.Contain("Failed to run pre stage: boom"));
        Assert.That(text, Does.Contain("Restore quorum without a snapshot:\n  1. remove member cp-3"));
    }
}
