using System.Diagnostics;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Talos.Recovery.Client;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Recovery;

/// <summary>
/// The Talos disaster-recovery procedure as one safe, observable, resumable operation over a <see cref="TalosClient"/>:
/// <see cref="AssessAsync"/> → <see cref="BackupAsync"/> → <see cref="PlanAsync"/> → <see cref="ExecuteAsync"/>.
/// Every wait observes the nodes instead of trusting a call's reply, and running a plan again continues from the observed state.
/// </summary>
public class RecoveryClient
{
    private readonly ILogger _logger;

    /// <summary>For mocking frameworks only.</summary>
    protected RecoveryClient()
    {
        Client = null!;
        Options = new RecoveryClientOptions();
        _logger = Options.LoggerFactory.CreateLogger<RecoveryClient>();
    }

    /// <summary>Creates a recovery client with default options.</summary>
    public RecoveryClient(TalosClient client)
        : this(client, new RecoveryClientOptions())
    {
    }

    /// <summary>Creates a recovery client.</summary>
    public RecoveryClient(TalosClient client, RecoveryClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        Client = client;
        Options = options;
        _logger = options.LoggerFactory.CreateLogger<RecoveryClient>();
    }

    /// <summary>The Talos client used.</summary>
    public TalosClient Client { get; }

    /// <summary>The options in use.</summary>
    public RecoveryClientOptions Options { get; }

    /// <summary>
    /// Observes every control-plane node (version, machine type, hostname, etcd service, <c>ETCD</c> volume, local member list, etcd status; each query
    /// with <see cref="RecoveryClientOptions.ObservationTimeout"/>) and derives the verdict (<see cref="ClusterAssessment.Evaluate"/>).
    /// A query that fails is recorded, never thrown.
    /// </summary>
    /// <param name="nodes">The control-plane nodes; <see langword="null"/> for the talosconfig context's nodes.</param>
    /// <param name="cancellationToken">Cancels the assessment.</param>
    public virtual async Task<ClusterAssessment> AssessAsync(IReadOnlyList<string>? nodes = null, CancellationToken cancellationToken = default)
    {
        nodes ??= Client.Context?.Nodes ?? [];
        if (nodes.Count == 0)
        {
            throw new ArgumentException("Name the control-plane nodes (the talosconfig context has none).", nameof(nodes));
        }

        var observations = await ObserveAllAsync(nodes, full: true, cancellationToken).ConfigureAwait(false);
        var assessment = ClusterAssessment.Evaluate(observations, Options.Assessment, Options.TimeProvider.GetUtcNow());
        var unsettled = assessment.Verdict == ClusterVerdict.DisasterRecoveryRequired || assessment.Blockers.Any(b => b.Reason == BlockerReason.UnsettledMembership);
        if (unsettled && Options.ElectionSettleTime > TimeSpan.Zero && observations.Any(o => o.EtcdCondition == NodeEtcdCondition.Unhealthy))
        {
            // Members still run but know no leader: possibly a leader election after a member died. Look again once.
            await Task.Delay(Options.ElectionSettleTime, Options.TimeProvider, cancellationToken).ConfigureAwait(false);
            observations = await ObserveAllAsync(nodes, full: true, cancellationToken).ConfigureAwait(false);
            assessment = ClusterAssessment.Evaluate(observations, Options.Assessment, Options.TimeProvider.GetUtcNow());
        }

        RecoveryLog.Assessed(_logger, nodes.Count, assessment.Verdict, assessment.HealthyMemberCount, assessment.VotingMemberCount, assessment.QuorumSize);
        return assessment;
    }

    /// <summary>Observes one node (every query; failures recorded in <see cref="NodeObservation.Failures"/>).</summary>
    public virtual Task<NodeObservation> ObserveAsync(string node, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        return ObserveAsync(node, full: true, cancellationToken);
    }

