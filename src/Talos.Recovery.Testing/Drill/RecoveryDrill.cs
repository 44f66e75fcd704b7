using System.Diagnostics;
using Talos.Recovery.Client;
using Talos.Recovery.Recovery;
using Talos.Recovery.Testing.Etcd;
using Talos.Recovery.Testing.Simulator;

namespace Talos.Recovery.Testing.Drill;

/// <summary>Where the drill's snapshot comes from.</summary>
public enum RecoveryDrillSource
{
    /// <summary>A streamed etcd snapshot, taken while the cluster is healthy.</summary>
    Snapshot = 1,

    /// <summary>A raw copy of <c>member/snap/db</c>, taken after quorum is lost and etcd has died.</summary>
    RawCopy,
}

/// <summary>Options of <see cref="RecoveryDrill.RunAsync"/>.</summary>
public sealed class RecoveryDrillOptions
{
    /// <summary>Control-plane nodes (1 or 3). Default 3.</summary>
    public int Nodes { get; init; } = 3;

    /// <summary>Where the snapshot comes from. Default <see cref="RecoveryDrillSource.Snapshot"/>.</summary>
    public RecoveryDrillSource Source { get; init; } = RecoveryDrillSource.Snapshot;

    /// <summary>How many Kubernetes-shaped keys to write. Default 2000.</summary>
    public int Keys { get; init; } = 2000;

    /// <summary>The size of each value in bytes. Default 512.</summary>
    public int ValueSize { get; init; } = 512;
}

/// <summary>What the etcd API returned for every key and value at one point.</summary>
/// <param name="Revision">The highest mod revision of any key.</param>
/// <param name="Keys">The number of keys.</param>
/// <param name="Digest">SHA-256 over every key, value and their revisions, in key order.</param>
public sealed record RecoveryDrillContent(long Revision, long Keys, string Digest);

/// <summary>The drill's outcome.</summary>
/// <param name="Before">The content when the backup was taken.</param>
/// <param name="After">The content of the restored cluster.</param>
/// <param name="Phases">How long each phase took, in order.</param>
/// <param name="Plan">The plan run, as printed for a dry run.</param>
/// <param name="Total">The whole drill, cluster start and clean-up included.</param>
public sealed record RecoveryDrillResult(RecoveryDrillContent Before, RecoveryDrillContent After, IReadOnlyList<KeyValuePair<string, TimeSpan>> Phases, string Plan, TimeSpan Total)
{
    /// <summary>Whether the restored content equals the backed-up one (revision, key count and digest).</summary>
    public bool Succeeded => Before == After;
}

