using Talos.Recovery.Client;
using Talos.Recovery.Recovery;
using static Talos.Recovery.Tests.Recovery.RecoveryTestData;

namespace Talos.Recovery.Tests.Recovery;

public class ClusterAssessmentTests
{
    [Test]
    public void Three_healthy_members_that_agree_are_healthy()
    {
        var a = Assess(Healthy(1, 1, 1, 2, 3), Healthy(2, 1, 1, 2, 3), Healthy(3, 1, 1, 2, 3));

        Assert.That(a.Verdict, Is.EqualTo(ClusterVerdict.Healthy));
        Assert.That(a.QuorumSize, Is.EqualTo(2));
        Assert.That(a.HealthyMemberCount, Is.EqualTo(3));
        Assert.That(a.MemberListsAgree, Is.True);
        Assert.That(a.Members.Select(m => m.Node), Is.EqualTo(new[] { NodeName(1), NodeName(2), NodeName(3) }));
    }

    [Test]
    public void One_dead_member_of_three_is_quorum_restorable_by_removing_it_and_wiping_its_node()
    {
        var a = Assess(Healthy(1, 1, 1, 2, 3), Healthy(2, 1, 1, 2, 3), Failed(3, "Failed to run pre stage: member has been permanently removed"));

        Assert.That(a.Verdict, Is.EqualTo(ClusterVerdict.QuorumRestorable));
        Assert.That(a.HealthyMemberCount, Is.EqualTo(2));
        Assert.That(a.HasQuorum, Is.True);
        Assert.That(a.QuorumRestoreActions.Select(x => x.Kind), Is.EqualTo(new[] { QuorumRestoreActionKind.RemoveMember, QuorumRestoreActionKind.ResetNode }));
        Assert.That(a.QuorumRestoreActions[0].MemberId, Is.EqualTo(Member(3).Id));
        Assert.That(a.QuorumRestoreActions[1].Node, Is.EqualTo(NodeName(3)));
        Assert.That(a.QuorumRestoreActions[1].Description, Does.Contain("EPHEMERAL"));
        Assert.That(a.Notes, Has.Some.Contains("permanently removed"));
    }

    [Test]
    public void Two_of_three_nodes_that_lost_their_data_need_disaster_recovery()
    {
        var a = Assess(NoLeader(1), Preparing(2), Preparing(3));

        Assert.That(a.Verdict, Is.EqualTo(ClusterVerdict.DisasterRecoveryRequired));
        Assert.That(a.HasQuorum, Is.False);
        Assert.That(a.HealthyMemberCount, Is.Zero);
        Assert.That(a.QuorumSize, Is.EqualTo(2), "no member list known: quorum of the nodes");
        Assert.That(a.Notes, Has.Some.Contains("No node could list the etcd members"));
    }

    [Test]
    public void A_single_node_cluster_is_healthy_or_needs_disaster_recovery()
    {
        Assert.That(Assess(Healthy(1, 1, 1)).Verdict, Is.EqualTo(ClusterVerdict.Healthy));
        Assert.That(Assess(Preparing(1)).Verdict, Is.EqualTo(ClusterVerdict.DisasterRecoveryRequired));
        Assert.That(Assess(Preparing(1)).QuorumSize, Is.EqualTo(1));
    }

    [Test]
    public void One_healthy_member_of_three_has_no_quorum()
    {
        var a = Assess(Healthy(1, 1, 1, 2, 3), Preparing(2), Preparing(3));

        Assert.That(a.HealthyMemberCount, Is.EqualTo(1));
        Assert.That(a.QuorumSize, Is.EqualTo(2));
        Assert.That(a.Verdict, Is.EqualTo(ClusterVerdict.DisasterRecoveryRequired));
    }

    [Test]
    public void Quorum_of_five_is_three_and_learners_do_not_vote()
    {
        var a = Assess(Healthy(1, 1, 1, 2, 3, 4, 5), Healthy(2, 1, 1, 2, 3, 4, 5), Healthy(3, 1, 1, 2, 3, 4, 5), Preparing(4), Preparing(5));
        Assert.That((a.QuorumSize, a.HealthyMemberCount, a.Verdict), Is.EqualTo((3, 3, ClusterVerdict.QuorumRestorable)));

        var withLearner = Healthy(1, 1, 1, 2) with { Members = new TalosEtcdMemberList(NodeName(1), [Member(1), Member(2), Member(3, learner: true)]) };
        var b = Assess(withLearner, Healthy(2, 1, 1, 2) with { Members = withLearner.Members! with { Node = NodeName(2) } });
        Assert.That(b.VotingMemberCount, Is.EqualTo(2));
        Assert.That(b.QuorumSize, Is.EqualTo(2));
    }