    /// <summary>
    /// Takes a backup set into <paramref name="directory"/> (which must not exist, or be empty): an etcd snapshot from the best
    /// candidate (healthy followers first, then the leader, then any other node), falling back to a raw copy of
    /// <c>member/snap/db</c> when every snapshot fails; plus every node's machine configuration (needs <c>os:admin</c>; a node whose
    /// configuration cannot be read is recorded without one). Written atomically and verified again before it is returned.
    /// </summary>
    /// <param name="directory">The backup set's directory.</param>
    /// <param name="assessment">A fresh assessment; <see langword="null"/> to assess the context's nodes first.</param>
    /// <param name="progress">Snapshot transfer progress.</param>
    /// <param name="cancellationToken">Cancels the backup (nothing is left behind).</param>
    public virtual async Task<BackupSet> BackupAsync(string directory, ClusterAssessment? assessment = null, IProgress<SnapshotProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        assessment ??= await AssessAsync(null, cancellationToken).ConfigureAwait(false);
        using var writer = BackupSetWriter.Create(directory);
        var notes = new List<string>();
        var snapshot = await TakeSnapshotAsync(writer, assessment, notes, progress, cancellationToken).ConfigureAwait(false);

        foreach (var node in assessment.Nodes)
        {
            string? config = null;
            if (node.IsReachable)
            {
                try
                {
                    config = await Client.GetMachineConfigAsync(node.Node, cancellationToken).ConfigureAwait(false);
                }
                catch (TalosRecoveryException e)
                {
                    var failure = ObservationFailure.FromException(TalosApiCall.MachineConfig, e);
                    notes.Add($"machine configuration of {node.Node} not backed up: {failure.Message}{(failure.RequiredRole is { } role ? $" (needs {role})" : string.Empty)}");
                    RecoveryLog.MachineConfigFailed(_logger, node.Node, failure.Message);
                }
            }
            else
            {
                notes.Add($"machine configuration of {node.Node} not backed up: unreachable");
            }

            writer.AddNode(node.Node, node.Hostname, node.MachineType, node.Version?.Tag, config);
        }

        var set = writer.Commit(Options.TimeProvider.GetUtcNow(), Client.Context?.Name, Client.Context?.Cluster, snapshot, notes, cancellationToken);
        RecoveryLog.BackupWritten(_logger, set.Directory, snapshot.Method, snapshot.SourceNode, snapshot.Length, snapshot.Status.Revision);
        return set;
    }

    /// <summary>Plans the recovery (see <see cref="RecoveryPlanner.Create"/>): a disaster recovery, or with <paramref name="quorumRestore"/> a quorum restore.</summary>
    /// <exception cref="RecoveryRefusedException">An interlock refuses.</exception>
    public virtual Task<RecoveryPlan> PlanAsync(ClusterAssessment assessment, BackupSet backup, RecoveryPlanOptions? options = null, bool quorumRestore = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(assessment);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(quorumRestore ? RecoveryPlanner.CreateQuorumRestore(assessment, backup, options) : RecoveryPlanner.Create(assessment, backup, options));
    }

