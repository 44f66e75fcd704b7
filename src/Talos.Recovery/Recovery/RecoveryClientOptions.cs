using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Recovery;

/// <summary>Options for <see cref="RecoveryClient"/>.</summary>
public sealed class RecoveryClientOptions
{
    /// <summary>Where log messages go. Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>The deadline of each query while observing a node (etcd calls against a dead local etcd block otherwise). Default 10 seconds.</summary>
    public TimeSpan ObservationTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often a wait observes the nodes again. Default 2 seconds.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How many observations in a row must show etcd <c>Preparing</c> on every node before the bootstrap (a node about to reboot
    /// may show <c>Preparing</c> once). Default 2.</summary>
    public int PreparingConfirmations { get; init; } = 2;

    /// <summary>When an assessment finds quorum lost while some etcd still runs (unhealthy: e.g. no leader), or a member outside the
    /// cluster's list without a leader (<see cref="BlockerReason.UnsettledMembership"/>), how long to wait before
    /// observing once more and judging on that second look: a leader election after a member died takes a second or two, and a
    /// cluster in the middle of one must not be judged lost. Default 3 seconds; <see cref="TimeSpan.Zero"/> judges the first look.</summary>
    public TimeSpan ElectionSettleTime { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The assessment rules. Default <see cref="ClusterAssessmentOptions"/>'s defaults.</summary>
    public ClusterAssessmentOptions Assessment { get; init; } = new();

    /// <summary>Options for the snapshot taken by the backup. Default <see langword="null"/>: the writer's defaults.</summary>
    public SnapshotWriterOptions? SnapshotOptions { get; init; }

    /// <summary>Where the final check's fresh snapshot of the restored cluster is written (and deleted). Default <see langword="null"/>:
    /// <see cref="Path.GetTempPath"/> (which honours <c>TMPDIR</c>).</summary>
    public string? TemporaryDirectory { get; init; }

    /// <summary>The time source (tests and the drill's timing). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>One executed (or skipped) step.</summary>
/// <param name="Step">The step.</param>
/// <param name="Skipped">Whether its target state was observed before it ran.</param>
/// <param name="Detail">What was observed.</param>
/// <param name="Elapsed">How long it took.</param>
public sealed record RecoveryStepOutcome(RecoveryStep Step, bool Skipped, string Detail, TimeSpan Elapsed);

/// <summary>The result of <see cref="RecoveryClient.ExecuteAsync"/>.</summary>
/// <param name="Plan">The plan executed.</param>
/// <param name="Steps">Each step's outcome, in the order they finished.</param>
/// <param name="RestoredStatus">For a disaster recovery, the etcd status of a fresh snapshot of the restored cluster.</param>
/// <param name="Elapsed">The whole execution.</param>
public sealed record RecoveryResult(RecoveryPlan Plan, IReadOnlyList<RecoveryStepOutcome> Steps, SnapshotStatus? RestoredStatus, TimeSpan Elapsed);
