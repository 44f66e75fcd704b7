using System.Globalization;
using Talos.Recovery.Cli.CommandLine;
using Talos.Recovery.Testing.Drill;

namespace Talos.Recovery.Cli.Commands;

/// <summary><c>talos-recovery drill</c>: a disaster-recovery drill on a simulated cluster backed by real etcd.</summary>
internal static class DrillCommand
{
    private static readonly CliOption Nodes = new("nodes", null, "control-plane nodes of the simulated cluster: 3 (two lose their data) or 1", "3|1") { DefaultValue = "3" };

    private static readonly CliOption From = new("from", null, "what the backup is: an etcd snapshot (with SHA-256 trailer) or a raw copy of member/snap/db taken while etcd is down", "snapshot|raw-copy") { DefaultValue = "snapshot" };

    private static readonly CliOption Keys = new("keys", null, "Kubernetes-shaped keys to write before the backup", "n") { DefaultValue = "2000" };

    public static CliCommand Create() => new CliCommand("drill", "Run a disaster-recovery drill on a simulated Talos cluster (real etcd)")
    {
        Description = """
            Starts a simulated Talos cluster on loopback (the Talos node simulator: the real machine API over mutual TLS,
            each control-plane node backed by a real etcd process), writes Kubernetes-shaped data, takes a backup, destroys
            quorum, and recovers with the SDK's procedure: assess → plan → execute (reset, wait for Preparing, upload,
            bootstrap, wait healthy, members joined, verify). It then reads the restored cluster through the etcd API and
            prints, side by side, the revision, the number of keys and a SHA-256 of every key and value (with their
            revisions) at backup time and after the restore. Exit 0 only when they agree.
            Files live under the system temp directory (TMPDIR honoured) and are removed at the end, together with every
            process the drill started, also on Ctrl+C. Needs etcd and etcdctl on PATH.
            """,
        Examples = """
            talos-recovery drill
            talos-recovery drill --nodes 1
            talos-recovery drill --from raw-copy
            """,
        Handler = RunAsync,
    }.Add(Nodes).Add(From).Add(Keys);

    private static async Task<int> RunAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        var parse = invocation.ParseResult;
        var nodes = parse.GetValue(Nodes) switch
        {
            "3" => 3,
            "1" => 1,
            var other => throw new CliUsageException($"--nodes must be 3 or 1, not '{other}'", invocation.Command),
        };
        var source = invocation.GetChoice(From, ("snapshot", RecoveryDrillSource.Snapshot), ("raw-copy", RecoveryDrillSource.RawCopy));
        if (!int.TryParse(parse.GetValue(Keys), NumberStyles.None, CultureInfo.InvariantCulture, out var keys) || keys < 1 || keys > 1_000_000)
        {
            throw new CliUsageException($"--keys must be a number from 1 to 1000000, not '{parse.GetValue(Keys)}'", invocation.Command);
        }

        invocation.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"drill: {nodes} control-plane node(s), backup from {(source == RecoveryDrillSource.Snapshot ? "an etcd snapshot" : "a raw copy of member/snap/db")}, {keys} keys"));
        var options = new RecoveryDrillOptions
        {
            ControlPlanes = nodes,
            Source = source,
            Keys = keys,
            Progress = new LineProgress(invocation),
        };

        var result = await RecoveryDrill.RunAsync(options, cancellationToken).ConfigureAwait(false);

        invocation.WriteLine("");
        invocation.WriteLine($"{"",-18} {"at backup",-66} restored");
        invocation.WriteLine($"{"revision",-18} {Number(result.AtBackup.Revision),-66} {Number(result.Restored.Revision)}");
        invocation.WriteLine($"{"keys",-18} {Number(result.AtBackup.Keys),-66} {Number(result.Restored.Keys)}");
        invocation.WriteLine($"{"sha256 (kv+rev)",-18} {result.AtBackup.Sha256,-66} {result.Restored.Sha256}");
        invocation.WriteLine("");
        invocation.WriteLine($"{"phase",-60} seconds");
        foreach (var phase in result.Phases)
        {
            invocation.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{phase.Name,-60} {phase.Elapsed.TotalSeconds,7:0.00}"));
        }

        invocation.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"SDK overhead between recovery steps",-60} {result.SdkOverhead.TotalSeconds,7:0.00}"));
        invocation.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"total",-60} {result.Elapsed.TotalSeconds,7:0.00}"));
        invocation.WriteLine("");
        if (result.Succeeded)
        {
            invocation.WriteLine("drill passed: the restored cluster holds exactly the data of the backup");
            return ExitCodes.Success;
        }

        var reasons = new List<string>();
        if (result.AtBackup.Revision != result.Restored.Revision)
        {
            reasons.Add("the revision differs");
        }

        if (result.AtBackup.Keys != result.Restored.Keys)
        {
            reasons.Add("the number of keys differs");
        }

        if (result.AtBackup.Sha256 != result.Restored.Sha256)
        {
            reasons.Add("the keys and values differ");
        }

        invocation.WriteErrorLine("drill failed: " + string.Join(", ", reasons));
        return ExitCodes.Failure;
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private sealed class LineProgress(CliInvocation invocation) : IProgress<string>
    {
        public void Report(string value) => invocation.WriteLine(value);
    }
}
