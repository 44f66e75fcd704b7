namespace Talos.Recovery.Cli.CommandLine;

/// <summary>
/// The command line is wrong: unknown command or flag, missing or extra argument, bad value. The CLI prints
/// <c>Error: message</c> and a pointer to the help of <see cref="Command"/>, and exits with <see cref="ExitCodes.Usage"/>.
/// </summary>
internal sealed class CliUsageException : Exception
{
    public CliUsageException(string message, CliCommand command, bool showHelp = false)
        : base(message)
    {
        Command = command;
        ShowHelp = showHelp;
    }

    /// <summary>The command whose help the message points to.</summary>
    public CliCommand Command { get; }

    /// <summary>Whether to print the command's whole help after the message rather than a pointer to it.</summary>
    public bool ShowHelp { get; }
}
