using System.Diagnostics;
using System.Globalization;
using Talos.Recovery.Client;
using Talos.Recovery.Recovery;
using Talos.Recovery.Testing.Etcd;
using Talos.Recovery.Testing.Simulator;

namespace Talos.Recovery.Testing.Drill;

/// <summary>
/// A disaster-recovery drill on a simulated cluster (real etcd behind the Talos node simulator): writes
/// Kubernetes-shaped data, takes a backup with <see cref="RecoveryClient.BackupAsync"/>, destroys quorum, then runs
/// assess → plan → execute and reads the restored cluster back through the etcd API. It proves the procedure end to
/// end: <see cref="RecoveryDrillResult.Succeeded"/> only when the revision, the key count and a digest of every key and
/// value (with their revisions) are what they were at backup time. Everything it starts and writes is removed when it ends,
/// also on cancellation.
/// </summary>
public static class RecoveryDrill
{
    // etcd commits its backend every 100 ms; a raw copy of member/snap/db holds only what was committed.
    private static readonly TimeSpan BackendCommitGrace = TimeSpan.FromMilliseconds(600);

    /// <summary>Runs a drill.</summary>
    /// <param name="options">The drill's options; <see langword="null"/> for the defaults (3 nodes, from a snapshot).</param>
    /// <param name="cancellationToken">Stops the drill; the cluster and the files are cleaned up before the exception propagates.</param>
    /// <exception cref="RecoveryDrillException">The drill's cluster did not behave as the drill expects (e.g. the assessment's verdict).</exception>
    /// <exception cref="TalosRecoveryException">A recovery step failed.</exception>
    public static async Task<RecoveryDrillResult> RunAsync(RecoveryDrillOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new RecoveryDrillOptions();
        var total = Stopwatch.StartNew();
        var phases = new List<RecoveryDrillPhase>();
        var directory = options.WorkingDirectory ?? Path.Combine(Path.GetTempPath(), "talos-recovery-drill-" + Guid.NewGuid().ToString("N")[..12]);
        var ownsDirectory = !Directory.Exists(directory);
        Directory.CreateDirectory(directory);
        try
        {
            var watch = Stopwatch.StartNew();
            void Phase(string name)
            {
                phases.Add(new RecoveryDrillPhase(name, watch.Elapsed));
                options.Progress?.Report(string.Create(CultureInfo.InvariantCulture, $"{name}: {watch.Elapsed.TotalSeconds:0.00} s"));
                watch.Restart();
            }

            options.Progress?.Report($"starting a simulated cluster of {options.ControlPlanes} control-plane node(s) with real etcd under {directory}");
            await using var simulator = await TalosClusterSimulator.StartAsync(
                new TalosSimulatorOptions
                {
                    ControlPlanes = options.ControlPlanes,
                    WorkingDirectory = Path.Combine(directory, "cluster"),
                    RebootDelay = TimeSpan.FromMilliseconds(200),
                    LoggerFactory = options.LoggerFactory,
                },
                cancellationToken).ConfigureAwait(false);
            Phase("start cluster");

            var first = simulator.ControlPlanes[0];
            using (var etcd = new EtcdGatewayClient(first.EtcdClientUrl ?? throw new RecoveryDrillException($"etcd is not running on {first} after start-up.")))
            {
                await etcd.PutManyAsync(EtcdTestData.KubernetesLike(options.Keys, options.ValueSize), cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            if (options.Source == RecoveryDrillSource.RawCopy)
            {
                await Task.Delay(BackendCommitGrace, cancellationToken).ConfigureAwait(false);
            }

            var atBackup = await ReadContentAsync(simulator, cancellationToken).ConfigureAwait(false);
            Phase(string.Create(CultureInfo.InvariantCulture, $"write {options.Keys} Kubernetes-shaped keys"));

            using var talos = TalosClient.FromConfig(simulator.CreateTalosConfig("os:admin"), options: new TalosClientOptions { LoggerFactory = options.LoggerFactory });
            var recovery = new RecoveryClient(talos, new RecoveryClientOptions
            {
                LoggerFactory = options.LoggerFactory,
                PollInterval = TimeSpan.FromMilliseconds(200),
            });

            if (options.Source == RecoveryDrillSource.RawCopy)
            {
                // The disaster copy case: etcd is down everywhere, so no snapshot can be streamed and the backup falls
                // back to copying member/snap/db off a node.
                foreach (var node in simulator.ControlPlanes)
                {
                    await node.StopEtcdAsync(cancellationToken).ConfigureAwait(false);
                }

                Phase("stop etcd on every node");
            }

            var backup = await recovery.BackupAsync(Path.Combine(directory, "backup"), cancellationToken: cancellationToken).ConfigureAwait(false);
            var expectedMethod = options.Source == RecoveryDrillSource.RawCopy ? BackupSnapshotMethod.RawCopy : BackupSnapshotMethod.EtcdSnapshot;
            if (backup.Manifest.Snapshot.Method != expectedMethod)
            {
                throw new RecoveryDrillException($"The backup was taken by {backup.Manifest.Snapshot.Method}, not {expectedMethod}.");
            }

            options.Progress?.Report(string.Create(CultureInfo.InvariantCulture,
                $"backup: {backup.Manifest.Snapshot.Method} from {backup.Manifest.Snapshot.SourceNode}, {backup.Manifest.Snapshot.Length} bytes, revision {backup.Status.Revision}, trailer {(backup.HasTrailer ? "yes" : "no")}"));
            Phase("backup");

            // Destroy quorum: with 3 nodes two lose their disks; a single node loses its own.
            var lost = options.ControlPlanes == 1 ? simulator.ControlPlanes : simulator.ControlPlanes.Skip(1).ToList();
            foreach (var node in lost)
            {
                await node.LoseDataAsync(cancellationToken).ConfigureAwait(false);
            }

            Phase(string.Create(CultureInfo.InvariantCulture, $"destroy quorum ({string.Join(", ", lost.Select(n => n.Name))} lose their data)"));

            var assessment = await recovery.AssessAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            if (assessment.Verdict != ClusterVerdict.DisasterRecoveryRequired)
            {
                throw new RecoveryDrillException($"The assessment after destroying quorum says {assessment.Verdict}, not DisasterRecoveryRequired:\n{RecoveryFormatter.FormatAssessment(assessment)}");
            }

            Phase("assess");

            var plan = await recovery.PlanAsync(assessment, backup, cancellationToken: cancellationToken).ConfigureAwait(false);
            Phase("plan");
            options.Progress?.Report(RecoveryFormatter.FormatPlan(plan).TrimEnd());

            var progress = options.Progress is null ? null : new SynchronousProgress<RecoveryProgress>(p =>
            {
                if (p.Stage is RecoveryProgressStage.Completed or RecoveryProgressStage.Skipped)
                {
                    options.Progress.Report(string.Create(CultureInfo.InvariantCulture, $"  step {p.Step.Number}/{p.StepCount} {p.Stage.ToString().ToLowerInvariant()}: {p.Message} ({p.Elapsed.TotalSeconds:0.00} s)"));
                }
            });
            var result = await recovery.ExecuteAsync(plan, progress, cancellationToken).ConfigureAwait(false);
            watch.Restart();
            foreach (var group in result.Steps.GroupBy(s => s.Step.Kind))
            {
                phases.Add(new RecoveryDrillPhase(PhaseName(group.Key), TimeSpan.FromTicks(group.Sum(s => s.Elapsed.Ticks))));
            }

            var overhead = result.Elapsed - TimeSpan.FromTicks(result.Steps.Sum(s => s.Elapsed.Ticks));
            var restored = await ReadContentAsync(simulator, cancellationToken).ConfigureAwait(false);
            Phase("read the restored cluster");
            return new RecoveryDrillResult(options, atBackup, restored, phases, overhead < TimeSpan.Zero ? TimeSpan.Zero : overhead, total.Elapsed);
        }
        finally
        {
            if (ownsDirectory)
            {
                TryDelete(directory);
            }
        }
    }

    private static string PhaseName(RecoveryStepKind kind) => kind switch
    {
        RecoveryStepKind.RemoveMember => "remove members",
        RecoveryStepKind.ResetNode => "reset",
        RecoveryStepKind.WaitForEtcdPreparing => "wait for Preparing",
        RecoveryStepKind.UploadSnapshot => "upload",
        RecoveryStepKind.Bootstrap => "bootstrap",
        RecoveryStepKind.WaitForEtcdHealthy => "wait healthy",
        RecoveryStepKind.WaitForMembersJoined => "members joined",
        RecoveryStepKind.VerifyRestoredData => "verify revision and keys",
        _ => kind.ToString(),
    };

    private static async Task<RecoveryDrillContent> ReadContentAsync(TalosClusterSimulator simulator, CancellationToken cancellationToken)
    {
        var url = simulator.ControlPlanes.Select(n => n.EtcdClientUrl).FirstOrDefault(u => u is not null)
            ?? throw new RecoveryDrillException("No control-plane node runs etcd: the cluster's content cannot be read.");
        using var etcd = new EtcdGatewayClient(url);
        var status = await etcd.GetStatusAsync(cancellationToken).ConfigureAwait(false);
        var digest = await etcd.ComputeDigestAsync(includeRevisions: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new RecoveryDrillContent(status.Revision, digest.Keys, digest.Sha256);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

/// <summary>A drill's cluster did not behave as the drill expects (the message says how).</summary>
public sealed class RecoveryDrillException : TalosRecoveryException
{
    /// <summary>Creates the exception.</summary>
    public RecoveryDrillException(string message)
        : base(message)
    {
    }
}
