namespace Talos.Recovery.Testing.Drill;

/// <summary>The cluster's content as read through the etcd API: store revision, key count and a digest of every key,
/// value and key revision (<see cref="Etcd.EtcdGatewayClient.ComputeDigestAsync"/> with revisions).</summary>
/// <param name="Revision">The store revision the etcd member reported.</param>
/// <param name="Keys">The number of keys.</param>
/// <param name="Sha256">The SHA-256 over every key and value with their revisions, in key order (hex).</param>
public sealed record RecoveryDrillContent(long Revision, long Keys, string Sha256);

/// <summary>How long one phase of the drill took.</summary>
/// <param name="Name">The phase, e.g. <c>backup</c>, <c>reset</c>, <c>wait for Preparing</c>.</param>
/// <param name="Elapsed">Its duration (summed when a phase ran once per node).</param>
public sealed record RecoveryDrillPhase(string Name, TimeSpan Elapsed);

/// <summary>The outcome of a <see cref="RecoveryDrill"/>.</summary>
/// <param name="Options">The options the drill ran with.</param>
/// <param name="AtBackup">The content when the backup was taken.</param>
/// <param name="Restored">The content of the restored cluster.</param>
/// <param name="Phases">Every phase with its duration, in order.</param>
/// <param name="SdkOverhead">Time <c>ExecuteAsync</c> spent outside its steps' calls and waits (the SDK's own overhead between phases).</param>
/// <param name="Elapsed">The whole drill, cluster start-up and clean-up included.</param>
public sealed record RecoveryDrillResult(
    RecoveryDrillOptions Options,
    RecoveryDrillContent AtBackup,
    RecoveryDrillContent Restored,
    IReadOnlyList<RecoveryDrillPhase> Phases,
    TimeSpan SdkOverhead,
    TimeSpan Elapsed)
{
    /// <summary>Whether the restored cluster holds exactly what the cluster held at backup time.</summary>
    public bool Succeeded => AtBackup == Restored;
}
