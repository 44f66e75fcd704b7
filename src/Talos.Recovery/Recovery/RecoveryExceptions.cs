namespace Talos.Recovery.Recovery;

/// <summary>Why the recovery procedure refused to go on (each with a way forward in <see cref="RecoveryRefusedException.WayForward"/>).</summary>
public enum RecoveryRefusalReason
{
    /// <summary>No snapshot verified by this SDK exists locally: nothing may be wiped before one does.</summary>
    SnapshotNotVerified = 1,

    /// <summary>The cluster is healthy; a recovery would only destroy data written since the backup.</summary>
    ClusterHealthy,

    /// <summary>Quorum can be restored without a snapshot (remove the dead members and wipe their nodes).</summary>
    QuorumRestorable,

    /// <summary>A node is an <c>init</c> node: its bootstrap path never restores a snapshot, so the restore would be silently skipped.</summary>
    InitNodePresent,

    /// <summary>Some nodes could not be reached, so their state (and whether they would rejoin with stale data) is unknown.</summary>
    UnreachableNodes,

    /// <summary>A node runs a Talos version this SDK does not support for recovery.</summary>
    UnsupportedVersion,

    /// <summary>A node is not a configured control plane (a worker, or no machine configuration).</summary>
    NotControlPlane,

    /// <summary>The client's role could not read what the decision needs.</summary>
    MissingPermissions,

    /// <summary>Bootstrap asked while some etcd service is not in <c>Preparing</c> (a node not wiped, still rebooting, or a reboot pending).</summary>
    EtcdNotPreparing,

    /// <summary>No reachable control-plane node can bootstrap the restored cluster.</summary>
    NoBootstrapCandidate,

    /// <summary>The plan does not match the cluster or the backup it is run against.</summary>
    PlanMismatch,

    /// <summary>Nodes run etcd members outside the cluster's member list without a leader (an election, or a second cluster): which side to keep cannot be told yet.</summary>
    UnsettledMembership,
}

/// <summary>
/// The recovery procedure refused a step because one of its interlocks failed. Nothing was changed on the cluster by the
/// refused step. <see cref="Reason"/> says which interlock, <see cref="WayForward"/> what to do about it.
/// </summary>
public class RecoveryRefusedException : TalosRecoveryException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reason">The interlock that refused.</param>
    /// <param name="message">What was refused and why.</param>
    /// <param name="wayForward">What to do so the step can go ahead.</param>
    /// <param name="nodes">The nodes concerned, if any.</param>
    public RecoveryRefusedException(RecoveryRefusalReason reason, string message, string wayForward, IReadOnlyList<string>? nodes = null)
        : base($"{message} Way forward: {wayForward}")
    {
        ArgumentNullException.ThrowIfNull(wayForward);
        Reason = reason;
        WayForward = wayForward;
        Nodes = nodes ?? [];
    }

    /// <summary>The interlock that refused.</summary>
    public RecoveryRefusalReason Reason { get; }

    /// <summary>What to do so the step can go ahead.</summary>
    public string WayForward { get; }

    /// <summary>The nodes concerned (empty when the refusal is not about particular nodes).</summary>
    public IReadOnlyList<string> Nodes { get; }
}

/// <summary>A backup set on disk is incomplete, damaged or does not match its manifest.</summary>
public class BackupSetException : TalosRecoveryException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="directory">The backup set's directory.</param>
    /// <param name="innerException">The cause, if any.</param>
    public BackupSetException(string message, string directory, Exception? innerException = null)
        : base(message, innerException)
    {
        Directory = directory;
    }

    /// <summary>The backup set's directory.</summary>
    public string Directory { get; }
}

/// <summary>
/// A recovery step failed on the cluster: the node refused a call, or a wait observed a failure (for example a
/// <c>Failed</c> etcd service after a restore, whose last event message is <see cref="NodeMessage"/>), or it timed out.
/// Running the plan again resumes from the observed state.
/// </summary>
public class RecoveryStepFailedException : TalosRecoveryException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="step">The step that failed.</param>
    /// <param name="node">The node concerned, if any.</param>
    /// <param name="message">What failed.</param>
    /// <param name="nodeMessage">What the node said (e.g. the <c>Failed</c> etcd service's last event message), if anything.</param>
    /// <param name="innerException">The cause, if any.</param>
    public RecoveryStepFailedException(RecoveryStep step, string? node, string message, string? nodeMessage = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentNullException.ThrowIfNull(step);
        Step = step;
        Node = node;
        NodeMessage = nodeMessage;
    }

    /// <summary>The step that failed.</summary>
    public RecoveryStep Step { get; }

    /// <summary>The node concerned, if any.</summary>
    public string? Node { get; }

    /// <summary>What the node said, if anything (for a failed restore: <c>Failed to run pre stage: error recovering from the snapshot: …</c>).</summary>
    public string? NodeMessage { get; }
}