    [Test]
    public void An_init_node_blocks_disaster_recovery()
    {
        var a = Assess(NoLeader(1) with { MachineType = TalosMachineType.Init }, Preparing(2), Preparing(3));

        Assert.That(a.Verdict, Is.EqualTo(ClusterVerdict.Blocked));
        var blocker = a.Blockers.Single();
        Assert.That(blocker.Reason, Is.EqualTo(BlockerReason.InitNode));
        Assert.That(blocker.Nodes, Is.EqualTo(new[] { NodeName(1) }));
        Assert.That(blocker.WayForward, Does.Contain("controlplane"));
    }

    [Test]
    public void An_unreachable_node_blocks_disaster_recovery_but_not_a_quorum_restore()
    {
        var dr = Assess(NoLeader(1), Preparing(2), Unreachable(3));
        Assert.That(dr.Verdict, Is.EqualTo(ClusterVerdict.Blocked));
        Assert.That(dr.Blockers.Single().Reason, Is.EqualTo(BlockerReason.UnreachableNode));
        Assert.That(dr.Blockers.Single().Message, Does.Contain("connection refused"));

        var qr = Assess(Healthy(1, 1, 1, 2, 3), Healthy(2, 1, 1, 2, 3), Unreachable(3));
        Assert.That(qr.Verdict, Is.EqualTo(ClusterVerdict.QuorumRestorable));
        Assert.That(qr.QuorumRestoreActions.Select(x => x.Kind), Is.EqualTo(new[] { QuorumRestoreActionKind.RemoveMember }));
        Assert.That(qr.Notes, Has.Some.Contains("unreachable"));
    }

    [Test]
    public void A_version_older_than_the_minimum_blocks()
    {
        var a = Assess(NoLeader(1) with { Version = Base(1, "v1.8.4").Version }, Preparing(2), Preparing(3));

        Assert.That(a.Verdict, Is.EqualTo(ClusterVerdict.Blocked));
        Assert.That(a.Blockers.Single().Reason, Is.EqualTo(BlockerReason.UnsupportedVersion));
        Assert.That(ClusterAssessment.Evaluate([NoLeader(1) with { Version = Base(1, "v1.8.4").Version }], new ClusterAssessmentOptions { MinimumTalosVersion = new Version(1, 8) }).Verdict,
            Is.EqualTo(ClusterVerdict.DisasterRecoveryRequired));
    }

    [TestCase("v1.11.3", 1, 11, 3)]
    [TestCase("v1.12.0-beta.1", 1, 12, 0)]
    [TestCase("1.9", 1, 9, 0)]
    public void Version_tags_parse(string tag, int major, int minor, int patch)
        => Assert.That(ClusterAssessment.ParseTag(tag), Is.EqualTo(new Version(major, minor, patch)));

    [TestCase("")]
    [TestCase("latest")]
    [TestCase("v1")]
    public void Unparseable_version_tags_are_null(string tag) => Assert.That(ClusterAssessment.ParseTag(tag), Is.Null);

    [Test]
    public void A_role_that_cannot_read_machine_type_or_services_blocks_recovery_and_names_the_role()
    {
        var denied = new NodeObservation(NodeName(1))
        {
            EtcdStatus = Status(1, 0),
            Failures =
            [
                new ObservationFailure(TalosApiCall.MachineType, ObservationFailureKind.PermissionDenied, "PermissionDenied: not authorized", TalosRoles.Reader),
                new ObservationFailure(TalosApiCall.ServiceList, ObservationFailureKind.PermissionDenied, "PermissionDenied: not authorized", TalosRoles.Reader),
            ],
        };

        var a = Assess(denied, Preparing(2), Preparing(3));

        Assert.That(a.Verdict, Is.EqualTo(ClusterVerdict.Blocked));
        Assert.That(a.Blockers.Single().Reason, Is.EqualTo(BlockerReason.MissingPermissions));
        Assert.That(a.MissingRoles, Is.EqualTo(new[] { "os:reader" }));
    }

