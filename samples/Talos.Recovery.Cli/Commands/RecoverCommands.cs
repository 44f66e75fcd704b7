using System.Globalization;
using Talos.Recovery.Cli.CommandLine;
using Talos.Recovery.Client;
using Talos.Recovery.Recovery;

namespace Talos.Recovery.Cli.Commands;

/// <summary><c>talos-recovery recover assess|backup|plan|run</c>: the disaster-recovery procedure of the SDK (<see cref="RecoveryClient"/>).</summary>
internal static class RecoverCommands
{
    private static readonly CliArgument BackupDirectory = new("DIR", "the backup set's directory (must not exist, or be empty)");

    private static readonly CliOption From = new("from", null, "the backup set to restore (a directory written by `recover backup`)", "dir");

    private static readonly CliOption Force = new("force", null, "plan a disaster recovery even when the assessment says Healthy or QuorumRestorable");

    private static readonly CliOption BootstrapNode = new("bootstrap-node", null, "the node to restore the snapshot on (default: chosen by the planner)", "ip");

    private static readonly CliOption Yes = new("yes", 'y', "run without asking for confirmation");

    private static readonly CliOption EtcdVolume = new("etcd-volume", null, "where etcd keeps its data: auto (default: detected per node from VolumeStatuses), separate (wipe EPHEMERAL and ETCD on every node) or ephemeral (wipe EPHEMERAL only)", "auto|separate|ephemeral");

    private static readonly CliArgument ScheduleRoot = new("ROOT", "the directory that holds the backup sets (one backup-<time> directory each)");

    private static readonly CliOption Every = new("every", null, "time between backups (default 1h)", "duration");

    private static readonly CliOption Keep = new("keep", null, "the newest backup sets to keep (default 24)", "n");

    private static readonly CliOption KeepWithin = new("keep-within", null, "also keep every set younger than this", "duration");

    private static readonly CliOption Once = new("once", null, "take one backup, apply retention and exit");

    public static CliCommand Create()
    {
        var recover = new CliCommand("recover", "Assess, back up and recover a Talos control plane (the disaster-recovery procedure)")
        {
            Description = """
                The Talos disaster-recovery procedure as one safe, resumable operation. Typical use:
                  recover assess                 what state is etcd in, and is a recovery warranted?
                  recover backup DIR             etcd snapshot (raw copy of member/snap/db as fallback) + machine configs
                  recover plan --from DIR        the ordered steps, each with its precondition and verification (dry run)
                  recover run --from DIR         carry the plan out, observing every step; run again to resume
                Interlocks: nothing is wiped unless DIR holds a snapshot this tool verifies; no recovery when quorum can
                still be restored (unless --force); none while an `init` node exists; no bootstrap until etcd is Preparing
                on every node.
                """,
        };

        recover.Add(new CliCommand("assess", "Observe every control-plane node and give a verdict")
        {
            Description = "Queries every control-plane node (version, machine type, etcd service, local member list, etcd status) and prints each node's state, whether the member lists agree, quorum arithmetic and the verdict: Healthy, QuorumRestorable (with the steps), DisasterRecoveryRequired or Blocked (with the reasons). Changes nothing.",
            Examples = "talos-recovery recover assess --talosconfig ./talosconfig",
            Handler = AssessAsync,
        });
        recover.Add(new CliCommand("backup", "Write a verified backup set: etcd snapshot and machine configurations")
        {
            Description = "Takes an etcd snapshot from the best node (a healthy follower first), falling back to a raw copy of member/snap/db when no snapshot can be streamed, plus every control-plane node's machine configuration (needs os:admin), and writes them with a manifest to DIR atomically. The set is verified before it is reported.",
            Examples = "talos-recovery recover backup ./backup-2026-11-28",
            Handler = BackupAsync,
        }.Add(BackupDirectory));
        recover.Add(new CliCommand("schedule", "Take backup sets on a schedule, with retention, until interrupted")
        {
            Description = "Takes a backup set (as `recover backup`) into ROOT/backup-<UTC time> at once and then every --every, and after each verified set removes the sets beyond --keep (and older than --keep-within). A failed attempt is reported and retried after five minutes (or --every, if shorter); retention never runs after a failure and never removes the newest set. Runs in the foreground until Ctrl+C; --once takes one set and exits.",
            Examples = "talos-recovery recover schedule /var/backups/talos --every 1h --keep 48",
            Handler = ScheduleAsync,
        }.Add(ScheduleRoot).Add(Every).Add(Keep).Add(KeepWithin).Add(Once));
        recover.Add(new CliCommand("plan", "Print the recovery plan for a backup set (dry run)")
        {
            Description = "Assesses the cluster, opens and re-verifies the backup set, and prints the ordered steps with their preconditions and verifications. Changes nothing.",
            Examples = "talos-recovery recover plan --from ./backup-2026-11-28",
            Handler = PlanAsync,
        }.Add(From).Add(Force).Add(BootstrapNode).Add(EtcdVolume));
        recover.Add(new CliCommand("run", "Carry out the recovery plan (resumable)")
        {
            Description = "Assesses, plans and executes: resets the nodes (EPHEMERAL), waits for etcd Preparing everywhere, uploads the snapshot, bootstraps with recover, waits for etcd healthy and the members joined, and checks the restored revision and key count. Asks for confirmation unless --yes. Interrupted or failed runs continue where the cluster is when run again.",
            Examples = "talos-recovery recover run --from ./backup-2026-11-28 --yes",
            Handler = RunAsync,
        }.Add(From).Add(Force).Add(BootstrapNode).Add(EtcdVolume).Add(Yes));
        return recover;
    }

