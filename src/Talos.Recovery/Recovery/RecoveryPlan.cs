namespace Talos.Recovery.Recovery;

/// <summary>What a plan restores.</summary>
public enum RecoveryPlanKind
{
    /// <summary>Quorum is lost: reset every node, restore the snapshot on one, let the others join.</summary>
    DisasterRecovery = 1,

    /// <summary>Quorum holds: remove the dead members and wipe their nodes so they join again.</summary>
    QuorumRestore,
}

/// <summary>The kind of a <see cref="RecoveryStep"/>.</summary>
public enum RecoveryStepKind
{
    /// <summary>Remove an etcd member by id, through a healthy node.</summary>
    RemoveMember = 1,

    /// <summary>Reset a node, wiping the given volumes (not graceful, reboot).</summary>
    ResetNode,

    /// <summary>Wait until etcd is <c>Preparing</c> on every node (and stays there: no reboot pending).</summary>
    WaitForEtcdPreparing,

    /// <summary>Upload the snapshot to the bootstrap node (<c>EtcdRecover</c>).</summary>
    UploadSnapshot,

    /// <summary>Bootstrap the bootstrap node from the uploaded snapshot.</summary>
    Bootstrap,

    /// <summary>Wait until etcd on the bootstrap node is <c>Running</c> and healthy.</summary>
    WaitForEtcdHealthy,

    /// <summary>Wait until every node's etcd is <c>Running</c>, healthy and a member.</summary>
    WaitForMembersJoined,

    /// <summary>Check the restored data against the snapshot: revision and live key count.</summary>
    VerifyRestoredData,
}

/// <summary>One step of a recovery plan: what it does, what must hold before, and how its effect is observed.</summary>
/// <param name="Number">The step's number, from 1.</param>
/// <param name="Kind">What it does.</param>
/// <param name="Description">The step in words.</param>
/// <param name="Precondition">What must hold before it runs (and when it is skipped).</param>
/// <param name="Verification">How its effect is observed (never trusted from the call's reply alone).</param>
/// <param name="Timeout">How long the step (call and wait) may take.</param>
public sealed record RecoveryStep(int Number, RecoveryStepKind Kind, string Description, string Precondition, string Verification, TimeSpan Timeout)
{
    /// <summary>The node acted on (reset, upload, bootstrap, the member's node for a removal), if any.</summary>
    public string? Node { get; init; }

    /// <summary>The nodes observed by a wait.</summary>
    public IReadOnlyList<string> Nodes { get; init; } = [];

    /// <summary>For a reset, the volume labels wiped.</summary>
    public IReadOnlyList<string> LabelsToWipe { get; init; } = [];

    /// <summary>For a removal, the member id.</summary>
    public ulong? MemberId { get; init; }

    /// <summary>For a removal, the healthy node the call goes through.</summary>
    public string? ViaNode { get; init; }

    /// <summary>For a bootstrap, whether the node's SHA-256 check of the snapshot is skipped (only for a trailer-less raw copy).</summary>
    public bool RecoverSkipHashCheck { get; init; }
}

/// <summary>An ordered recovery procedure built by <see cref="RecoveryPlanner"/> from an assessment and a verified backup set.</summary>
public sealed class RecoveryPlan
{
    internal RecoveryPlan(RecoveryPlanKind kind, DateTimeOffset createdAt, ClusterAssessment assessment, BackupSet backup, IReadOnlyList<string> nodes, string? bootstrapNode, bool forced, IReadOnlyList<RecoveryStep> steps, IReadOnlyList<string> warnings)
    {
        Kind = kind;
        CreatedAt = createdAt;
        Assessment = assessment;
        Backup = backup;
        Nodes = nodes;
        BootstrapNode = bootstrapNode;
        Forced = forced;
        Steps = steps;
        Warnings = warnings;
    }

    /// <summary>What the plan restores.</summary>
    public RecoveryPlanKind Kind { get; }

    /// <summary>When the plan was made.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>The assessment the plan was made from.</summary>
    public ClusterAssessment Assessment { get; }

    /// <summary>The verified backup set (the snapshot restored, and the interlock's proof that one exists).</summary>
    public BackupSet Backup { get; }

    /// <summary>The control-plane nodes the plan acts on.</summary>
    public IReadOnlyList<string> Nodes { get; }

