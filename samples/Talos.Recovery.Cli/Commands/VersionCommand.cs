using System.Reflection;
using System.Runtime.InteropServices;
using Talos.Recovery.Cli.CommandLine;

namespace Talos.Recovery.Cli.Commands;

/// <summary><c>talos-recovery version</c>: the versions of the tool, the SDK and the .NET runtime.</summary>
internal static class VersionCommand
{
    public static CliCommand Create() => new("version", "Print the versions of talos-recovery, the Talos.Recovery SDK and .NET")
    {
        Handler = (invocation, _) =>
        {
            invocation.WriteLine($"{CliApp.Name} {VersionOf(typeof(CliApp).Assembly)}");
            invocation.WriteLine($"Talos.Recovery {VersionOf(typeof(TalosRecoveryException).Assembly)}");
            invocation.WriteLine($"{RuntimeInformation.FrameworkDescription} {RuntimeInformation.RuntimeIdentifier}");
            return Task.FromResult(ExitCodes.Success);
        },
    };

    private static string VersionOf(Assembly assembly) =>
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? assembly.GetName().Version?.ToString()
        ?? "unknown";
}