    private static TalosClient CreateClient(CliInvocation invocation) => TalosFlags.CreateClient(invocation);

    private static async Task<int> AssessAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        using var client = CreateClient(invocation);
        var recovery = new RecoveryClient(client);
        var assessment = await recovery.AssessAsync(TalosFlags.GetNodes(invocation, client), cancellationToken).ConfigureAwait(false);
        invocation.Output.Write(RecoveryFormatter.FormatAssessment(assessment));
        return ExitCodes.Success;
    }

    private static async Task<int> BackupAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        var directory = invocation.Arguments[0];
        using var client = CreateClient(invocation);
        var recovery = new RecoveryClient(client);
        var assessment = await recovery.AssessAsync(TalosFlags.GetNodes(invocation, client), cancellationToken).ConfigureAwait(false);
        var backup = await recovery.BackupAsync(directory, assessment, cancellationToken: cancellationToken).ConfigureAwait(false);
        var snapshot = backup.Manifest.Snapshot;
        invocation.WriteLine($"backup set written to \"{backup.Directory}\"");
        invocation.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"snapshot: {snapshot.FileName} ({snapshot.Method} from {snapshot.SourceNode}, {snapshot.Length} bytes, sha256 {snapshot.Sha256}, trailer {(snapshot.HasTrailer ? "verified" : "absent: restore skips the node's hash check")})"));
        invocation.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"snapshot info: hash {backup.Status.Hash:x8}, revision {backup.Status.Revision}, total keys {backup.Status.TotalKey}, total size {backup.Status.TotalSize}"));
        foreach (var node in backup.Manifest.Nodes)
        {
            invocation.WriteLine($"machine config of {node.Node}: {node.MachineConfigFile ?? "not saved (needs os:admin, or the node did not answer)"}");
        }

        return ExitCodes.Success;
    }

    private static async Task<int> ScheduleAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        var parse = invocation.ParseResult;
        var every = EtcdSnapshotCommands.ParseDuration(parse.GetValue(Every) ?? "1h", invocation.Command, "--every");
        TimeSpan? within = parse.GetValue(KeepWithin) is { } text ? EtcdSnapshotCommands.ParseDuration(text, invocation.Command, "--keep-within") : null;
        var keepText = parse.GetValue(Keep) ?? "24";
        if (!int.TryParse(keepText, NumberStyles.None, CultureInfo.InvariantCulture, out var keep) || keep < 1)
        {
            throw new CliUsageException($"--keep must be a whole number of at least 1, not \"{keepText}\"", invocation.Command);
        }

        if (every == Timeout.InfiniteTimeSpan || within == Timeout.InfiniteTimeSpan)
        {
            throw new CliUsageException("--every and --keep-within take a positive duration (e.g. 1h, 30m)", invocation.Command);
        }

        using var client = CreateClient(invocation);
        var recovery = new RecoveryClient(client);
        var schedule = new BackupSchedule(recovery, new BackupScheduleOptions
        {
            Root = invocation.Arguments[0],
            Interval = every,
            KeepLast = keep,
            KeepWithin = within,
            RetryInterval = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(5).Ticks, every.Ticks)),
        });

        void Report(BackupScheduleOutcome outcome)
        {
            var at = outcome.StartedAt.ToString("u", CultureInfo.InvariantCulture);
            if (outcome.Backup is { } set)
            {
                invocation.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{at} backup set written to \"{set.Directory}\" ({set.Manifest.Snapshot.Method} from {set.Manifest.Snapshot.SourceNode}, revision {set.Status.Revision}, {set.Manifest.Snapshot.Length} bytes)"));
                foreach (var removed in outcome.Removed)
                {
                    invocation.WriteLine($"{at} retention removed \"{removed}\"");
                }
            }
            else
            {
                invocation.WriteErrorLine($"{at} backup failed (older sets kept): {outcome.Error!.Message}");
            }

            if (!parse.GetFlag(Once))
            {
                invocation.WriteLine($"next backup at {outcome.NextAttemptAt.ToString("u", CultureInfo.InvariantCulture)}");
            }
        }

        if (parse.GetFlag(Once))
        {
            Report(await schedule.BackupNowAsync(cancellationToken).ConfigureAwait(false));
            return ExitCodes.Success;
        }

        invocation.WriteLine($"backing up into \"{schedule.Root}\" every {every}, keeping the newest {keep}{(within is { } w ? $" and any younger than {w}" : string.Empty)}; Ctrl+C stops");
        try
        {
            await schedule.RunAsync(new InlineProgress(Report), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            invocation.WriteLine("stopped");
        }

        return ExitCodes.Success;
    }

    /// <summary>Reports on the caller's thread, in order (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class InlineProgress(Action<BackupScheduleOutcome> report) : IProgress<BackupScheduleOutcome>
    {
        public void Report(BackupScheduleOutcome value) => report(value);
    }

    private static async Task<(RecoveryClient Recovery, RecoveryPlan Plan)> PlanCoreAsync(CliInvocation invocation, TalosClient client, CancellationToken cancellationToken)
    {
        var from = invocation.ParseResult.GetValue(From) ?? throw new CliUsageException("--from DIR is required (a backup set written by `recover backup`)", invocation.Command);
        var options = new RecoveryPlanOptions
        {
            Force = invocation.ParseResult.GetFlag(Force),
            BootstrapNode = invocation.ParseResult.GetValue(BootstrapNode),
            EtcdOnSeparateVolume = (invocation.ParseResult.GetValue(EtcdVolume) ?? "auto") switch
            {
                "auto" => null,
                "separate" => true,
                "ephemeral" => false,
                var other => throw new CliUsageException($"--etcd-volume must be auto, separate or ephemeral, not \"{other}\"", invocation.Command),
            },
        };
        var backup = BackupSet.Open(from, cancellationToken);
        var recovery = new RecoveryClient(client);
        var assessment = await recovery.AssessAsync(TalosFlags.GetNodes(invocation, client), cancellationToken).ConfigureAwait(false);
        var plan = await recovery.PlanAsync(assessment, backup, options, cancellationToken: cancellationToken).ConfigureAwait(false);
        return (recovery, plan);
    }

    private static async Task<int> PlanAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        using var client = CreateClient(invocation);
        var (_, plan) = await PlanCoreAsync(invocation, client, cancellationToken).ConfigureAwait(false);
        invocation.Output.Write(RecoveryFormatter.FormatPlan(plan));
        invocation.WriteLine("(dry run: nothing was changed; `recover run` carries this plan out)");
        return ExitCodes.Success;
    }

    private static async Task<int> RunAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        using var client = CreateClient(invocation);
        var (recovery, plan) = await PlanCoreAsync(invocation, client, cancellationToken).ConfigureAwait(false);
        invocation.Output.Write(RecoveryFormatter.FormatPlan(plan));
        if (!invocation.ParseResult.GetFlag(Yes))
        {
            if (Console.IsInputRedirected)
            {
                throw new CliUsageException("the plan resets nodes: pass --yes to run it without a terminal to confirm on", invocation.Command);
            }

            invocation.Output.Write("Carry out this plan? Nodes will be wiped. Type 'yes' to continue: ");
            invocation.Output.Flush();
            var answer = await Task.Run(Console.ReadLine, cancellationToken).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!string.Equals(answer?.Trim(), "yes", StringComparison.OrdinalIgnoreCase))
            {
                invocation.WriteErrorLine("not confirmed: nothing was changed");
                return ExitCodes.Failure;
            }
        }

        var progress = new StepProgress(invocation);
        var result = await recovery.ExecuteAsync(plan, progress, cancellationToken).ConfigureAwait(false);
        var restored = result.RestoredStatus is { } status ? string.Create(CultureInfo.InvariantCulture, $"; restored revision {status.Revision}") : string.Empty;
        invocation.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"recovered in {result.Elapsed.TotalSeconds:0.0} s: {result.Steps.Count(s => !s.Skipped)} step(s) run, {result.Steps.Count(s => s.Skipped)} already done{restored}"));
        return ExitCodes.Success;
    }

    private sealed class StepProgress(CliInvocation invocation) : IProgress<RecoveryProgress>
    {
        public void Report(RecoveryProgress value)
        {
            if (value.Stage == RecoveryProgressStage.Waiting)
            {
                return;
            }

            invocation.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{value.Step.Number}/{value.StepCount}] {value.Stage.ToString().ToLowerInvariant(),-9} {value.Message} ({value.Elapsed.TotalSeconds:0.0} s)"));
        }
    }
}
