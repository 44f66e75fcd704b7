namespace Talos.Recovery.Recovery;

/// <summary>Where a plan's step stands against the observed cluster.</summary>
public enum RecoveryStepState
{
    /// <summary>The step still has to run.</summary>
    Pending = 1,

    /// <summary>The step's effect was started and is still under way (e.g. a node rebooting after its reset): wait, do not repeat it.</summary>
    InProgress,

    /// <summary>The step's target state is observed (or it was completed in this run): skip it.</summary>
    Done,
}

/// <summary>One step's standing, with the observation that decided it.</summary>
/// <param name="Step">The step.</param>
/// <param name="State">Its standing.</param>
/// <param name="Reason">The observation that decided it.</param>
public sealed record RecoveryStepStatus(RecoveryStep Step, RecoveryStepState State, string Reason);

/// <summary>Where to resume a plan: every step's standing; the next step is the first one not done.</summary>
/// <param name="Steps">Each step's standing, in plan order.</param>
public sealed record RecoveryResumePoint(IReadOnlyList<RecoveryStepStatus> Steps)
{
    /// <summary>The first step not done, or <see langword="null"/> when the plan is complete.</summary>
    public RecoveryStepStatus? Next => Steps.FirstOrDefault(s => s.State != RecoveryStepState.Done);

    /// <summary>Whether every step is done.</summary>
    public bool IsComplete => Next is null;
}

/// <summary>
/// Decides, from a plan and freshly observed nodes, which steps are already done — so that running a plan again after an
/// interruption continues from the cluster's state. Pure. The rules never wipe a node that is in its target state: a node
/// whose etcd is <c>Preparing</c> is not reset again, and once the bootstrap node runs the restored etcd no node is reset at all.
/// </summary>
public static class RecoveryResume
{
    /// <summary>Every step's standing.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="observations">A fresh observation of (at least) every node of the plan.</param>
    /// <param name="completedSteps">Numbers of the steps this run already completed (a reset whose node has not gone down yet, the final check).</param>
    public static RecoveryResumePoint Evaluate(RecoveryPlan plan, IReadOnlyList<NodeObservation> observations, IReadOnlySet<int>? completedSteps = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(observations);
        completedSteps ??= new HashSet<int>();
        var byNode = observations.GroupBy(o => o.Node).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        NodeObservation Observe(string node) => byNode.TryGetValue(node, out var o) ? o : new NodeObservation(node);

        return plan.Kind == RecoveryPlanKind.DisasterRecovery
            ? EvaluateDisasterRecovery(plan, Observe, completedSteps)
            : EvaluateQuorumRestore(plan, Observe, completedSteps);
    }

    private static RecoveryResumePoint EvaluateDisasterRecovery(RecoveryPlan plan, Func<string, NodeObservation> observe, IReadOnlySet<int> completed)
    {
        var boot = observe(plan.BootstrapNode!);
        var bootstrapStep = plan.Steps.First(s => s.Kind == RecoveryStepKind.Bootstrap);
        var bootstrapCalled = completed.Contains(bootstrapStep.Number) || BootstrapRequested(boot);

        // The restore has happened when the bootstrap node runs a healthy etcd: in a cluster that needed recovery no node
        // was healthy. Had it been healthy at assessment (a forced plan), only this run's bootstrap proves it.
        var wasHealthy = plan.Assessment.Find(boot.Node)?.EtcdCondition == NodeEtcdCondition.Healthy;
        var restored = boot.EtcdCondition == NodeEtcdCondition.Healthy && (!wasHealthy || bootstrapCalled);
        var restoring = !restored && bootstrapCalled && boot.EtcdCondition is NodeEtcdCondition.Preparing or NodeEtcdCondition.Waiting or NodeEtcdCondition.Unhealthy;
        // Once this run's bootstrap was accepted, no node is reset in this run whatever state etcd passes through
        // (Finished, Starting… right after the call); a restore that fails surfaces as the wait's typed error, and only a
        // later run may wipe the failed node again.
        var afterBootstrap = restored || restoring || completed.Contains(bootstrapStep.Number);
        var why = restored ? $"etcd on {boot.Node} runs the restored data" : $"the bootstrap of {boot.Node} was accepted and its restore runs";

        var result = new List<RecoveryStepStatus>();
        foreach (var step in plan.Steps)
        {
            result.Add(step.Kind switch
            {
                RecoveryStepKind.ResetNode when afterBootstrap => new(step, RecoveryStepState.Done, $"{why}: no node is wiped any more"),
                RecoveryStepKind.ResetNode => ResetState(step, observe(step.Node!), completed.Contains(step.Number)),
                RecoveryStepKind.WaitForEtcdPreparing or RecoveryStepKind.UploadSnapshot or RecoveryStepKind.Bootstrap when afterBootstrap
                    => new(step, RecoveryStepState.Done, why),
                RecoveryStepKind.WaitForEtcdHealthy when restored => new(step, RecoveryStepState.Done, why),
                RecoveryStepKind.WaitForMembersJoined when restored && Joined(step, observe) is null => new(step, RecoveryStepState.Done, "every node runs a healthy member"),
                RecoveryStepKind.WaitForMembersJoined when restored => new(step, RecoveryStepState.Pending, Joined(step, observe)!),
                _ when completed.Contains(step.Number) => new(step, RecoveryStepState.Done, "completed in this run"),
                _ => new(step, RecoveryStepState.Pending, $"etcd on {boot.Node}: {RecoveryInterlocks.Describe(boot)}"),
            });
        }

        return new RecoveryResumePoint(result);
    }