    [Test]
    public void An_etcd_backup_role_still_tells_a_healthy_cluster_from_its_status_and_members()
    {
        static NodeObservation BackupRoleView(int i) => Healthy(i, 1, 1, 2, 3) with
        {
            Version = null, MachineType = null, Hostname = null, EtcdService = null,
            Failures = [new ObservationFailure(TalosApiCall.ServiceList, ObservationFailureKind.PermissionDenied, "not authorized", TalosRoles.Reader)],
        };

        var a = Assess(BackupRoleView(1), BackupRoleView(2), BackupRoleView(3));

        Assert.That(a.Verdict, Is.EqualTo(ClusterVerdict.Healthy));
        Assert.That(a.MissingRoles, Is.EqualTo(new[] { "os:reader" }));
    }

    [Test]
    public void Member_list_disagreement_is_reported_and_the_odd_node_is_wiped()
    {
        // cp-3 bootstrapped a cluster of its own: its list has only a new member of its own, under its hostname.
        var alone = new global::Talos.Recovery.Client.Etcd.EtcdMember(0x9999, "cp-3", ["https://10.0.0.3:2380"], ["https://10.0.0.3:2379"], false);
        var split = Base(3) with
        {
            EtcdService = Service(NodeName(3), TalosServiceState.Running),
            EtcdStatus = Status(3, 0x9999) with { MemberId = 0x9999 },
            Members = new TalosEtcdMemberList(NodeName(3), [alone]),
        };

        var a = Assess(Healthy(1, 1, 1, 2, 3), Healthy(2, 1, 1, 2, 3), split);

        Assert.That(a.MemberListsAgree, Is.False);
        Assert.That(a.MemberListDifferences.Select(d => d.MemberId), Is.EquivalentTo(new ulong[] { 0x9999, Member(1).Id, Member(2).Id, Member(3).Id }));
        var old = a.MemberListDifferences.Single(d => d.MemberId == Member(3).Id);
        Assert.That(old.ListedBy, Is.EqualTo(new[] { NodeName(1), NodeName(2) }));
        Assert.That(old.NotListedBy, Is.EqualTo(new[] { NodeName(3) }));
        Assert.That(a.Verdict, Is.EqualTo(ClusterVerdict.QuorumRestorable));
        Assert.That(a.Members.Single(m => m.Member.Id == Member(3).Id).Healthy, Is.False);
        Assert.That(a.QuorumRestoreActions.Select(x => (x.Kind, x.Node)), Is.EqualTo(new[]
        {
            (QuorumRestoreActionKind.RemoveMember, (string?)NodeName(3)),
            (QuorumRestoreActionKind.ResetNode, (string?)NodeName(3)),
        }));
    }

    [Test]
    public void A_split_off_node_seen_while_the_majority_elects_a_leader_blocks_instead_of_wiping_the_majority()
    {
        // cp-3 split off while it led the cluster: cp-1 and cp-2 are electing a new leader (no leader, so no member list),
        // and cp-3's own one-member list is the only one read. Taking it as the cluster's would wipe cp-1 and cp-2.
        var alone = new global::Talos.Recovery.Client.Etcd.EtcdMember(0x9999, "cp-3", ["https://10.0.0.3:2380"], ["https://10.0.0.3:2379"], false);
        var split = Base(3) with
        {
            EtcdService = Service(NodeName(3), TalosServiceState.Running),
            EtcdStatus = Status(3, 0x9999) with { MemberId = 0x9999 },
            Members = new TalosEtcdMemberList(NodeName(3), [alone]),
        };

        var a = Assess(NoLeader(1), NoLeader(2), split);

        Assert.That(a.Verdict, Is.EqualTo(ClusterVerdict.Blocked));
        var blocker = a.Blockers.Single(b => b.Reason == BlockerReason.UnsettledMembership);
        Assert.That(blocker.Nodes, Is.EqualTo(new[] { NodeName(1), NodeName(2) }));
        Assert.That(blocker.Message, Does.Contain(NodeName(3)).And.Contain("no leader"));
        var e = Assert.Throws<RecoveryRefusedException>(() => RecoveryInterlocks.EnsureNotBlocked(a));
        Assert.That(e!.Reason, Is.EqualTo(RecoveryRefusalReason.UnsettledMembership));

        // Once the majority has its leader again, the verdict is the quorum restore that wipes only cp-3.
        var settled = Assess(Healthy(1, 1, 1, 2, 3), Healthy(2, 1, 1, 2, 3), split);
        Assert.That(settled.Blockers, Is.Empty);
        Assert.That(settled.QuorumRestoreActions.Where(x => x.Kind == QuorumRestoreActionKind.ResetNode).Select(x => x.Node), Is.EqualTo(new[] { NodeName(3) }));
    }

