using Talos.Recovery.Client;

namespace Talos.Recovery.Recovery;

/// <summary>Builds recovery plans from an assessment and a verified backup set. Pure: no call to the cluster.</summary>
public static class RecoveryPlanner
{
    /// <summary>The volume Talos keeps etcd's data on (with the snapshot upload) unless etcd has its own volume.</summary>
    public const string EphemeralLabel = "EPHEMERAL";

    /// <summary>The etcd volume (<c>VolumeStatuses.block.talos.dev</c> id, and reset label; Talos 1.14+): a directory on <c>EPHEMERAL</c> by default, or a partition of its own.</summary>
    public const string EtcdLabel = "ETCD";

    /// <summary>
    /// Plans the disaster recovery: reset every node (wipe <c>EPHEMERAL</c>, and <c>ETCD</c> where it is its own volume), wait for
    /// etcd <c>Preparing</c> everywhere, upload the snapshot to the bootstrap node, bootstrap it (skipping the node's hash check
    /// only for a trailer-less raw copy), wait for it to be healthy, for the others to join, and check the data.
    /// </summary>
    /// <exception cref="RecoveryRefusedException">An interlock refuses: no verified backup, a healthy or quorum-restorable verdict without <see cref="RecoveryPlanOptions.Force"/>, a blocker, no bootstrap candidate.</exception>
    public static RecoveryPlan Create(ClusterAssessment assessment, BackupSet? backup, RecoveryPlanOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(assessment);
        options ??= new RecoveryPlanOptions();
        RecoveryInterlocks.EnsureVerifiedSnapshot(backup);
        RecoveryInterlocks.EnsureRecoveryWarranted(assessment, options.Force);

        var nodes = assessment.Nodes.Select(n => n.Node).ToList();
        var bootstrap = ChooseBootstrapNode(assessment, options);
        var steps = new List<RecoveryStep>();
        var verifiedAt = $"backup set verified at {backup!.VerifiedAt:u}";

        // Reset the other nodes first and the bootstrap node last: the cluster's data stays readable on it the longest.
        foreach (var node in nodes.Where(n => n != bootstrap).Append(bootstrap))
        {
            var labels = LabelsFor(assessment.Find(node), options);
            steps.Add(new RecoveryStep(steps.Count + 1, RecoveryStepKind.ResetNode,
                $"reset {node}: wipe {string.Join(", ", labels)}, not graceful, reboot",
                $"a snapshot verified by this SDK exists locally ({verifiedAt}); skipped when etcd on {node} is already Preparing (data directory empty) or the restore has happened",
                $"{node} comes back with etcd Preparing (observed through the etcd service, not the reset reply)",
                options.ResetTimeout)
            {
                Node = node,
                LabelsToWipe = labels,
            });
        }

        steps.Add(new RecoveryStep(steps.Count + 1, RecoveryStepKind.WaitForEtcdPreparing,
            $"wait for etcd Preparing on {string.Join(", ", nodes)}",
            "every node was reset or already wiped",
            "every etcd service observed Preparing twice in a row (no reboot pending)",
            options.PreparingTimeout)
        {
            Nodes = nodes,
        });
        steps.Add(new RecoveryStep(steps.Count + 1, RecoveryStepKind.UploadSnapshot,
            $"upload {backup.Manifest.Snapshot.FileName} ({backup.Manifest.Snapshot.Length} bytes, sha256 {backup.Manifest.Snapshot.Sha256[..12]}…) to {bootstrap}",
            $"etcd on {bootstrap} is Preparing; the snapshot is verified again before the first byte",
            "EtcdRecover accepted the whole file (retried while the node answers FailedPrecondition)",
            options.UploadTimeout)
        {
            Node = bootstrap,
        });
        var skip = !backup.HasTrailer;
        steps.Add(new RecoveryStep(steps.Count + 1, RecoveryStepKind.Bootstrap,
            $"bootstrap {bootstrap} from the snapshot (recover_etcd{(skip ? ", recover_skip_hash_check: raw copy without trailer" : ", hash checked by the node")})",
            "interlocks: no init node; every etcd service Preparing",
            $"the etcd service on {bootstrap} leaves Preparing; AlreadyExists with etcd running from the restore counts as done",
            options.BootstrapTimeout)
        {
            Node = bootstrap,
            RecoverSkipHashCheck = skip,
        });
        steps.Add(new RecoveryStep(steps.Count + 1, RecoveryStepKind.WaitForEtcdHealthy,
            $"wait for etcd on {bootstrap} to run the restored data",
            "bootstrap accepted",
            "etcd Running and healthy, with a leader; Failed turns into an error carrying the service's last event message",
            options.HealthyTimeout)
        {
            Node = bootstrap,
            Nodes = [bootstrap],
        });
        steps.Add(new RecoveryStep(steps.Count + 1, RecoveryStepKind.WaitForMembersJoined,
            $"wait for {string.Join(", ", nodes.Where(n => n != bootstrap).DefaultIfEmpty("(no other node)"))} to join",
            $"etcd on {bootstrap} healthy",
            $"every node's etcd Running and healthy, and {bootstrap}'s member list has a member for each node",
            options.JoinTimeout)
        {
            Node = bootstrap,
            Nodes = nodes,
        });
        steps.Add(new RecoveryStep(steps.Count + 1, RecoveryStepKind.VerifyRestoredData,
            $"check the restored data: revision ≥ {backup.Status.Revision}{(backup.Status.LiveKeyCount is { } live ? $", {live} live keys at that revision" : string.Empty)}",
            "every member joined",
            "a fresh snapshot from the cluster, verified by this SDK: its revision is at least the backup's, and equal revisions hold the same number of live keys",
            options.VerifyTimeout)
        {
            Node = bootstrap,
        });

        return new RecoveryPlan(RecoveryPlanKind.DisasterRecovery, DateTimeOffset.UtcNow, assessment, backup, nodes, bootstrap, options.Force && assessment.Verdict != ClusterVerdict.DisasterRecoveryRequired, steps, Warnings(assessment, backup, steps, options));
    }

