using System.Globalization;
using Talos.Recovery.Cli.CommandLine;
using Talos.Recovery.Testing.Certificates;
using Talos.Recovery.Testing.Simulator;

namespace Talos.Recovery.Cli.Commands;

/// <summary><c>talos-recovery lab up</c>: a simulated Talos cluster in the foreground, with a talosconfig for it.</summary>
internal static class LabCommand
{
    private static readonly CliOption Nodes = new("nodes", null, "control-plane nodes (each backed by a real etcd process)", "n") { DefaultValue = "3" };

    private static readonly CliOption Workers = new("workers", null, "worker nodes", "n") { DefaultValue = "0" };

    private static readonly CliOption Dir = new("dir", null, "where to write talosconfig and the nodes' disks; kept on exit (default: a new temp directory, removed on exit)", "dir");

    private static readonly CliOption KeyType = new("key-type", null, "key type of the cluster's PKI: ed25519 (Talos's default) or ecdsa", "type") { DefaultValue = "ed25519" };

    public static CliCommand Create()
    {
        var lab = new CliCommand("lab", "Run a simulated Talos cluster to try the other verbs on");
        lab.Add(new CliCommand("up", "Start a simulated Talos cluster in the foreground until Ctrl+C")
        {
            Description = """
                Starts the Talos node simulator on loopback: one machine API server (mutual TLS, Talos-shaped PKI) per node,
                each control-plane node backed by a real etcd process (etcd and etcdctl must be on PATH), bootstrapped.
                Writes DIR/talosconfig (context "simulator", current: the control-plane endpoints, every node under nodes)
                and prints its path and a hint, then runs until SIGINT (Ctrl+C) or SIGTERM, when it stops every node and
                etcd process and exits 130 (interrupted, as every command). The --nodes flag here is a count; it hides the global -n/--nodes.
                Without --dir the files live in a new directory under the temp directory, removed on exit.
                """,
            Examples = """
                talos-recovery lab up
                talos-recovery lab up --nodes 1 --workers 1 --dir ./lab --key-type ecdsa
                """,
            Handler = UpAsync,
        }.Add(Nodes).Add(Workers).Add(Dir).Add(KeyType));
        return lab;
    }

    private static async Task<int> UpAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        var parse = invocation.ParseResult;
        var controlPlanes = Count(invocation, Nodes, 1, 9);
        var workers = Count(invocation, Workers, 0, 9);
        var keyType = invocation.GetChoice(KeyType, ("ed25519", TalosKeyAlgorithm.Ed25519), ("ecdsa", TalosKeyAlgorithm.EcdsaP256));
        var given = parse.GetValue(Dir);
        var directory = Path.GetFullPath(given ?? Path.Combine(Path.GetTempPath(), "talos-recovery-lab-" + Guid.NewGuid().ToString("N")[..12]));
        Directory.CreateDirectory(directory);
        try
        {
            var options = new TalosSimulatorOptions
            {
                ControlPlanes = controlPlanes,
                Workers = workers,
                KeyType = keyType,
                WorkingDirectory = Path.Combine(directory, "nodes"),
            };
            await using var simulator = await TalosClusterSimulator.StartAsync(options, cancellationToken).ConfigureAwait(false);
            var talosconfig = simulator.WriteTalosConfig(Path.Combine(directory, "talosconfig"));
            foreach (var node in simulator.Nodes)
            {
                invocation.WriteLine($"{node.Name,-12} {(node.IsControlPlane ? "controlplane" : "worker"),-13} {node.Endpoint}");
            }

            invocation.WriteLine($"talosconfig: {talosconfig}");
            invocation.WriteLine($"try: {CliApp.Name} --talosconfig {talosconfig} etcd members");
            invocation.WriteLine("running; press Ctrl+C to stop");
            invocation.Output.Flush();

            // Runs until interrupted; the simulator (etcd included) is disposed on the way out, within CliApp's
            // clean-up grace, and the exit code is 130 as for every interrupted command.
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (given is null)
            {
                try
                {
                    Directory.Delete(directory, recursive: true);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    invocation.WriteErrorLine($"warning: could not remove {directory}: {ex.Message}");
                }
            }
        }

        return ExitCodes.Interrupted; // not reached: the wait ends only by cancellation

    }

    private static int Count(CliInvocation invocation, CliOption option, int min, int max)
    {
        var text = invocation.ParseResult.GetValue(option);
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new CliUsageException($"{option.DisplayName} must be a number from {min} to {max}, not '{text}'", invocation.Command);
    }
}