    /// <summary>
    /// Runs the plan. Before each step the nodes are observed and <see cref="RecoveryResume"/> decides what is already done, so a run
    /// interrupted at any point continues from the cluster's state when called again (a node already wiped is never reset again).
    /// Each step has its own timeout; waits observe the nodes. A failed restore (etcd <c>Failed</c>) throws
    /// <see cref="RecoveryStepFailedException"/> with the service's last event message; an interlock throws <see cref="RecoveryRefusedException"/>.
    /// </summary>
    public virtual async Task<RecoveryResult> ExecuteAsync(RecoveryPlan plan, IProgress<RecoveryProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var run = new Execution(this, plan, progress);
        return await run.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    internal async Task<IReadOnlyList<NodeObservation>> ObserveAllAsync(IEnumerable<string> nodes, bool full, CancellationToken cancellationToken)
        => await Task.WhenAll(nodes.Select(n => ObserveAsync(n, full, cancellationToken))).ConfigureAwait(false);

    internal async Task<NodeObservation> ObserveAsync(string node, bool full, CancellationToken cancellationToken)
    {
        var failures = new List<ObservationFailure>();
        var version = full ? Query(TalosApiCall.Version, ct => Client.VersionAsync(node, ct)) : Task.FromResult<TalosVersionInfo?>(null);
        var type = full ? Query(TalosApiCall.MachineType, async ct => (TalosMachineType?)await Client.GetMachineTypeAsync(node, ct).ConfigureAwait(false)) : Task.FromResult<TalosMachineType?>(null);
        var hostname = full ? Query(TalosApiCall.Hostname, ct => Client.HostnameAsync(node, ct)) : Task.FromResult<string?>(null);
        var hasService = true;
        var service = Query(TalosApiCall.ServiceList, async ct =>
        {
            var s = await Client.ServiceAsync("etcd", node, ct).ConfigureAwait(false);
            hasService = s is not null;
            return s;
        });
        var noVolume = false;
        var volume = full ? Query(TalosApiCall.VolumeStatus, async ct =>
        {
            try
            {
                var v = await Client.GetVolumeStatusAsync(RecoveryPlanner.EtcdLabel, node, ct).ConfigureAwait(false);
                noVolume = v is null;
                return v;
            }
            catch (TalosNodeException e) when (e.StatusCode == StatusCode.PermissionDenied && e.Detail.Contains("is not supported", StringComparison.Ordinal))
            {
                // Talos before 1.8 has no volume statuses (an unknown resource type): etcd's data is on EPHEMERAL.
                noVolume = true;
                return null;
            }
        }) : Task.FromResult<TalosVolumeStatus?>(null);
        await Task.WhenAll(version, type, hostname, service, volume).ConfigureAwait(false);

        // Only a running etcd (or one whose service could not be read) can answer etcd queries; asking a node in its join loop
        // costs the node's etcd dial timeout for nothing.
        var askEtcd = hasService && service.Result is null or { State: TalosServiceState.Running or TalosServiceState.Stopping };
        var status = askEtcd ? await Query(TalosApiCall.EtcdStatus, ct => Client.EtcdStatusAsync(node, ct)).ConfigureAwait(false) : null;

        // The member list needs a leader: a member that knows none would only make the call wait for etcd's timeout.
        var members = askEtcd && status is not { Leader: 0 } ? await Query(TalosApiCall.EtcdMemberList, ct => Client.EtcdMembersAsync(node, queryLocal: true, ct)).ConfigureAwait(false) : null;
        lock (failures)
        {
            return new NodeObservation(node)
            {
                ObservedAt = Options.TimeProvider.GetUtcNow(),
                Version = version.Result,
                MachineType = type.Result,
                Hostname = hostname.Result,
                EtcdService = service.Result,
                HasNoEtcdService = !hasService,
                EtcdVolume = volume.Result,
                HasNoEtcdVolume = noVolume,
                Members = members,
                EtcdStatus = status,
                Failures = failures.OrderBy(f => f.Call).ToList(),
            };
        }

        async Task<T?> Query<T>(TalosApiCall call, Func<CancellationToken, Task<T>> query)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Options.ObservationTimeout);
            try
            {
                return await query(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TalosRecoveryException or TimeoutException or IOException or HttpRequestException
                                          || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                lock (failures)
                {
                    failures.Add(ObservationFailure.FromException(call, e));
                }

                return default;
            }
        }
    }