    /// <summary>
    /// Plans a quorum restore from a <see cref="ClusterVerdict.QuorumRestorable"/> assessment: remove each dead member through a
    /// healthy node, wipe its node's <c>EPHEMERAL</c> so it joins again, and wait for every node to be a healthy member.
    /// A verified backup is required all the same: it is the way back if something goes wrong.
    /// </summary>
    public static RecoveryPlan CreateQuorumRestore(ClusterAssessment assessment, BackupSet? backup, RecoveryPlanOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(assessment);
        options ??= new RecoveryPlanOptions();
        RecoveryInterlocks.EnsureVerifiedSnapshot(backup);
        if (assessment.Verdict == ClusterVerdict.Blocked)
        {
            RecoveryInterlocks.EnsureNotBlocked(assessment);
        }

        if (assessment.Verdict == ClusterVerdict.Healthy)
        {
            throw new RecoveryRefusedException(RecoveryRefusalReason.ClusterHealthy, "The cluster is healthy; there is no quorum to restore.", "Nothing to do.");
        }

        if (assessment.Verdict != ClusterVerdict.QuorumRestorable)
        {
            throw new RecoveryRefusedException(RecoveryRefusalReason.PlanMismatch,
                $"Quorum is lost ({assessment.HealthyMemberCount} of {assessment.VotingMemberCount} members healthy, {assessment.QuorumSize} needed); removing members needs quorum.",
                "Plan a disaster recovery (RecoveryPlanner.Create) from the backup.");
        }

        var via = assessment.Members.First(m => m.Healthy).Node!;
        var steps = new List<RecoveryStep>();
        foreach (var action in assessment.QuorumRestoreActions)
        {
            switch (action.Kind)
            {
                case QuorumRestoreActionKind.RemoveMember:
                    steps.Add(new RecoveryStep(steps.Count + 1, RecoveryStepKind.RemoveMember, action.Description,
                        $"quorum holds; skipped when {via}'s member list no longer has {action.MemberId:x16}",
                        $"{via}'s member list no longer has {action.MemberId:x16}",
                        options.RemoveMemberTimeout)
                    {
                        Node = action.Node,
                        MemberId = action.MemberId,
                        ViaNode = via,
                    });
                    break;
                case QuorumRestoreActionKind.ResetNode:
                    var labels = LabelsFor(assessment.Find(action.Node!), options);
                    steps.Add(new RecoveryStep(steps.Count + 1, RecoveryStepKind.ResetNode,
                        $"reset {action.Node}: wipe {string.Join(", ", labels)}, not graceful, reboot",
                        $"a snapshot verified by this SDK exists locally; its member was removed; skipped when etcd on {action.Node} is Preparing or it runs a healthy member again",
                        $"{action.Node} comes back with etcd Preparing, then joins",
                        options.ResetTimeout)
                    {
                        Node = action.Node,
                        LabelsToWipe = labels,
                    });
                    break;
            }
        }

        var nodes = assessment.Nodes.Where(n => n.IsReachable).Select(n => n.Node).ToList();
        steps.Add(new RecoveryStep(steps.Count + 1, RecoveryStepKind.WaitForMembersJoined,
            $"wait for {string.Join(", ", nodes)} to be healthy members",
            "the dead members removed, their nodes wiped",
            $"every node's etcd Running and healthy, and {via}'s member list has a member for each node",
            options.JoinTimeout)
        {
            Node = via,
            Nodes = nodes,
        });
        return new RecoveryPlan(RecoveryPlanKind.QuorumRestore, DateTimeOffset.UtcNow, assessment, backup!, nodes, null, forced: false, steps, Warnings(assessment, backup!, steps, options));
    }

