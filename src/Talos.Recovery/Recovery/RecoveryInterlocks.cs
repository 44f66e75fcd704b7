using Talos.Recovery.Client;

namespace Talos.Recovery.Recovery;

/// <summary>
/// The interlocks of the recovery procedure as pure checks. Each throws <see cref="RecoveryRefusedException"/> with the
/// reason and the way forward; the planner and the executor call them before the steps they guard.
/// </summary>
public static class RecoveryInterlocks
{
    /// <summary>No reset without a snapshot verified by this SDK: <paramref name="backup"/> must exist (only <see cref="BackupSet.Open"/> makes one, after verifying) and its snapshot must still be the file that was verified.</summary>
    public static void EnsureVerifiedSnapshot(BackupSet? backup)
    {
        if (backup is null)
        {
            throw new RecoveryRefusedException(RecoveryRefusalReason.SnapshotNotVerified,
                "No snapshot verified by this SDK exists locally; nothing may be wiped without one.",
                "Take a backup (BackupAsync / 'recover backup DIR') or open an existing one with BackupSet.Open, which verifies it.");
        }

        var file = new FileInfo(backup.SnapshotPath);
        if (!file.Exists || file.Length != backup.Manifest.Snapshot.Length)
        {
            throw new RecoveryRefusedException(RecoveryRefusalReason.SnapshotNotVerified,
                $"The verified snapshot '{backup.SnapshotPath}' is gone or changed since it was verified.",
                "Open the backup set again (BackupSet.Open verifies it) or take a new backup.");
        }
    }

    /// <summary>No disaster recovery when the verdict is <see cref="ClusterVerdict.Healthy"/> or <see cref="ClusterVerdict.QuorumRestorable"/> unless forced; none while anything blocks it (an <c>init</c> node above all).</summary>
    public static void EnsureRecoveryWarranted(ClusterAssessment assessment, bool force)
    {
        ArgumentNullException.ThrowIfNull(assessment);
        EnsureNotBlocked(assessment);
        if (force)
        {
            return;
        }

        if (assessment.Verdict == ClusterVerdict.Healthy)
        {
            throw new RecoveryRefusedException(RecoveryRefusalReason.ClusterHealthy,
                $"The cluster is healthy ({assessment.HealthyMemberCount} of {assessment.VotingMemberCount} members); a restore would lose everything written since the backup.",
                "Nothing to recover. To rehearse, use the drill; to restore anyway, force the plan.");
        }

        if (assessment.Verdict == ClusterVerdict.QuorumRestorable)
        {
            throw new RecoveryRefusedException(RecoveryRefusalReason.QuorumRestorable,
                $"Quorum holds ({assessment.HealthyMemberCount} of {assessment.VotingMemberCount} members healthy, {assessment.QuorumSize} needed); no snapshot restore is needed.",
                "Restore quorum instead: " + string.Join("; ", assessment.QuorumRestoreActions.Select(a => a.Description)) + " (RecoveryPlanner.CreateQuorumRestore). To restore the snapshot anyway, force the plan.");
        }
    }

    /// <summary>Refuses when the assessment lists a blocker (an <c>init</c> node first: it is never overridable).</summary>
    public static void EnsureNotBlocked(ClusterAssessment assessment)
    {
        ArgumentNullException.ThrowIfNull(assessment);
        var blocker = assessment.Blockers.OrderBy(b => b.Reason switch
        {
            BlockerReason.InitNode => 0,
            BlockerReason.NoNodes => 1,
            BlockerReason.UnsupportedVersion => 2,
            BlockerReason.NotControlPlane => 3,
            BlockerReason.UnreachableNode => 4,
            _ => 5,
        }).FirstOrDefault();
        if (blocker is null)
        {
            return;
        }

        var reason = blocker.Reason switch
        {
            BlockerReason.InitNode => RecoveryRefusalReason.InitNodePresent,
            BlockerReason.UnreachableNode => RecoveryRefusalReason.UnreachableNodes,
            BlockerReason.UnsupportedVersion => RecoveryRefusalReason.UnsupportedVersion,
            BlockerReason.NotControlPlane => RecoveryRefusalReason.NotControlPlane,
            BlockerReason.MissingPermissions => RecoveryRefusalReason.MissingPermissions,
            BlockerReason.UnsettledMembership => RecoveryRefusalReason.UnsettledMembership,
            _ => RecoveryRefusalReason.NoBootstrapCandidate,
        };
        throw new RecoveryRefusedException(reason, blocker.Message, blocker.WayForward, blocker.Nodes);
    }

    /// <summary>No <c>init</c> node among <paramref name="nodes"/> (checked again right before the bootstrap).</summary>
    public static void EnsureNoInitNode(IEnumerable<NodeObservation> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var init = nodes.Where(n => n.MachineType == TalosMachineType.Init).Select(n => n.Node).ToList();
        if (init.Count > 0)
        {
            throw new RecoveryRefusedException(RecoveryRefusalReason.InitNodePresent,
                $"{string.Join(", ", init)}: init node; Talos never restores a snapshot on an init node's bootstrap path.",
                "Convert each init node to type controlplane and run the plan again.", init);
        }
    }

    /// <summary>No bootstrap unless every etcd service is <c>Preparing</c> (wiped and in its join loop, no reboot pending).</summary>
    public static void EnsureAllPreparing(IEnumerable<NodeObservation> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var list = nodes.ToList();
        var notPreparing = list.Where(n => n.EtcdCondition != NodeEtcdCondition.Preparing).ToList();
        if (notPreparing.Count > 0)
        {
            throw new RecoveryRefusedException(RecoveryRefusalReason.EtcdNotPreparing,
                "etcd is not Preparing on every node: " + string.Join("; ", notPreparing.Select(n => $"{n.Node}: {Describe(n)}")) + ".",
                "Wait until every wiped node is back in its join loop (etcd Preparing); reset the nodes whose etcd still runs or failed (the plan does both when run again).",
                notPreparing.Select(n => n.Node).ToList());
        }
    }

    internal static string Describe(NodeObservation node)
    {
        if (!node.IsReachable)
        {
            return "unreachable";
        }

        return node.EtcdService is { } service
            ? $"{service.StateText}{(service.LastEvent is { } e ? $" ({e.Message})" : string.Empty)}"
            : node.EtcdCondition.ToString();
    }
}