    private async Task<BackupSnapshot> TakeSnapshotAsync(BackupSetWriter writer, ClusterAssessment assessment, List<string> notes, IProgress<SnapshotProgress>? progress, CancellationToken cancellationToken)
    {
        // Healthy followers first (a snapshot blocks its member's writes), then the leader, then whatever still has a running etcd.
        var candidates = assessment.Nodes.Where(n => n.IsReachable)
            .OrderBy(n => n.EtcdCondition switch
            {
                NodeEtcdCondition.Healthy when n.EtcdStatus is not { IsLeader: true } => 0,
                NodeEtcdCondition.Healthy => 1,
                NodeEtcdCondition.Unhealthy => 2,
                NodeEtcdCondition.Unknown => 3,
                _ => 4,
            })
            .ToList();
        var path = writer.SnapshotPath(BackupSnapshotMethod.EtcdSnapshot);
        foreach (var node in candidates.Where(n => n.EtcdCondition is NodeEtcdCondition.Healthy or NodeEtcdCondition.Unhealthy or NodeEtcdCondition.Unknown))
        {
            try
            {
                var info = await Client.EtcdSnapshotAsync(path, node.Node, Options.SnapshotOptions, progress, cancellationToken).ConfigureAwait(false);
                return new BackupSnapshot(BackupManifest.SnapshotFileName, BackupSnapshotMethod.EtcdSnapshot, node.Node, info.Length, info.Sha256Hex, info.HasTrailer, info.Status);
            }
            catch (TalosRecoveryException e)
            {
                notes.Add($"etcd snapshot from {node.Node} failed: {e.Message}");
                RecoveryLog.SnapshotAttemptFailed(_logger, node.Node, e.Message);
                File.Delete(path);
            }
        }

        // Without quorum etcd cannot serve a snapshot: copy the database file of a node that still has data.
        var raw = writer.SnapshotPath(BackupSnapshotMethod.RawCopy);
        var rawOptions = new SnapshotWriterOptions { SkipHashCheck = true };
        foreach (var node in candidates.Where(n => n.EtcdCondition is not (NodeEtcdCondition.Preparing or NodeEtcdCondition.Absent)))
        {
            try
            {
                var info = await Client.CopyEtcdDatabaseAsync(raw, node.Node, rawOptions, progress, cancellationToken).ConfigureAwait(false);
                notes.Add($"raw copy of member/snap/db from {node.Node}: restore skips the node's hash check");
                return new BackupSnapshot(BackupManifest.RawCopyFileName, BackupSnapshotMethod.RawCopy, node.Node, info.Length, info.Sha256Hex, info.HasTrailer, info.Status);
            }
            catch (TalosRecoveryException e)
            {
                notes.Add($"raw copy from {node.Node} failed: {e.Message}");
                RecoveryLog.SnapshotAttemptFailed(_logger, node.Node, "raw copy: " + e.Message);
                File.Delete(raw);
            }
        }

        throw new BackupSetException(
            "No node gave a snapshot or a raw copy of its etcd database: " + (notes.Count == 0 ? "no node has etcd data." : string.Join("; ", notes)),
            writer.Destination);
    }

    /// <summary>One run of a plan.</summary>
    private sealed class Execution(RecoveryClient owner, RecoveryPlan plan, IProgress<RecoveryProgress>? progress)
    {
        private readonly HashSet<int> _completed = [];
        private readonly HashSet<int> _reported = [];
        private readonly List<RecoveryStepOutcome> _outcomes = [];
        private readonly Stopwatch _total = Stopwatch.StartNew();
        private SnapshotStatus? _restored;

        private TalosClient Client => owner.Client;

        private RecoveryClientOptions Options => owner.Options;

        public async Task<RecoveryResult> RunAsync(CancellationToken cancellationToken)
        {
            RecoveryInterlocks.EnsureVerifiedSnapshot(plan.Backup);
            while (true)
            {
                var observations = await owner.ObserveAllAsync(plan.Nodes, full: false, cancellationToken).ConfigureAwait(false);
                var point = RecoveryResume.Evaluate(plan, observations, _completed);
                foreach (var done in point.Steps.Where(s => s.State == RecoveryStepState.Done && !_completed.Contains(s.Step.Number) && _reported.Add(s.Step.Number)))
                {
                    _outcomes.Add(new RecoveryStepOutcome(done.Step, Skipped: true, done.Reason, TimeSpan.Zero));
                    Report(done.Step, RecoveryProgressStage.Skipped, done.Reason, TimeSpan.Zero);
                }

                var next = point.Steps.FirstOrDefault(s => s.State == RecoveryStepState.Pending || (s.State == RecoveryStepState.InProgress && !_completed.Contains(s.Step.Number)));
                if (next is null)
                {
                    break;
                }

                await RunStepAsync(next, cancellationToken).ConfigureAwait(false);
            }

            RecoveryLog.Finished(owner._logger, _total.ElapsedMilliseconds, _restored?.Revision);
            return new RecoveryResult(plan, _outcomes, _restored, _total.Elapsed);
        }