    private static RecoveryResumePoint EvaluateQuorumRestore(RecoveryPlan plan, Func<string, NodeObservation> observe, IReadOnlySet<int> completed)
    {
        var removed = plan.Steps.Where(s => s.Kind == RecoveryStepKind.RemoveMember).Select(s => s.MemberId!.Value).ToHashSet();

        // The node whose member list is the cluster's: a node counts as rejoined only with a member in that list, not when it
        // runs a healthy etcd of a cluster of its own (a split brain).
        var clusterNode = plan.Steps.FirstOrDefault(s => s.Kind == RecoveryStepKind.WaitForMembersJoined)?.Node
                          ?? plan.Steps.FirstOrDefault(s => s.Kind == RecoveryStepKind.RemoveMember)?.ViaNode;
        var clusterList = clusterNode is null ? null : observe(clusterNode).Members;
        var result = new List<RecoveryStepStatus>();
        foreach (var step in plan.Steps)
        {
            switch (step.Kind)
            {
                case RecoveryStepKind.RemoveMember:
                    var via = observe(step.ViaNode!);
                    result.Add(via.Members is { } list && list.Members.All(m => m.Id != step.MemberId)
                        ? new(step, RecoveryStepState.Done, $"{via.Node}'s member list no longer has {step.MemberId:x16}")
                        : completed.Contains(step.Number)
                            ? new(step, RecoveryStepState.Done, "completed in this run")
                            : new(step, RecoveryStepState.Pending, via.Members is null ? $"{via.Node} could not list members" : $"{via.Node}'s member list still has {step.MemberId:x16}"));
                    break;
                case RecoveryStepKind.ResetNode:
                    var node = observe(step.Node!);
                    var rejoined = node.EtcdCondition == NodeEtcdCondition.Healthy && node.EtcdStatus is { } status && !removed.Contains(status.MemberId)
                                   && (clusterNode == node.Node || clusterList?.Members.Any(m => m.Id == status.MemberId) == true);
                    result.Add(rejoined
                        ? new(step, RecoveryStepState.Done, $"{node.Node} runs a new healthy member of {clusterNode}'s cluster")
                        : ResetState(step, node, completed.Contains(step.Number)));
                    break;
                case RecoveryStepKind.WaitForMembersJoined:
                    var missing = Joined(step, observe);
                    result.Add(missing is null ? new(step, RecoveryStepState.Done, "every node runs a healthy member") : new(step, RecoveryStepState.Pending, missing));
                    break;
                default:
                    result.Add(new(step, completed.Contains(step.Number) ? RecoveryStepState.Done : RecoveryStepState.Pending, string.Empty));
                    break;
            }
        }

        return new RecoveryResumePoint(result);
    }

    private static RecoveryStepStatus ResetState(RecoveryStep step, NodeObservation node, bool called)
    {
        if (!node.IsReachable)
        {
            return new(step, RecoveryStepState.InProgress, $"{node.Node} is unreachable (rebooting after a reset?): waiting for it");
        }

        return node.EtcdCondition switch
        {
            NodeEtcdCondition.Preparing => new(step, RecoveryStepState.Done, $"etcd on {node.Node} is Preparing: already wiped, not reset again"),
            NodeEtcdCondition.Waiting => new(step, RecoveryStepState.InProgress, $"etcd on {node.Node} waits for its dependencies (booting): waiting for it to settle"),
            NodeEtcdCondition.Unknown => new(step, RecoveryStepState.InProgress, $"etcd on {node.Node} is not known yet: waiting"),
            _ when called => new(step, RecoveryStepState.InProgress, $"reset of {node.Node} requested; etcd still {RecoveryInterlocks.Describe(node)}"),
            _ => new(step, RecoveryStepState.Pending, $"etcd on {node.Node}: {RecoveryInterlocks.Describe(node)}"),
        };
    }

    /// <summary>Why the members have not all joined yet, or <see langword="null"/> when they have.</summary>
    internal static string? Joined(RecoveryStep step, Func<string, NodeObservation> observe)
    {
        var notHealthy = step.Nodes.Select(observe).Where(n => n.EtcdCondition != NodeEtcdCondition.Healthy).ToList();
        if (notHealthy.Count > 0)
        {
            return "not yet healthy: " + string.Join("; ", notHealthy.Select(n => $"{n.Node}: {RecoveryInterlocks.Describe(n)}"));
        }

        var lister = observe(step.Node ?? step.Nodes[0]);
        if (lister.Members is not { } list)
        {
            return $"{lister.Node} could not list the members";
        }

        var absent = step.Nodes.Select(observe).Where(n => !list.Members.Any(m => !m.IsLearner && n.IsMember(m))).Select(n => n.Node).ToList();
        return absent.Count > 0 ? $"not yet voting members in {lister.Node}'s list: {string.Join(", ", absent)}" : null;
    }

    /// <summary>Whether the etcd service's events show an accepted bootstrap (Talos marks the old service <c>Finished: Bootstrap requested</c>).</summary>
    internal static bool BootstrapRequested(NodeObservation node)
        => node.EtcdService?.Events.Any(e => e.Message.Contains("Bootstrap requested", StringComparison.OrdinalIgnoreCase)) == true;
}