    [Test]
    public void A_node_in_its_join_loop_next_to_a_healthy_quorum_is_left_to_join()
    {
        var a = Assess(Healthy(1, 1, 1, 2), Healthy(2, 1, 1, 2), Preparing(3));

        Assert.That(a.Verdict, Is.EqualTo(ClusterVerdict.QuorumRestorable));
        Assert.That(a.QuorumRestoreActions.Single().Kind, Is.EqualTo(QuorumRestoreActionKind.WaitForJoin));
    }

    [Test]
    public void Node_conditions_follow_service_state_health_and_leader()
    {
        Assert.That(Healthy(1, 1, 1).EtcdCondition, Is.EqualTo(NodeEtcdCondition.Healthy));
        Assert.That(NoLeader(1).EtcdCondition, Is.EqualTo(NodeEtcdCondition.Unhealthy));
        Assert.That(Preparing(1).EtcdCondition, Is.EqualTo(NodeEtcdCondition.Preparing));
        Assert.That(Failed(1, "x").EtcdCondition, Is.EqualTo(NodeEtcdCondition.Failed));
        Assert.That(Unreachable(1).EtcdCondition, Is.EqualTo(NodeEtcdCondition.Unknown));
        Assert.That(Unreachable(1).IsReachable, Is.False);
        Assert.That((Base(1) with { HasNoEtcdService = true }).EtcdCondition, Is.EqualTo(NodeEtcdCondition.Absent));
        Assert.That((Healthy(1, 1, 1) with { EtcdStatus = Status(1, 1, "memberID:1 alarm:NOSPACE") }).EtcdCondition, Is.EqualTo(NodeEtcdCondition.Unhealthy));
    }

    [Test]
    public void Failures_are_classified_from_the_node_exception()
    {
        static TalosNodeException E(Grpc.Core.StatusCode code) => new("failed", "n", "machine.MachineService/X", code, "detail");

        Assert.That(ObservationFailure.FromException(TalosApiCall.Version, E(Grpc.Core.StatusCode.Unavailable)).Kind, Is.EqualTo(ObservationFailureKind.Unreachable));
        var denied = ObservationFailure.FromException(TalosApiCall.EtcdStatus, E(Grpc.Core.StatusCode.PermissionDenied));
        Assert.That((denied.Kind, denied.RequiredRole), Is.EqualTo((ObservationFailureKind.PermissionDenied, (string?)"os:etcd:backup")));
        Assert.That(ObservationFailure.FromException(TalosApiCall.EtcdMemberList, E(Grpc.Core.StatusCode.Unknown)).Message, Is.EqualTo("Unknown: detail"));
        Assert.That(ObservationFailure.FromException(TalosApiCall.MachineType, E(Grpc.Core.StatusCode.Unimplemented)).Kind, Is.EqualTo(ObservationFailureKind.NotSupported));
        Assert.That(ObservationFailure.FromException(TalosApiCall.Version, new TimeoutException()).Kind, Is.EqualTo(ObservationFailureKind.Unreachable));
    }

    [Test]
    public void Least_privileged_roles_follow_talos_rules()
    {
        Assert.That(TalosRoles.LeastPrivileged(TalosApiCall.EtcdSnapshot), Is.EqualTo("os:etcd:backup"));
        Assert.That(TalosRoles.LeastPrivileged(TalosApiCall.ServiceList), Is.EqualTo("os:reader"));
        Assert.That(TalosRoles.LeastPrivileged(TalosApiCall.MachineConfig), Is.EqualTo("os:admin"));
        Assert.That(TalosRoles.LeastPrivileged(TalosApiCall.Bootstrap), Is.EqualTo("os:admin"));
    }

    [Test]
    public void Assessing_a_node_twice_is_an_argument_error()
        => Assert.Throws<ArgumentException>(() => Assess(Preparing(1), Preparing(1)));
}