    /// <summary>For a disaster recovery, the node that bootstraps from the snapshot.</summary>
    public string? BootstrapNode { get; }

    /// <summary>Whether the plan was forced past a <see cref="ClusterVerdict.Healthy"/> or <see cref="ClusterVerdict.QuorumRestorable"/> verdict.</summary>
    public bool Forced { get; }

    /// <summary>The steps, in order.</summary>
    public IReadOnlyList<RecoveryStep> Steps { get; }

    /// <summary>Things to know before running it (differences between the backup and the cluster, notes of the assessment).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Whether the bootstrap restores with the node's hash check skipped (a raw copy without a trailer).</summary>
    public bool RecoverSkipHashCheck => !Backup.HasTrailer;

    /// <summary>The dry run: the plan as text.</summary>
    public override string ToString() => RecoveryFormatter.FormatPlan(this);
}

/// <summary>Options for <see cref="RecoveryPlanner"/>.</summary>
public sealed class RecoveryPlanOptions
{
    /// <summary>Plan a disaster recovery even when the verdict is <see cref="ClusterVerdict.Healthy"/> or <see cref="ClusterVerdict.QuorumRestorable"/>
    /// (data written since the backup is lost). Never overrides a blocker. Default <see langword="false"/>.</summary>
    public bool Force { get; init; }

    /// <summary>The node to bootstrap from the snapshot. Default <see langword="null"/>: the first reachable control-plane node in
    /// assessment order, preferring nodes whose etcd is already <c>Preparing</c>.</summary>
    public string? BootstrapNode { get; init; }

    /// <summary>
    /// Whether resets also wipe the <c>ETCD</c> volume. Default <see langword="null"/>: decided per node from the assessment
    /// (<see cref="NodeObservation.EtcdOnSeparateVolume"/>): <c>ETCD</c> is wiped with <c>EPHEMERAL</c> on a node whose etcd data
    /// has a partition or disk of its own (Talos 1.14+ with a <c>VolumeConfig</c> for <c>ETCD</c>), since wiping <c>EPHEMERAL</c>
    /// leaves it untouched; a node whose volume could not be read gets <c>EPHEMERAL</c> only, with a plan warning.
    /// <see langword="true"/> or <see langword="false"/> overrides the detection for every node.
    /// </summary>
    public bool? EtcdOnSeparateVolume { get; init; }

    /// <summary>How long a reset may take until the node's etcd is observed again. Default 10 minutes.</summary>
    public TimeSpan ResetTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long to wait for etcd to be <c>Preparing</c> on every node. Default 10 minutes.</summary>
    public TimeSpan PreparingTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long the snapshot upload may take. Default 10 minutes.</summary>
    public TimeSpan UploadTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long the bootstrap call may take (it is retried while the node answers <c>FailedPrecondition</c>). Default 2 minutes.</summary>
    public TimeSpan BootstrapTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long to wait for the restored etcd to be <c>Running</c> and healthy. Default 10 minutes.</summary>
    public TimeSpan HealthyTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long to wait for the other members to join. Default 15 minutes.</summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>How long the check of the restored data (a fresh snapshot) may take. Default 5 minutes.</summary>
    public TimeSpan VerifyTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a member removal may take. Default 1 minute.</summary>
    public TimeSpan RemoveMemberTimeout { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>Where a step of an executing plan is.</summary>
public enum RecoveryProgressStage
{
    /// <summary>The step started.</summary>
    Started = 1,

    /// <summary>The step waits on the cluster (the message says for what).</summary>
    Waiting,

    /// <summary>The step was skipped: its target state was already observed.</summary>
    Skipped,

    /// <summary>The step finished and its effect was observed.</summary>
    Completed,
}

/// <summary>Progress of <c>ExecuteAsync</c>.</summary>
/// <param name="Step">The step.</param>
/// <param name="StepCount">How many steps the plan has.</param>
/// <param name="Stage">Where the step is.</param>
/// <param name="Message">What happens, in words.</param>
/// <param name="Elapsed">Time since the step started.</param>
public sealed record RecoveryProgress(RecoveryStep Step, int StepCount, RecoveryProgressStage Stage, string Message, TimeSpan Elapsed);