        private async Task RunStepAsync(RecoveryStepStatus status, CancellationToken cancellationToken)
        {
            var step = status.Step;
            var clock = Stopwatch.StartNew();
            Report(step, RecoveryProgressStage.Started, status.State == RecoveryStepState.InProgress ? status.Reason : step.Description, TimeSpan.Zero);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(step.Timeout);
            string detail;
            try
            {
                detail = await (step.Kind switch
                {
                    RecoveryStepKind.ResetNode when status.State == RecoveryStepState.InProgress => SettleAsync(step, clock, timeout.Token),
                    RecoveryStepKind.ResetNode => ResetAsync(step, timeout.Token),
                    RecoveryStepKind.RemoveMember => RemoveMemberAsync(step, timeout.Token),
                    RecoveryStepKind.WaitForEtcdPreparing => WaitForPreparingAsync(step, clock, timeout.Token),
                    RecoveryStepKind.UploadSnapshot => UploadAsync(step, timeout.Token),
                    RecoveryStepKind.Bootstrap => BootstrapAsync(step, timeout.Token),
                    RecoveryStepKind.WaitForEtcdHealthy => WaitForHealthyAsync(step, clock, timeout.Token),
                    RecoveryStepKind.WaitForMembersJoined => WaitForJoinedAsync(step, clock, timeout.Token),
                    RecoveryStepKind.VerifyRestoredData => VerifyAsync(step, timeout.Token),
                    _ => throw new InvalidOperationException($"unknown step kind {step.Kind}"),
                }).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw Fail(step, step.Node, $"Step {step.Number} ({step.Description}) timed out after {step.Timeout}: {_lastWait ?? "no observation"}. Run the plan again to continue.", null, e);
            }
            catch (TalosRecoveryException e) when (e is not RecoveryStepFailedException and not RecoveryRefusedException)
            {
                var node = e is TalosNodeException n ? n.Node ?? step.Node : step.Node;
                throw Fail(step, node, $"Step {step.Number} ({step.Description}) failed: {e.Message}", (e as TalosNodeException)?.Detail, e);
            }

            if (!(step.Kind == RecoveryStepKind.ResetNode && status.State == RecoveryStepState.InProgress))
            {
                _completed.Add(step.Number);
            }

            _outcomes.Add(new RecoveryStepOutcome(step, Skipped: false, detail, clock.Elapsed));
            Report(step, RecoveryProgressStage.Completed, detail, clock.Elapsed);
        }

        private string? _lastWait;

        private RecoveryStepFailedException Fail(RecoveryStep step, string? node, string message, string? nodeMessage, Exception? inner = null)
        {
            RecoveryLog.StepFailed(owner._logger, step.Number, step.Kind, node, message);
            return new RecoveryStepFailedException(step, node, message, nodeMessage, inner);
        }

        private async Task<string> ResetAsync(RecoveryStep step, CancellationToken ct)
        {
            RecoveryInterlocks.EnsureVerifiedSnapshot(plan.Backup);
            var before = await owner.ObserveAsync(step.Node!, full: false, ct).ConfigureAwait(false);
            var options = new TalosResetOptions { Graceful = false, Reboot = true, SystemLabelsToWipe = step.LabelsToWipe };
            var actor = await Client.ResetAsync(options, step.Node, ct).ConfigureAwait(false);

            // The reset runs asynchronously: the step is over once the node is seen leaving its old state (down, booting,
            // in the join loop, or with a new etcd event), so no later step mistakes the old state for the new one.
            var clock = Stopwatch.StartNew();
            while (true)
            {
                var node = await owner.ObserveAsync(step.Node!, full: false, ct).ConfigureAwait(false);
                if (!node.IsReachable || node.EtcdCondition is NodeEtcdCondition.Preparing or NodeEtcdCondition.Waiting
                    || node.EtcdService?.LastEvent != before.EtcdService?.LastEvent)
                {
                    return $"reset requested (actor {actor}); {node.Node}: {RecoveryInterlocks.Describe(node)}";
                }

                await WaitAsync(step, clock, $"{node.Node}: reset requested, etcd still {RecoveryInterlocks.Describe(node)}", ct).ConfigureAwait(false);
            }
        }