/// <summary>
/// The recovery drill: starts a simulated Talos cluster (real etcd), writes Kubernetes-shaped data, takes a backup, destroys
/// quorum, then runs assess → plan → execute and reads the data back through the etcd API. Everything lives under the system
/// temporary directory and is removed, with every process, when the drill ends (also when cancelled).
/// </summary>
public static class RecoveryDrill
{
    /// <summary>Runs the drill; <paramref name="log"/> receives one line per event.</summary>
    public static async Task<RecoveryDrillResult> RunAsync(RecoveryDrillOptions? options = null, IProgress<string>? log = null, CancellationToken cancellationToken = default)
    {
        options ??= new RecoveryDrillOptions();
        if (options.Nodes is not (1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Nodes, "The drill runs with 1 or 3 control-plane nodes.");
        }

        var total = Stopwatch.StartNew();
        var phases = new List<KeyValuePair<string, TimeSpan>>();
        var directory = Directory.CreateTempSubdirectory("talos-recovery-drill-").FullName;
        try
        {
            var clock = Stopwatch.StartNew();
            await using var sim = await TalosClusterSimulator.StartAsync(new TalosSimulatorOptions { ControlPlanes = options.Nodes, WorkingDirectory = Path.Combine(directory, "cluster") }, cancellationToken).ConfigureAwait(false);
            Phase(phases, log, "start cluster", clock);
            var nodes = sim.ControlPlanes.Select(n => n.Address).ToList();
            using (var etcd = new EtcdGatewayClient(sim.ControlPlanes[0].EtcdClientUrl!))
            {
                await etcd.PutManyAsync(EtcdTestData.KubernetesLike(options.Keys, options.ValueSize), cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            Phase(phases, log, $"write {options.Keys} keys", clock);
            var before = await ContentAsync(sim.ControlPlanes[0], cancellationToken).ConfigureAwait(false);
            log?.Report($"content before: revision {before.Revision}, {before.Keys} keys, digest {before.Digest}");

            using var client = TalosClient.FromConfig(sim.CreateTalosConfig("os:admin"));
            var recovery = new RecoveryClient(client, new RecoveryClientOptions { PollInterval = TimeSpan.FromMilliseconds(100), ObservationTimeout = TimeSpan.FromSeconds(5), TemporaryDirectory = directory });
            var backupDirectory = Path.Combine(directory, "backup");
            BackupSet backup;
            if (options.Source == RecoveryDrillSource.Snapshot)
            {
                backup = await recovery.BackupAsync(backupDirectory, null, null, cancellationToken).ConfigureAwait(false);
                Phase(phases, log, "backup (snapshot)", clock);
                await DestroyQuorumAsync(sim, stopSurvivor: false, cancellationToken).ConfigureAwait(false);
                Phase(phases, log, "destroy quorum", clock);
            }
            else
            {
                await DestroyQuorumAsync(sim, stopSurvivor: true, cancellationToken).ConfigureAwait(false);
                Phase(phases, log, "destroy quorum", clock);
                backup = await recovery.BackupAsync(backupDirectory, await recovery.AssessAsync(nodes, cancellationToken).ConfigureAwait(false), null, cancellationToken).ConfigureAwait(false);
                Phase(phases, log, "backup (raw copy)", clock);
            }

            log?.Report($"backup: {backup.Manifest.Snapshot.Method} from {backup.Manifest.Snapshot.SourceNode}, revision {backup.Status.Revision}");
            var assessment = await recovery.AssessAsync(nodes, cancellationToken).ConfigureAwait(false);
            Phase(phases, log, $"assess ({assessment.Verdict})", clock);
            var plan = await recovery.PlanAsync(assessment, backup, null, false, cancellationToken).ConfigureAwait(false);
            var progress = new LogProgress(log);
            var result = await recovery.ExecuteAsync(plan, progress, cancellationToken).ConfigureAwait(false);
            foreach (var group in result.Steps.GroupBy(s => s.Step.Kind))
            {
                phases.Add(new(StepPhase(group.Key), TimeSpan.FromTicks(group.Sum(s => s.Elapsed.Ticks))));
            }

            phases.Add(new("SDK time between steps", result.Elapsed - TimeSpan.FromTicks(result.Steps.Sum(s => s.Elapsed.Ticks))));
            clock.Restart();
            var after = await ContentAsync(sim.FindNode(plan.BootstrapNode!)!, cancellationToken).ConfigureAwait(false);
            Phase(phases, log, "read back", clock);
            return new RecoveryDrillResult(before, after, phases, plan.ToString(), total.Elapsed);
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task DestroyQuorumAsync(TalosClusterSimulator sim, bool stopSurvivor, CancellationToken cancellationToken)
    {
        foreach (var node in sim.ControlPlanes.Skip(sim.ControlPlanes.Count == 1 && !stopSurvivor ? 0 : 1))
        {
            await node.LoseDataAsync(cancellationToken).ConfigureAwait(false);
        }

        if (stopSurvivor)
        {
            await sim.ControlPlanes[0].StopEtcdAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<RecoveryDrillContent> ContentAsync(SimulatedNode node, CancellationToken cancellationToken)
    {
        using var etcd = new EtcdGatewayClient(node.EtcdClientUrl ?? throw new InvalidOperationException($"etcd is not running on {node.Name}."));
        var digest = await etcd.ComputeDigestAsync(includeRevisions: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new RecoveryDrillContent(digest.Revision, digest.Keys, digest.Sha256);
    }

    private static void Phase(List<KeyValuePair<string, TimeSpan>> phases, IProgress<string>? log, string name, Stopwatch clock)
    {
        phases.Add(new(name, clock.Elapsed));
        log?.Report($"{name}: {clock.Elapsed.TotalMilliseconds:0} ms");
        clock.Restart();
    }

    private static string StepPhase(RecoveryStepKind kind) => kind switch
    {
        RecoveryStepKind.ResetNode => "reset",
        RecoveryStepKind.WaitForEtcdPreparing => "wait for Preparing",
        RecoveryStepKind.UploadSnapshot => "upload",
        RecoveryStepKind.Bootstrap => "bootstrap",
        RecoveryStepKind.WaitForEtcdHealthy => "wait healthy",
        RecoveryStepKind.WaitForMembersJoined => "members joined",
        RecoveryStepKind.VerifyRestoredData => "verify (fresh snapshot)",
        _ => kind.ToString(),
    };

    private sealed class LogProgress(IProgress<string>? log) : IProgress<RecoveryProgress>
    {
        public void Report(RecoveryProgress value)
            => log?.Report($"step {value.Step.Number}/{value.StepCount} {value.Stage}: {value.Message}");
    }
}
