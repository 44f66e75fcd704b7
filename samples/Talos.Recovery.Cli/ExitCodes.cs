namespace Talos.Recovery.Cli;

/// <summary>The exit codes of <c>talos-recovery</c>, the same for every command.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked; for <c>verify</c> and <c>inspect</c>: the snapshot is valid.</summary>
    public const int Success = 0;

    /// <summary>
    /// The command failed: the snapshot is missing, unreadable, not a snapshot, or damaged; or an unexpected error
    /// occurred (then the message says so).
    /// </summary>
    public const int Failure = 1;

    /// <summary>The command line is wrong: unknown command or flag, missing or extra argument, invalid value.</summary>
    public const int Usage = 2;

    /// <summary>Interrupted with Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}