        /// <summary>A reset of an earlier run is under way (node down or booting): wait until its etcd settles, then re-decide.</summary>
        private async Task<string> SettleAsync(RecoveryStep step, Stopwatch clock, CancellationToken ct)
        {
            while (true)
            {
                var node = await owner.ObserveAsync(step.Node!, full: false, ct).ConfigureAwait(false);
                if (node.IsReachable && node.EtcdCondition is not (NodeEtcdCondition.Waiting or NodeEtcdCondition.Unknown))
                {
                    return $"etcd on {node.Node} settled: {RecoveryInterlocks.Describe(node)}";
                }

                await WaitAsync(step, clock, $"{node.Node}: {RecoveryInterlocks.Describe(node)}", ct).ConfigureAwait(false);
            }
        }

        private async Task<string> RemoveMemberAsync(RecoveryStep step, CancellationToken ct)
        {
            await Client.EtcdRemoveMemberAsync(step.MemberId!.Value, step.ViaNode, ct).ConfigureAwait(false);
            return $"member {step.MemberId:x16} removed through {step.ViaNode}";
        }

        private async Task<string> WaitForPreparingAsync(RecoveryStep step, Stopwatch clock, CancellationToken ct)
        {
            var streak = 0;
            while (true)
            {
                var nodes = await owner.ObserveAllAsync(step.Nodes, full: false, ct).ConfigureAwait(false);
                var notPreparing = nodes.Where(n => n.EtcdCondition != NodeEtcdCondition.Preparing).ToList();
                streak = notPreparing.Count == 0 ? streak + 1 : 0;
                if (streak >= Options.PreparingConfirmations)
                {
                    return $"etcd Preparing on {string.Join(", ", step.Nodes)}";
                }

                await WaitAsync(step, clock, notPreparing.Count == 0 ? "confirming" : "not yet Preparing: " + string.Join("; ", notPreparing.Select(n => $"{n.Node}: {RecoveryInterlocks.Describe(n)}")), ct).ConfigureAwait(false);
            }
        }

        private async Task<string> UploadAsync(RecoveryStep step, CancellationToken ct)
        {
            RecoveryInterlocks.EnsureVerifiedSnapshot(plan.Backup);
            var options = new SnapshotReaderOptions { VerifyBeforeSending = true, SkipHashCheck = !plan.Backup.HasTrailer };
            await Client.EtcdRecoverAsync(plan.Backup.SnapshotPath, step.Node, options, null, ct).ConfigureAwait(false);
            return $"{plan.Backup.Manifest.Snapshot.Length} bytes uploaded to {step.Node}";
        }

        private async Task<string> BootstrapAsync(RecoveryStep step, CancellationToken ct)
        {
            var nodes = await owner.ObserveAllAsync(plan.Nodes, full: true, ct).ConfigureAwait(false);
            RecoveryInterlocks.EnsureNoInitNode(nodes);
            RecoveryInterlocks.EnsureAllPreparing(nodes);
            try
            {
                await Client.BootstrapAsync(recoverEtcd: true, recoverSkipHashCheck: step.RecoverSkipHashCheck, step.Node, ct).ConfigureAwait(false);
                return $"bootstrap accepted by {step.Node}";
            }
            catch (TalosNodeException e) when (e.StatusCode == StatusCode.AlreadyExists)
            {
                // Bootstrapped before (a run interrupted after the call): the etcd service says whether it is the restore.
                return $"AlreadyExists ({e.Detail}): judged by the etcd service in the next step";
            }
        }

