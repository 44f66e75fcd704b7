using System.Reflection;
using System.Runtime.InteropServices;
using Talos.Recovery.Cli.CommandLine;
using Talos.Recovery.Client;

namespace Talos.Recovery.Cli.Commands;

/// <summary>
/// <c>talos-recovery version</c>: the versions of the tool, the SDK and the .NET runtime, then (as <c>talosctl version</c>)
/// each node's Talos version when a talosconfig is found or targets are given.
/// </summary>
internal static class VersionCommand
{
    private static readonly CliOption ClientOnly = new("client", null, "print the client versions only; do not contact any node");

    public static CliCommand Create() => new CliCommand("version", "Print the versions of talos-recovery, the SDK, .NET and the Talos nodes")
    {
        Description = """
            Prints the versions of talos-recovery, the Talos.Recovery SDK and .NET. When a talosconfig is found (or
            --nodes/--endpoints/--talosconfig/--context is given), also calls Version on every target node and prints
            its Tag, SHA, Built, Go version and OS/Arch, as `talosctl version` does. Without any talosconfig only the
            client versions are printed (exit 0); --client never contacts a node.
            """,
        Handler = RunAsync,
    }.Add(ClientOnly);

    private static async Task<int> RunAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        invocation.WriteLine($"{CliApp.Name} {VersionOf(typeof(CliApp).Assembly)}");
        invocation.WriteLine($"Talos.Recovery {VersionOf(typeof(TalosRecoveryException).Assembly)}");
        invocation.WriteLine($"{RuntimeInformation.FrameworkDescription} {RuntimeInformation.RuntimeIdentifier}");
        cancellationToken.ThrowIfCancellationRequested();
        if (invocation.ParseResult.GetFlag(ClientOnly))
        {
            return ExitCodes.Success;
        }

        TalosClient client;
        try
        {
            client = TalosFlags.CreateClient(invocation);
        }
        catch (TalosConfigNotFoundException) when (!TalosFlags.AnyGiven(invocation))
        {
            return ExitCodes.Success; // no cluster configured: the client versions are the whole answer
        }

        using (client)
        {
            return await TalosFlags.FanOutAsync(invocation, client, (node, ct) => client.VersionAsync(node, ct), results =>
            {
                foreach (var (node, v) in results)
                {
                    invocation.WriteLine("Server:");
                    invocation.WriteLine($"\tNODE:        {node}");
                    invocation.WriteLine($"\tTag:         {v.Tag}");
                    invocation.WriteLine($"\tSHA:         {v.Sha}");
                    invocation.WriteLine($"\tBuilt:       {v.Built}");
                    invocation.WriteLine($"\tGo version:  {v.GoVersion}");
                    invocation.WriteLine($"\tOS/Arch:     {v.Os}/{v.Arch}");
                    invocation.WriteLine($"\tEnabled:     {(v.Rbac ? "RBAC" : string.Empty)}");
                }
            }, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string VersionOf(Assembly assembly) =>
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? assembly.GetName().Version?.ToString()
        ?? "unknown";
}
