using Talos.Recovery.Client;
using Talos.Recovery.Recovery;
using static Talos.Recovery.Tests.Recovery.RecoveryTestData;

namespace Talos.Recovery.Tests.Recovery;

public class RecoveryResumeTests
{
    private RecoveryPlan _plan = null!; // bootstrap node 10.0.0.2; steps: reset 1, reset 3, reset 2, wait, upload, bootstrap, healthy, joined, verify

    [OneTimeSetUp]
    public void MakePlan()
        => _plan = RecoveryPlanner.Create(Assess(NoLeader(1), Preparing(2), Preparing(3)), WriteBackup(Path.Combine(NewDirectory(), "b")));

    private RecoveryResumePoint Resume(IReadOnlySet<int>? completed, params NodeObservation[] nodes) => RecoveryResume.Evaluate(_plan, nodes, completed);

    private static NodeObservation RestoredAlone(int i) => Healthy(i, i, i);

    [Test]
    public void At_the_start_only_the_node_that_still_has_data_is_reset()
    {
        var point = Resume(null, NoLeader(1), Preparing(2), Preparing(3));

        Assert.That(point.Next!.Step.Number, Is.EqualTo(1));
        Assert.That(point.Steps.Select(s => s.State).Take(3), Is.EqualTo(new[] { RecoveryStepState.Pending, RecoveryStepState.Done, RecoveryStepState.Done }));
        Assert.That(point.Steps[1].Reason, Does.Contain("not reset again"));
    }

    [Test]
    public void When_every_node_is_preparing_it_goes_on_with_the_wait()
    {
        var point = Resume(null, Preparing(1), Preparing(2), Preparing(3));

        Assert.That(point.Next!.Step.Kind, Is.EqualTo(RecoveryStepKind.WaitForEtcdPreparing));
    }

    [Test]
    public void A_node_rebooting_after_its_reset_is_waited_for_not_reset_again()
    {
        var unreachable = Resume(null, Unreachable(1), Preparing(2), Preparing(3));
        Assert.That((unreachable.Next!.Step.Number, unreachable.Next.State), Is.EqualTo((1, RecoveryStepState.InProgress)));

        var booting = Resume(null, Base(1) with { EtcdService = Service(NodeName(1), TalosServiceState.Waiting) }, Preparing(2), Preparing(3));
        Assert.That(booting.Next!.State, Is.EqualTo(RecoveryStepState.InProgress));

        var requested = Resume(new HashSet<int> { 1 }, NoLeader(1), Preparing(2), Preparing(3));
        Assert.That(requested.Next!.State, Is.EqualTo(RecoveryStepState.InProgress), "the reset was requested in this run; the node has not gone down yet");
    }

    [Test]
    public void Once_the_bootstrap_node_runs_the_restored_data_no_node_is_reset()
    {
        var point = Resume(null, NoLeader(1), RestoredAlone(2), Preparing(3));

        Assert.That(point.Steps.Take(7).Select(s => s.State), Is.All.EqualTo(RecoveryStepState.Done));
        Assert.That(point.Next!.Step.Kind, Is.EqualTo(RecoveryStepKind.WaitForMembersJoined));
        Assert.That(point.Next.Reason, Does.Contain("10.0.0.1"));
    }

    [Test]
    public void An_accepted_bootstrap_whose_restore_still_runs_is_not_repeated()
    {
        var point = Resume(null, Preparing(1), Preparing(2, "Bootstrap requested", "Running pre state"), Preparing(3));

        Assert.That(point.Next!.Step.Kind, Is.EqualTo(RecoveryStepKind.WaitForEtcdHealthy));
    }

    [TestCase(TalosServiceState.Finished)]
    [TestCase(TalosServiceState.Starting)]
    [TestCase(TalosServiceState.Failed)]
    public void After_this_runs_bootstrap_no_node_is_reset_whatever_state_etcd_passes_through(TalosServiceState state)
    {
        // Found by the drill: right after the bootstrap call the old etcd service is Finished ("Bootstrap requested"),
        // then Starting; a reset step skipped earlier in the run must not come back as pending and wipe the restore.
        var bootstrap = _plan.Steps.Single(s => s.Kind == RecoveryStepKind.Bootstrap).Number;
        var completed = _plan.Steps.Where(s => s.Number <= bootstrap && s.Kind != RecoveryStepKind.ResetNode).Select(s => s.Number).ToHashSet();
        var boot = Base(2) with { EtcdService = Service(NodeName(2), state, healthy: false) };

        var point = Resume(completed, Preparing(1), boot, Preparing(3));

        Assert.That(point.Steps.Where(s => s.Step.Kind == RecoveryStepKind.ResetNode).Select(s => s.State), Is.All.EqualTo(RecoveryStepState.Done));
        Assert.That(point.Next!.Step.Kind, Is.EqualTo(RecoveryStepKind.WaitForEtcdHealthy));
    }

    [Test]
    public void A_failed_restore_wipes_the_bootstrap_node_again()
    {
        var point = Resume(null, Preparing(1), Failed(2, "Failed to run pre stage: error recovering from the snapshot: expected sha256"), Preparing(3));

        Assert.That((point.Next!.Step.Kind, point.Next.Step.Node), Is.EqualTo((RecoveryStepKind.ResetNode, (string?)NodeName(2))));
        Assert.That(point.Next.Reason, Does.Contain("error recovering from the snapshot"));
    }