        private async Task<string> WaitForHealthyAsync(RecoveryStep step, Stopwatch clock, CancellationToken ct)
        {
            var failed = 0;
            while (true)
            {
                var node = await owner.ObserveAsync(step.Node!, full: false, ct).ConfigureAwait(false);

                // The old service may show Failed ("Condition failed: context canceled") for a moment while the bootstrap replaces it:
                // a restore has failed only when Failed is seen twice in a row.
                failed = node.EtcdCondition == NodeEtcdCondition.Failed ? failed + 1 : 0;
                switch (node.EtcdCondition)
                {
                    case NodeEtcdCondition.Healthy:
                        return $"etcd on {node.Node} Running and healthy (member {node.EtcdStatus?.MemberId:x16})";
                    case NodeEtcdCondition.Failed when failed >= 2:
                        throw Fail(step, node.Node,
                            $"The restore on {node.Node} failed: etcd is Failed: {node.LastEtcdEventMessage}. Run the plan again: it wipes the node and restores again (for a damaged snapshot, take or choose another backup).",
                            node.LastEtcdEventMessage);
                }

                await WaitAsync(step, clock, $"{node.Node}: {RecoveryInterlocks.Describe(node)}", ct).ConfigureAwait(false);
            }
        }

        private async Task<string> WaitForJoinedAsync(RecoveryStep step, Stopwatch clock, CancellationToken ct)
        {
            var failedStreak = 0;
            while (true)
            {
                var nodes = (await owner.ObserveAllAsync(step.Nodes.Append(step.Node!).Distinct(), full: false, ct).ConfigureAwait(false)).ToDictionary(n => n.Node);
                var failedNow = nodes.Values.FirstOrDefault(n => n.EtcdCondition == NodeEtcdCondition.Failed);
                failedStreak = failedNow is null ? 0 : failedStreak + 1;
                if (failedStreak >= 2 && failedNow is { } failed)
                {
                    throw Fail(step, failed.Node, $"etcd on {failed.Node} is Failed while joining: {failed.LastEtcdEventMessage}.", failed.LastEtcdEventMessage);
                }

                var missing = RecoveryResume.Joined(step, n => nodes.TryGetValue(n, out var o) ? o : new NodeObservation(n));
                if (missing is null)
                {
                    return $"{step.Nodes.Count} members joined and healthy";
                }

                await WaitAsync(step, clock, missing, ct).ConfigureAwait(false);
            }
        }

        private async Task<string> VerifyAsync(RecoveryStep step, CancellationToken ct)
        {
            var directory = Path.Combine(Options.TemporaryDirectory ?? Path.GetTempPath(), $"talos-recovery-verify-{Guid.NewGuid():N}");
            Directory.CreateDirectory(directory);
            try
            {
                var info = await Client.EtcdSnapshotAsync(Path.Combine(directory, "restored.snapshot"), step.Node, Options.SnapshotOptions, null, ct).ConfigureAwait(false);
                var expected = plan.Backup.Status;
                var actual = info.Status;
                _restored = actual;
                if (actual.Revision < expected.Revision)
                {
                    throw Fail(step, step.Node, $"The restored cluster is at revision {actual.Revision}, below the snapshot's {expected.Revision}: the restore did not take.", null);
                }

                if (actual.Revision == expected.Revision && expected.LiveKeyCount is { } want && actual.LiveKeyCount is { } have && want != have)
                {
                    throw Fail(step, step.Node, $"The restored cluster has {have} live keys at revision {actual.Revision}; the snapshot has {want}.", null);
                }

                return $"revision {actual.Revision} (snapshot {expected.Revision}), live keys {actual.LiveKeyCount?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} (snapshot {expected.LiveKeyCount?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"})";
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

        private async Task WaitAsync(RecoveryStep step, Stopwatch clock, string state, CancellationToken ct)
        {
            if (state != _lastWait)
            {
                _lastWait = state;
                Report(step, RecoveryProgressStage.Waiting, state, clock.Elapsed);
            }

            await Task.Delay(Options.PollInterval, Options.TimeProvider, ct).ConfigureAwait(false);
        }

        private void Report(RecoveryStep step, RecoveryProgressStage stage, string message, TimeSpan elapsed)
        {
            RecoveryLog.Step(owner._logger, step.Number, plan.Steps.Count, step.Kind, step.Node, stage, message);
            progress?.Report(new RecoveryProgress(step, plan.Steps.Count, stage, message, elapsed));
        }
    }
}
