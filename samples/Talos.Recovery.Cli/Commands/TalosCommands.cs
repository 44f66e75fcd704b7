using System.Globalization;
using Talos.Recovery.Cli.CommandLine;
using Talos.Recovery.Client;
using Talos.Recovery.Snapshots;
using static Talos.Recovery.Cli.Commands.TalosFlags;

namespace Talos.Recovery.Cli.Commands;

/// <summary>
/// The talosctl-shaped verbs that go through the Talos machine API (apid, port 50000, mutual TLS): <c>etcd snapshot FILE</c>,
/// <c>etcd members</c>, <c>etcd status</c>, <c>service etcd</c>, <c>get machinetype</c>, <c>get mc v1alpha1</c>,
/// <c>cp</c>, <c>reset</c>, <c>bootstrap</c>. Targets come from the global flags (<see cref="TalosFlags"/>).
/// </summary>
internal static class TalosCommands
{
    private static readonly CliOption Output = new("output", 'o', "output format: table or yaml", "format") { DefaultValue = "table" };

    private static readonly CliOption Graceful = new("graceful", null, "cordon, drain and leave etcd before the reset (--graceful=false for a broken cluster)") { DefaultValue = "true" };

    private static readonly CliOption Reboot = new("reboot", null, "reboot after the reset (otherwise the node shuts down)");

    private static readonly CliOption SystemLabels = new("system-labels-to-wipe", null, "system volume labels to wipe (EPHEMERAL, STATE…); none means the whole system disk", "strings") { Repeatable = true, SplitCommas = true };

    private static readonly CliOption UserDisks = new("user-disks-to-wipe", null, "user disks to wipe (device paths)", "strings") { Repeatable = true, SplitCommas = true };

    private static readonly CliOption WipeMode = new("wipe-mode", null, "what to wipe: all, system-disk or user-disks", "mode") { DefaultValue = "all" };

    private static readonly CliOption RecoverFrom = new("recover-from", null, "recover etcd from this snapshot file (uploaded with EtcdRecover, then a recover bootstrap)", "file");

    private static readonly CliOption RecoverSkipHashCheck = new("recover-skip-hash-check", null, "skip the snapshot's SHA-256 check (needed for a raw copy of member/snap/db)");

    private static readonly CliOption AsSnapshot = new("as-snapshot", null, "for /var/lib/etcd/member/snap/db only: write DESTINATION as one verified raw snapshot file (CopyEtcdDatabaseAsync) instead of extracting");

    /// <summary>Adds <c>etcd snapshot FILE</c>, <c>etcd members</c> and <c>etcd status</c> to the existing <c>etcd</c> group.</summary>
    public static void AddEtcdVerbs(CliCommand etcd)
    {
        etcd.Add(new CliCommand("members", "List the etcd members as each node sees them")
        {
            Description = "Calls EtcdMemberList (query_local) on every target node, as `talosctl etcd members` does, and prints one table row per node and member.",
            Examples = "talos-recovery -n 10.5.0.2 etcd members",
            Handler = MembersAsync,
        });
        etcd.Add(new CliCommand("status", "Print the etcd status of each node's member")
        {
            Description = "Calls EtcdStatus on every target node, as `talosctl etcd status` does.",
            Examples = "talos-recovery -n 10.5.0.2,10.5.0.3,10.5.0.4 etcd status",
            Handler = StatusAsync,
        });
    }

