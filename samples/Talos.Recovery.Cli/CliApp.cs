using Talos.Recovery.Cli.CommandLine;
using Talos.Recovery.Cli.Commands;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Cli;

/// <summary>
/// The <c>talos-recovery</c> command line, runnable in-process: parses the arguments, runs the command, and turns
/// every outcome into an exit code (<see cref="ExitCodes"/>) and at most a few lines of text. A user never sees a
/// stack trace unless <c>TALOS_RECOVERY_DEBUG=1</c> is set.
/// </summary>
public static class CliApp
{
    /// <summary>The name of the tool, as typed.</summary>
    public const string Name = "talos-recovery";

    /// <summary>Set this environment variable to <c>1</c> to see the stack trace of a failure.</summary>
    public const string DebugVariable = "TALOS_RECOVERY_DEBUG";

    /// <summary>Runs the command line <paramref name="args"/> and returns the process exit code.</summary>
    /// <param name="args">The arguments, without the program name.</param>
    /// <param name="stdout">Where results go.</param>
    /// <param name="stderr">Where diagnostics go.</param>
    /// <param name="cancellationToken">Cancelled on Ctrl+C; the command stops and the exit code is <see cref="ExitCodes.Interrupted"/>.</param>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
        => RunAsync(args, stdout, stderr, Environment.GetEnvironmentVariable(DebugVariable) is "1" or "true", cancellationToken);

    internal static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, bool debug, CancellationToken cancellationToken)
        => RunAsync(CreateRootCommand(), args, stdout, stderr, debug, cancellationToken);

    /// <summary>Runs <paramref name="args"/> against any command tree; the seam the tests use.</summary>
    internal static async Task<int> RunAsync(CliCommand root, string[] args, TextWriter stdout, TextWriter stderr, bool debug, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        try
        {
            var parsed = CliParser.Parse(root, args);
            if (parsed.HelpRequested)
            {
                stdout.Write(CliHelp.Render(parsed.Command));
                return ExitCodes.Success;
            }

            var handler = parsed.Command.Handler
                ?? throw new InvalidOperationException($"'{parsed.Command.CommandPath}' has no handler."); // the parser rejects groups without one
            var invocation = new CliInvocation(parsed, stdout, stderr);

            // The library's snapshot work is synchronous and observes the token; running it off this thread also lets
            // an interrupt return at once even while a page is being read.
            return await Task.Run(() => handler(invocation, cancellationToken), cancellationToken).WaitAsync(cancellationToken);
        }
        catch (CliUsageException ex)
        {
            WriteLines(stderr, "Error: " + ex.Message);
            if (ex.ShowHelp)
            {
                stderr.Write("\n" + CliHelp.Render(ex.Command));
            }
            else
            {
                WriteLines(stderr, $"Run '{ex.Command.CommandPath} --help' for usage.");
            }

            return ExitCodes.Usage;
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            WriteLines(stderr, "Error: interrupted");
            WriteDebug(stderr, ex, debug);
            return ExitCodes.Interrupted;
        }
        catch (TalosRecoveryException ex)
        {
            // The SDK's own failures carry messages written for users (a snapshot integrity failure lists one problem
            // per line, as etcdctl does).
            WriteLines(stderr, "Error: " + ex.Message);
            WriteDebug(stderr, ex, debug);
            return ExitCodes.Failure;
        }
        catch (Exception ex)
        {
            WriteLines(stderr, $"Error: unexpected {ex.GetType().Name}: {FirstLine(ex.Message)}");
            if (debug)
            {
                WriteDebug(stderr, ex, debug);
            }
            else
            {
                WriteLines(stderr, $"Rerun with {DebugVariable}=1 to see the stack trace, and please report it.");
            }

            return ExitCodes.Failure;
        }
    }

    internal static CliCommand CreateRootCommand()
    {
        var root = new CliCommand(Name, "Back up etcd and recover Talos Linux control planes")
        {
            Description = """
                talos-recovery backs up etcd and recovers Talos Linux control planes.
                Snapshot commands work offline on snapshot files and print what etcdctl prints, without its crashes.
                `etcd snapshot save` takes a snapshot from etcd directly, as `etcdctl snapshot save` does.
                """,
        };
        root.Add(SnapshotCommands.Create());
        root.Add(EtcdSnapshotCommands.Create());
        root.Add(DrillCommand.Create());
        root.Add(VersionCommand.Create());
        return root;
    }

    private static void WriteDebug(TextWriter stderr, Exception ex, bool debug)
    {
        if (debug)
        {
            WriteLines(stderr, ex.ToString());
        }
    }

    private static string FirstLine(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }

    /// <summary>Writes text line by line with <c>"\n"</c>, control characters escaped: messages can quote file contents.</summary>
    private static void WriteLines(TextWriter writer, string text)
    {
        foreach (var line in text.ReplaceLineEndings("\n").Split('\n'))
        {
            writer.Write(SnapshotInspectionFormatter.ToPrintable(line) + "\n");
        }
    }
}