    [Test]
    public void When_every_member_joined_only_the_data_check_is_left_and_then_nothing()
    {
        var nodes = new[] { Healthy(1, 2, 1, 2, 3), Healthy(2, 2, 1, 2, 3), Healthy(3, 2, 1, 2, 3) };

        Assert.That(Resume(null, nodes).Next!.Step.Kind, Is.EqualTo(RecoveryStepKind.VerifyRestoredData));
        Assert.That(Resume(new HashSet<int> { 9 }, nodes).IsComplete, Is.True);
    }

    [Test]
    public void A_member_that_is_only_a_learner_has_not_joined_yet()
    {
        var withLearner = Healthy(2, 2, 1, 2) with { Members = new TalosEtcdMemberList(NodeName(2), [Member(1), Member(2), Member(3, learner: true)]) };

        var point = Resume(null, Healthy(1, 2, 1, 2), withLearner, Healthy(3, 2, 1, 2, 3));

        Assert.That(point.Next!.Step.Kind, Is.EqualTo(RecoveryStepKind.WaitForMembersJoined));
        Assert.That(point.Next.Reason, Does.Contain("10.0.0.3"));
    }

    [Test]
    public void A_forced_plan_on_a_healthy_cluster_does_not_mistake_the_old_etcd_for_the_restore()
    {
        var healthy = new[] { Healthy(1, 1, 1, 2, 3), Healthy(2, 1, 1, 2, 3), Healthy(3, 1, 1, 2, 3) };
        var forced = RecoveryPlanner.Create(ClusterAssessment.Evaluate(healthy), _plan.Backup, new RecoveryPlanOptions { Force = true });

        var before = RecoveryResume.Evaluate(forced, healthy);
        Assert.That((before.Next!.Step.Kind, before.Next.State), Is.EqualTo((RecoveryStepKind.ResetNode, RecoveryStepState.Pending)));

        var bootstrap = forced.Steps.Single(s => s.Kind == RecoveryStepKind.Bootstrap).Number;
        var after = RecoveryResume.Evaluate(forced, [Healthy(1, 1, 1)], new HashSet<int> { bootstrap });
        Assert.That(after.Steps.Single(s => s.Step.Kind == RecoveryStepKind.WaitForEtcdHealthy).State, Is.EqualTo(RecoveryStepState.Done));
    }

    [Test]
    public void A_quorum_restore_resumes_after_the_removal()
    {
        var assessment = Assess(Healthy(1, 1, 1, 2, 3), Healthy(2, 1, 1, 2, 3), Failed(3, "boom"));
        var plan = RecoveryPlanner.CreateQuorumRestore(assessment, _plan.Backup);

        var removed = RecoveryResume.Evaluate(plan, [Healthy(1, 1, 1, 2), Healthy(2, 1, 1, 2), Failed(3, "boom")]);
        Assert.That(removed.Steps.Select(s => s.State), Is.EqualTo(new[] { RecoveryStepState.Done, RecoveryStepState.Pending, RecoveryStepState.Pending }));

        var rejoined = Healthy(3, 1, 1, 2, 4) with { EtcdStatus = Status(3, Member(1).Id) with { MemberId = Member(4).Id } };
        var done = RecoveryResume.Evaluate(plan, [Healthy(1, 1, 1, 2, 4), Healthy(2, 1, 1, 2, 4), rejoined]);
        Assert.That(done.Steps.Take(2).Select(s => s.State), Is.All.EqualTo(RecoveryStepState.Done));
        Assert.That(RecoveryFormatter.FormatResume(done), Does.Contain("[Done]"));
    }

    [Test]
    public void A_node_healthy_in_a_cluster_of_its_own_is_still_reset_by_a_quorum_restore()
    {
        var alone = new global::Talos.Recovery.Client.Etcd.EtcdMember(0x9999, "cp-3", ["https://10.0.0.3:2380"], ["https://10.0.0.3:2379"], false);
        var split = Base(3) with
        {
            EtcdService = Service(NodeName(3), TalosServiceState.Running),
            EtcdStatus = Status(3, 0x9999) with { MemberId = 0x9999 },
            Members = new TalosEtcdMemberList(NodeName(3), [alone]),
        };
        var plan = RecoveryPlanner.CreateQuorumRestore(Assess(Healthy(1, 1, 1, 2, 3), Healthy(2, 1, 1, 2, 3), split), _plan.Backup);

        // After the removal cp-3 still runs its healthy member 0x9999: a member of no list but its own, so not rejoined.
        var point = RecoveryResume.Evaluate(plan, [Healthy(1, 1, 1, 2), Healthy(2, 1, 1, 2), split]);
        var reset = point.Steps.Single(s => s.Step.Kind == RecoveryStepKind.ResetNode);
        Assert.That(reset.State, Is.EqualTo(RecoveryStepState.Pending), reset.Reason);

        // Once it runs a member the cluster lists, it has rejoined.
        var joined = Healthy(3, 1, 1, 2, 5) with { EtcdStatus = Status(3, Member(1).Id) with { MemberId = Member(5).Id } };
        var done = RecoveryResume.Evaluate(plan, [Healthy(1, 1, 1, 2, 5), Healthy(2, 1, 1, 2, 5), joined]);
        Assert.That(done.Steps.Single(s => s.Step.Kind == RecoveryStepKind.ResetNode).State, Is.EqualTo(RecoveryStepState.Done));
    }
}