    /// <summary>The handler of <c>etcd snapshot FILE</c> (through Talos; the group also holds <c>save</c>, direct to etcd).</summary>
    public static async Task<int> EtcdSnapshotAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        var path = invocation.Arguments[0];
        using var client = CreateClient(invocation);
        var node = GetSingleNode(invocation, client, "etcd snapshot");
        var info = await client.EtcdSnapshotAsync(path, node, cancellationToken: cancellationToken).ConfigureAwait(false);
        invocation.WriteLine(string.Create(CultureInfo.InvariantCulture, $"etcd snapshot saved to \"{path}\" ({info.Length} bytes)"));
        invocation.WriteLine("snapshot info: " + SnapshotStatusFormatter.FormatTalosctl(info.Status));
        return ExitCodes.Success;
    }

    public static IEnumerable<CliCommand> CreateVerbs()
    {
        yield return new CliCommand("service", "Print the state of a service (etcd) on each node")
        {
            Description = "Calls ServiceList on every target node and prints the service's state, health and events (newest first), as `talosctl service etcd` does.",
            Examples = "talos-recovery -n 10.5.0.2 service etcd",
            Handler = ServiceAsync,
        }.Add(new CliArgument("ID", "the service id, e.g. etcd"));

        yield return new CliCommand("get", "Get a resource: machinetype (mt) or machineconfig (mc) v1alpha1")
        {
            Description = """
                Reads a config resource on each node, as `talosctl get` does. Supported: `machinetype` (aliases mt,
                machinetypes) and `machineconfig` (aliases mc, machineconfigs) with ID v1alpha1 (needs os:admin).
                `-o yaml` prints `node:`, `metadata:` and `spec:` per resource, separated by `---`.
                The resource version, owner, phase and timestamps are not reported by the SDK and are left out ("-" in tables).
                """,
            Examples = """
                talos-recovery -n 10.5.0.2 get machinetype
                talos-recovery -n 10.5.0.2 get mc v1alpha1 -o yaml
                """,
            Handler = GetAsync,
        }.Add(new CliArgument("TYPE", "machinetype or machineconfig (mt, mc)")).Add(new CliArgument("ID", "resource id (machinetype: machine-type; machineconfig: v1alpha1)", CliArity.Optional)).Add(Output);

        yield return new CliCommand("cp", "Copy a file or directory from a node into a local directory")
        {
            Description = """
                Copies SOURCE from one node (Copy, a gzip tar) and extracts it into the local directory DESTINATION, as
                `talosctl cp` does: DESTINATION is created if missing; an existing local file is an error; modes are kept.
                For /var/lib/etcd/member/snap/db the result is a raw copy of the live database without SHA-256 trailer:
                restoring it needs `bootstrap --recover-skip-hash-check`. With --as-snapshot (that path only) DESTINATION is
                instead the file to write, checked as a raw snapshot (the SDK's CopyEtcdDatabaseAsync).
                """,
            Examples = """
                talos-recovery -n 10.5.0.2 cp /var/lib/etcd/member/snap/db .
                talos-recovery -n 10.5.0.2 cp /var/lib/etcd/member/snap/db db.raw --as-snapshot
                """,
            Handler = CopyAsync,
        }.Add(new CliArgument("SOURCE", "the path on the node")).Add(new CliArgument("DESTINATION", "local directory")).Add(AsSnapshot);

        yield return new CliCommand("reset", "Reset nodes (wipe system volumes), then reboot or shut down")
        {
            Description = """
                Sends Reset to every target node, as `talosctl reset --wait=false` does, and prints the actor id per node.
                Flag defaults are talosctl's: --graceful=true, --reboot=false, --wipe-mode all. The disaster-recovery
                form is `reset --graceful=false --reboot --system-labels-to-wipe EPHEMERAL`. There is no --wait: follow
                the node with `service etcd` (it comes back in Preparing).
                """,
            Examples = "talos-recovery -n 10.5.0.3 reset --graceful=false --reboot --system-labels-to-wipe EPHEMERAL",
            Handler = ResetAsync,
        }.Add(Graceful).Add(Reboot).Add(SystemLabels).Add(UserDisks).Add(WipeMode);

        yield return new CliCommand("bootstrap", "Bootstrap etcd on one node, optionally recovering it from a snapshot")
        {
            Description = """
                Bootstraps etcd on exactly one node, as `talosctl bootstrap` does. With --recover-from FILE the snapshot's
                status is printed, the file is uploaded (EtcdRecover; it is verified first, SHA-256 trailer included unless
                --recover-skip-hash-check), then Bootstrap runs with recover_etcd. The node restores asynchronously: watch
                `service etcd` until Running. EtcdRecover and Bootstrap are retried while the node answers FailedPrecondition.
                """,
            Examples = """
                talos-recovery -n 10.5.0.2 bootstrap
                talos-recovery -n 10.5.0.2 bootstrap --recover-from db.snapshot
                talos-recovery -n 10.5.0.2 bootstrap --recover-from db --recover-skip-hash-check
                """,
            Handler = BootstrapAsync,
        }.Add(RecoverFrom).Add(RecoverSkipHashCheck);
    }

    private static async Task<int> MembersAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        using var client = CreateClient(invocation);
        return await FanOutAsync(invocation, client, (node, ct) => client.EtcdMembersAsync(node, cancellationToken: ct), results =>
            WriteTable(invocation, ["NODE", "ID", "HOSTNAME", "PEER URLS", "CLIENT URLS", "LEARNER"],
                results.SelectMany(r => r.Value.Members.Select(m => (IReadOnlyList<string>)
                    [r.Node, Hex16(m.Id), m.Name, string.Join(",", m.PeerUrls), string.Join(",", m.ClientUrls), Bool(m.IsLearner)]))),
            cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> StatusAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        using var client = CreateClient(invocation);
        return await FanOutAsync(invocation, client, (node, ct) => client.EtcdStatusAsync(node, ct), results =>
            WriteTable(invocation, ["NODE", "MEMBER", "DB SIZE", "IN USE", "LEADER", "RAFT INDEX", "RAFT TERM", "RAFT APPLIED INDEX", "LEARNER", "ERRORS"],
                results.Select(r => (IReadOnlyList<string>)
                [
                    r.Node,
                    Hex16(r.Value.MemberId),
                    HumanBytes(r.Value.DbSize),
                    string.Create(CultureInfo.InvariantCulture, $"{HumanBytes(r.Value.DbSizeInUse)} ({(r.Value.DbSize == 0 ? 0 : 100.0 * r.Value.DbSizeInUse / r.Value.DbSize):0.00}%)"),
                    Hex16(r.Value.Leader),
                    Number(r.Value.RaftIndex),
                    Number(r.Value.RaftTerm),
                    Number(r.Value.RaftAppliedIndex),
                    Bool(r.Value.IsLearner),
                    string.Join(", ", r.Value.Errors),
                ])),
            cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> ServiceAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        var id = invocation.Arguments[0];
        using var client = CreateClient(invocation);
        var now = DateTimeOffset.UtcNow;
        var found = false;
        var exit = await FanOutAsync(invocation, client, (node, ct) => client.ServiceAsync(id, node, ct), results =>
        {
            var first = true;
            foreach (var (node, service) in results)
            {
                if (service is null)
                {
                    continue;
                }

                found = true;
                if (!first)
                {
                    invocation.WriteLine(string.Empty);
                }

                first = false;
                var health = service.Health.Unknown ? "?" : service.Health.Healthy ? "OK" : "Fail";
                List<IReadOnlyList<string>> rows = [["NODE", node], ["ID", service.Id], ["STATE", service.StateText], ["HEALTH", health]];
                if (service.Health.LastMessage.Length > 0)
                {
                    rows.Add(["LAST HEALTH MESSAGE", service.Health.LastMessage]);
                }

                var label = "EVENTS";
                foreach (var e in service.Events.Reverse())
                {
                    var age = e.Timestamp is { } t ? $" ({GoDuration(now - t)} ago)" : string.Empty;
                    rows.Add([label, $"[{e.StateText}]: {OneLine(e.Message)}{age}"]);
                    label = string.Empty;
                }

                WriteTable(invocation, rows[0], rows.Skip(1));
            }
        }, cancellationToken).ConfigureAwait(false);

        if (!found && exit == ExitCodes.Success)
        {
            invocation.WriteErrorLine($"error: service \"{id}\" is not registered on any nodes");
            return ExitCodes.Failure;
        }

        return exit;
    }

    private static async Task<int> GetAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        var yaml = invocation.GetChoice(Output, ("table", false), ("yaml", true));
        var alias = invocation.Arguments[0].ToLowerInvariant();
        var id = invocation.Arguments.Count > 1 ? invocation.Arguments[1] : null;
        using var client = CreateClient(invocation);
        if (alias is "machinetype" or "machinetypes" or "mt" or "mts" or "machinetypes.config" or "machinetypes.config.talos" or "machinetypes.config.talos.dev")
        {
            if (id is not null and not "machine-type")
            {
                throw new CliUsageException($"machinetype has only the ID machine-type, not \"{id}\"", invocation.Command);
            }

            return await FanOutAsync(invocation, client, (node, ct) => client.GetMachineTypeAsync(node, ct), results =>
            {
                if (!yaml)
                {
                    WriteTable(invocation, ["NODE", "NAMESPACE", "TYPE", "ID", "VERSION", "TYPE"],
                        results.Select(r => (IReadOnlyList<string>)[r.Node, "config", "MachineType", "machine-type", "-", MachineTypeName(r.Value)]));
                    return;
                }

                WriteYaml(invocation, results.Select(r => (r.Node, "MachineTypes.config.talos.dev", "machine-type", MachineTypeName(r.Value) + "\n", false)));
            }, cancellationToken).ConfigureAwait(false);
        }

        if (alias is "machineconfig" or "machineconfigs" or "mc" or "mcs" or "machineconfigs.config" or "machineconfigs.config.talos" or "machineconfigs.config.talos.dev")
        {
            if (id is not "v1alpha1")
            {
                throw new CliUsageException("machineconfig needs the ID v1alpha1: get mc v1alpha1", invocation.Command);
            }

            return await FanOutAsync(invocation, client, (node, ct) => client.GetMachineConfigAsync(node, ct), results =>
            {
                if (!yaml)
                {
                    WriteTable(invocation, ["NODE", "NAMESPACE", "TYPE", "ID", "VERSION"],
                        results.Select(r => (IReadOnlyList<string>)[r.Node, "config", "MachineConfig", "v1alpha1", "-"]));
                    return;
                }

                WriteYaml(invocation, results.Select(r => (r.Node, "MachineConfigs.config.talos.dev", "v1alpha1", r.Value, true)));
            }, cancellationToken).ConfigureAwait(false);
        }

        throw new CliUsageException($"resource type \"{invocation.Arguments[0]}\" is not supported: use machinetype (mt) or machineconfig (mc)", invocation.Command);
    }

    private static string MachineTypeName(TalosMachineType type) => type switch
    {
        TalosMachineType.ControlPlane => "controlplane",
        TalosMachineType.Init => "init",
        TalosMachineType.Worker => "worker",
        _ => "unknown",
    };

    private static void WriteYaml(CliInvocation invocation, IEnumerable<(string Node, string Type, string Id, string Spec, bool Block)> resources)
    {
        var first = true;
        foreach (var (node, type, id, spec, block) in resources)
        {
            if (!first)
            {
                invocation.WriteLine("---");
            }

            first = false;
            invocation.WriteLine("node: " + node);
            invocation.WriteLine("metadata:");
            invocation.WriteLine("    namespace: config");
            invocation.WriteLine("    type: " + type);
            invocation.WriteLine("    id: " + id);
            if (!block)
            {
                invocation.WriteLine("spec: " + spec.TrimEnd('\n'));
                continue;
            }

            invocation.WriteLine(spec.EndsWith('\n') ? "spec: |" : "spec: |-");
            foreach (var line in spec.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'))
            {
                invocation.WriteLine(line.Length == 0 ? string.Empty : "    " + line);
            }
        }
    }

    private static async Task<int> CopyAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        var (source, destination) = (invocation.Arguments[0], invocation.Arguments[1]);
        var asSnapshot = invocation.ParseResult.GetFlag(AsSnapshot);
        if (asSnapshot && source != TalosClient.EtcdDatabasePath)
        {
            throw new CliUsageException($"--as-snapshot works only for {TalosClient.EtcdDatabasePath}", invocation.Command);
        }

        using var client = CreateClient(invocation);
        var node = GetSingleNode(invocation, client, "cp");
        if (asSnapshot)
        {
            var info = await client.CopyEtcdDatabaseAsync(destination, node, cancellationToken: cancellationToken).ConfigureAwait(false);
            invocation.WriteLine(string.Create(CultureInfo.InvariantCulture, $"raw etcd database copied to \"{destination}\" ({info.Length} bytes, no SHA-256 trailer: restore with --recover-skip-hash-check)"));
            invocation.WriteLine("snapshot info: " + SnapshotStatusFormatter.FormatTalosctl(info.Status));
            return ExitCodes.Success;
        }

        try
        {
            await client.CopyAsync(source, destination, node, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            // talosctl: "error creating file … file exists".
            invocation.WriteErrorLine("Error: " + OneLine(ex.Message));
            return ExitCodes.Failure;
        }

        return ExitCodes.Success;
    }

    private static async Task<int> ResetAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        var mode = invocation.GetChoice(WipeMode, ("all", TalosWipeMode.All), ("system-disk", TalosWipeMode.SystemDisk), ("user-disks", TalosWipeMode.UserDisks));
        var parse = invocation.ParseResult;
        var options = new TalosResetOptions
        {
            Graceful = parse.GetFlag(Graceful),
            Reboot = parse.GetFlag(Reboot),
            SystemLabelsToWipe = parse.GetValues(SystemLabels),
            UserDisksToWipe = parse.GetValues(UserDisks),
            Mode = mode,
        };
        using var client = CreateClient(invocation);
        return await FanOutAsync(invocation, client, (node, ct) => client.ResetAsync(options, node, ct), results =>
        {
            foreach (var (node, actor) in results)
            {
                invocation.WriteLine($"{node}: reset requested, actor id {(actor.Length == 0 ? "(none)" : actor)}");
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> BootstrapAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        var parse = invocation.ParseResult;
        var file = parse.GetValue(RecoverFrom);
        var skipHashCheck = parse.GetFlag(RecoverSkipHashCheck);
        if (skipHashCheck && file is null)
        {
            throw new CliUsageException("--recover-skip-hash-check needs --recover-from", invocation.Command);
        }

        using var client = CreateClient(invocation);
        var node = GetSingleNode(invocation, client, "bootstrap");
        if (file is not null)
        {
            SnapshotStatus status;
            using (var snapshot = SnapshotFile.Open(file))
            {
                status = snapshot.GetStatus(new SnapshotVerifyOptions { CountLiveKeys = false }, cancellationToken);
            }

            invocation.WriteLine($"recovering from snapshot \"{file}\": " + SnapshotStatusFormatter.FormatTalosctl(status));
            await client.EtcdRecoverAsync(file, node, new SnapshotReaderOptions { SkipHashCheck = skipHashCheck }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        await client.BootstrapAsync(file is not null, skipHashCheck, node, cancellationToken).ConfigureAwait(false);
        return ExitCodes.Success;
    }
}
