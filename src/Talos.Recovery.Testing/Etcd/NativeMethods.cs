using System.Runtime.InteropServices;

namespace Talos.Recovery.Testing.Etcd;

/// <summary>The few libc calls the harness needs and .NET does not expose.</summary>
internal static partial class NativeMethods
{
    internal const int SIGKILL = 9;
    internal const int SIGTERM = 15;

    private const int OpenReadOnly = 0x0000;
    private const int OpenCloseOnExec = 0x80000; // O_CLOEXEC on Linux (all architectures .NET supports)

    /// <summary>open(2) read-only with O_CLOEXEC; returns the descriptor or -1 (errno in GetLastPInvokeError).</summary>
    internal static int OpenReadOnlyNoLock(string path) => Open(path, OpenReadOnly | OpenCloseOnExec);

    /// <summary>kill(2); returns 0 or -1.</summary>
    internal static int SendSignal(int pid, int signal) => Kill(pid, signal);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