    /// <summary>
    /// The system labels a reset of <paramref name="node"/> wipes: <c>EPHEMERAL</c>, and <c>ETCD</c> as well where etcd's data has a
    /// volume of its own (<see cref="RecoveryPlanOptions.EtcdOnSeparateVolume"/> when set, else the node's observed <c>ETCD</c> volume).
    /// </summary>
    public static IReadOnlyList<string> LabelsFor(NodeObservation? node, RecoveryPlanOptions? options = null)
        => (options?.EtcdOnSeparateVolume ?? node?.EtcdOnSeparateVolume ?? false) ? [EphemeralLabel, EtcdLabel] : [EphemeralLabel];

    private static string ChooseBootstrapNode(ClusterAssessment assessment, RecoveryPlanOptions options)
    {
        static bool Candidate(NodeObservation n) => n.IsReachable && n.MachineType is TalosMachineType.ControlPlane or null;
        if (options.BootstrapNode is { } chosen)
        {
            var node = assessment.Find(chosen);
            if (node is null || !Candidate(node))
            {
                throw new RecoveryRefusedException(RecoveryRefusalReason.NoBootstrapCandidate,
                    $"{chosen} cannot bootstrap: {(node is null ? "it was not assessed" : node.IsReachable ? $"it is {node.MachineType}" : "it is unreachable")}.",
                    "Choose a reachable control-plane node from the assessment, or leave the choice to the planner.", [chosen]);
            }

            return chosen;
        }

        var candidates = assessment.Nodes.Where(Candidate).ToList();
        if (candidates.Count == 0)
        {
            throw new RecoveryRefusedException(RecoveryRefusalReason.NoBootstrapCandidate,
                "No reachable control-plane node can bootstrap the restored cluster.", "Bring a control-plane node back and assess again.");
        }

        return (candidates.FirstOrDefault(n => n.EtcdCondition == NodeEtcdCondition.Preparing) ?? candidates[0]).Node;
    }

    private static List<string> Warnings(ClusterAssessment assessment, BackupSet backup, List<RecoveryStep> steps, RecoveryPlanOptions options)
    {
        var warnings = new List<string>(assessment.Notes);
        if (options.EtcdOnSeparateVolume is null)
        {
            foreach (var node in steps.Where(s => s.Kind == RecoveryStepKind.ResetNode).Select(s => assessment.Find(s.Node!)).Where(n => n is { IsReachable: true, EtcdOnSeparateVolume: null }))
            {
                var failure = node!.Failures.FirstOrDefault(f => f.Call == TalosApiCall.VolumeStatus);
                warnings.Add($"Whether {node.Node} keeps etcd on a separate ETCD volume could not be read ({failure?.Message ?? "not observed"}): its reset wipes EPHEMERAL only. If etcd has a partition of its own there, set RecoveryPlanOptions.EtcdOnSeparateVolume.");
            }
        }

        var backedUp = backup.Manifest.Nodes.Select(n => n.Node).ToHashSet(StringComparer.Ordinal);
        var assessed = assessment.Nodes.Select(n => n.Node).ToHashSet(StringComparer.Ordinal);
        if (!backedUp.SetEquals(assessed))
        {
            warnings.Add($"The backup was taken of nodes {string.Join(", ", backedUp.Order())}; the cluster assessed has {string.Join(", ", assessed.Order())}.");
        }

        var age = assessment.AssessedAt - backup.Manifest.CreatedAt;
        if (age > TimeSpan.FromHours(1))
        {
            warnings.Add($"The backup is {age.TotalHours:F1} hours older than the assessment: everything written since is lost.");
        }

        if (backup.Manifest.Snapshot.Method == BackupSnapshotMethod.RawCopy)
        {
            warnings.Add("The snapshot is a raw copy of member/snap/db without a SHA-256 trailer: the node restores it with its hash check skipped (this SDK verified its structure and status).");
        }

        return warnings;
    }
}
