using System.Globalization;
using Talos.Recovery.Cli.CommandLine;
using Talos.Recovery.Testing.Drill;

namespace Talos.Recovery.Cli.Commands;

/// <summary><c>talos-recovery drill</c>: a disaster-recovery rehearsal on a simulated cluster, proving the data comes back.</summary>
internal static class DrillCommand
{
    private static readonly CliOption Nodes = new("nodes", null, "control-plane nodes of the simulated cluster: 3 or 1", "n") { DefaultValue = "3" };

    private static readonly CliOption From = new("from", null, "restore from a streamed snapshot or a raw copy of member/snap/db", "snapshot|raw-copy") { DefaultValue = "snapshot" };

    private static readonly CliOption Keys = new("keys", null, "Kubernetes-shaped keys to write", "n") { DefaultValue = "2000" };

    public static CliCommand Create() => new CliCommand("drill", "Rehearse a disaster recovery on a simulated cluster and prove the data comes back")
    {
        Description = """
            Starts a simulated Talos cluster (real etcd behind the Talos machine API), writes Kubernetes-shaped data,
            takes a backup, destroys quorum, then runs assess, plan and execute, and reads every key back through the
            etcd API. Prints the revision, the key count and a digest of every key and value before and after, side by
            side, and exits 0 only when they agree. Files live under the system temporary directory (TMPDIR) and are
            removed, with every process, when the drill ends, also on Ctrl+C.
            """,
        Examples = """
            talos-recovery drill
            talos-recovery drill --nodes 1 --from raw-copy
            """,
        Handler = RunAsync,
    }.Add(Nodes).Add(From).Add(Keys);

    private static async Task<int> RunAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        var nodes = invocation.GetChoice(Nodes, ("3", 3), ("1", 1));
        var source = invocation.GetChoice(From, ("snapshot", RecoveryDrillSource.Snapshot), ("raw-copy", RecoveryDrillSource.RawCopy));
        if (!int.TryParse(invocation.ParseResult.GetValue(Keys), NumberStyles.None, CultureInfo.InvariantCulture, out var keys) || keys < 1)
        {
            throw new CliUsageException("--keys must be a positive number", invocation.Command);
        }

        var log = new Log(invocation.Error);
        var result = await RecoveryDrill.RunAsync(new RecoveryDrillOptions { Nodes = nodes, Source = source, Keys = keys }, log, cancellationToken).ConfigureAwait(false);
        invocation.WriteLine(result.Plan);
        invocation.WriteLine($"{"",-10} {"at backup",-66} {"restored",-66}");
        invocation.WriteLine($"{"revision",-10} {result.Before.Revision,-66} {result.After.Revision,-66}");
        invocation.WriteLine($"{"keys",-10} {result.Before.Keys,-66} {result.After.Keys,-66}");
        invocation.WriteLine($"{"digest",-10} {result.Before.Digest,-66} {result.After.Digest,-66}");
        invocation.WriteLine(string.Empty);
        foreach (var (phase, elapsed) in result.Phases)
        {
            invocation.WriteLine($"  {phase,-28} {elapsed.TotalMilliseconds,8:0} ms");
        }

        invocation.WriteLine($"  {"total",-28} {result.Total.TotalMilliseconds,8:0} ms");
        if (result.Succeeded)
        {
            invocation.WriteLine("drill passed: the restored cluster holds exactly the backed-up data");
            return ExitCodes.Success;
        }

        invocation.WriteErrorLine("drill FAILED: the restored data differs from the backup (" +
            (result.Before.Revision != result.After.Revision ? "revision" : result.Before.Keys != result.After.Keys ? "key count" : "digest") + ")");
        return ExitCodes.Failure;
    }

    private sealed class Log(TextWriter error) : IProgress<string>
    {
        public void Report(string value) => error.Write(value + "\n");
    }
}
