using Talos.Recovery.Cli;
using Talos.Recovery.Cli.CommandLine;

namespace Talos.Recovery.Tests.Cli;

/// <summary>What one in-process run of talos-recovery produced.</summary>
internal sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}--- stderr\n{Stderr}";
}

internal static class CliRunner
{
    public static Task<CliRun> RunAsync(params string[] args) => RunAsync(CliApp.CreateRootCommand(), args, debug: false, CancellationToken.None);

    public static async Task<CliRun> RunAsync(CliCommand root, string[] args, bool debug, CancellationToken cancellationToken)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await CliApp.RunAsync(root, args, stdout, stderr, debug, cancellationToken);
        return new CliRun(exitCode, stdout.ToString(), stderr.ToString());
    }
}
