using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Talos.Recovery.Testing.Etcd;

/// <summary>
/// Starts the harness's child processes so that none outlives the host process, and tracks them.
/// </summary>
/// <remarks>
/// Three layers, from the most to the least graceful exit of the host:
/// <list type="number">
/// <item>Owners (<see cref="EtcdCluster"/>, <see cref="Etcdctl"/>) kill their children when disposed or timed out.</item>
/// <item><see cref="AppDomain.ProcessExit"/> and <see cref="PosixSignalRegistration"/> handlers for SIGINT, SIGTERM,
/// SIGQUIT and SIGHUP kill every child still tracked and delete the directories registered for deletion.</item>
/// <item>When <c>setpriv</c> (util-linux, essential on Debian) is available, each child is started as
/// <c>setpriv --pdeathsig KILL -- program args…</c>: setpriv sets <c>PR_SET_PDEATHSIG</c> and execs the program
/// in the same process, so the kernel sends SIGKILL to the child when its parent dies, even when the host is
/// killed with SIGKILL. The kernel ties that signal to the <em>thread</em> that forked the child, not to the
/// process, and .NET forks on the thread that calls <see cref="Process.Start()"/>; a thread-pool thread that later
/// retires would therefore kill a healthy child. All children are therefore started from one dedicated background
/// thread that lives as long as the host.</item>
/// </list>
/// </remarks>
internal static class ChildProcesses
{
    private static readonly ConcurrentDictionary<int, Process> Tracked = new();
    private static readonly ConcurrentDictionary<string, byte> DirectoriesToDelete = new(StringComparer.Ordinal);
    private static readonly BlockingCollection<Action> LaunchQueue = new();
    private static readonly Lock InitLock = new();
    private static readonly List<PosixSignalRegistration> SignalRegistrations = [];
    private static readonly Lazy<string?> SetprivPath = new(FindSetpriv);
    private static bool _initialized;

    /// <summary>Whether children get a parent-death signal (setpriv found).</summary>
    internal static bool ParentDeathSignalAvailable => SetprivPath.Value is not null;

    /// <summary>
    /// Starts <paramref name="startInfo"/> on the launcher thread, optionally wrapped in <c>setpriv --pdeathsig KILL</c>,
    /// and tracks the process until <see cref="Untrack"/>. The returned process has the real program's PID.
    /// </summary>
    internal static Task<Process> StartAsync(ProcessStartInfo startInfo, bool useParentDeathSignal, CancellationToken cancellationToken)
    {
        EnsureInitialized();
        var setpriv = useParentDeathSignal ? SetprivPath.Value : null;
        if (setpriv is not null)
        {
            var program = startInfo.FileName;
            var arguments = startInfo.ArgumentList.ToList();
            startInfo.FileName = setpriv;
            startInfo.ArgumentList.Clear();
            startInfo.ArgumentList.Add("--pdeathsig");
            startInfo.ArgumentList.Add("KILL");
            startInfo.ArgumentList.Add("--");
            startInfo.ArgumentList.Add(program);
            foreach (var argument in arguments)
            {
                startInfo.ArgumentList.Add(argument);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var completion = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        LaunchQueue.Add(() =>
        {
            try
            {
                var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
                process.Start();
                Tracked[process.Id] = process;
                completion.SetResult(process);
            }
            catch (Exception ex)
            {
                completion.TrySetException(ex);
            }
        }, CancellationToken.None);
        return completion.Task;
    }

    /// <summary>Stops tracking a process that its owner has reaped.</summary>
    internal static void Untrack(Process process) => Tracked.TryRemove(new KeyValuePair<int, Process>(SafeId(process), process));

    /// <summary>Deletes <paramref name="path"/> when the host exits, unless <see cref="ForgetDirectory"/> is called first.</summary>
    internal static void DeleteDirectoryOnExit(string path)
    {
        EnsureInitialized();
        DirectoriesToDelete[path] = 0;
    }

    /// <summary>Stops tracking a directory its owner deleted itself.</summary>
    internal static void ForgetDirectory(string path) => DirectoriesToDelete.TryRemove(path, out _);

    /// <summary>The PIDs of children started by this host that are still tracked and have not exited.</summary>
    internal static IReadOnlyList<int> LiveProcessIds()
    {
        var ids = new List<int>();
        foreach (var (id, process) in Tracked)
        {
            try
            {
                if (!process.HasExited)
                {
                    ids.Add(id);
                }
            }
            catch (InvalidOperationException)
            {
                // Disposed concurrently: not ours to report.
            }
        }

        return ids;
    }

    /// <summary>SIGKILL, ignoring a process that is already gone.</summary>
    internal static void KillQuietly(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
    }

    /// <summary>Best-effort recursive delete; a missing directory is fine.</summary>
    internal static void DeleteDirectoryQuietly(string path)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }

                return;
            }
            catch (IOException)
            {
                Thread.Sleep(50);
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }
        }
    }

    private static int SafeId(Process process)
    {
        try
        {
            return process.Id;
        }
        catch (InvalidOperationException)
        {
            return -1;
        }
    }

    private static void EnsureInitialized()
    {
        lock (InitLock)
        {
            if (_initialized)
            {
                return;
            }

            var launcher = new Thread(RunLauncher) { IsBackground = true, Name = "Talos.Recovery.Testing process launcher" };
            launcher.Start();
            AppDomain.CurrentDomain.ProcessExit += (_, _) => CleanUpEverything();
            if (!OperatingSystem.IsWindows() && !OperatingSystem.IsBrowser() && !OperatingSystem.IsWasi())
            {
                foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGQUIT, PosixSignal.SIGHUP })
                {
                    // The handler does not cancel: the runtime's default handling (terminate) follows.
                    SignalRegistrations.Add(PosixSignalRegistration.Create(signal, _ => CleanUpEverything()));
                }
            }

            _initialized = true;
        }
    }

    private static void RunLauncher()
    {
        // This thread never ends before the process does: children's parent-death signal is bound to it.
        foreach (var launch in LaunchQueue.GetConsumingEnumerable())
        {
            launch();
        }
    }

    private static void CleanUpEverything()
    {
        foreach (var process in Tracked.Values)
        {
            KillQuietly(process);
        }

        foreach (var process in Tracked.Values)
        {
            try
            {
                process.WaitForExit(2000);
            }
            catch (InvalidOperationException)
            {
            }
            catch (System.ComponentModel.Win32Exception)
            {
            }
        }

        Tracked.Clear();
        foreach (var path in DirectoriesToDelete.Keys)
        {
            DeleteDirectoryQuietly(path);
        }

        DirectoriesToDelete.Clear();
    }

    private static string? FindSetpriv()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var setpriv = ExecutableLocator.Find("setpriv");
        if (setpriv is null)
        {
            return null;
        }

        // --pdeathsig exists since util-linux 2.33; an older setpriv would refuse it and etcd would never start.
        try
        {
            var probe = new ProcessStartInfo(setpriv) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            probe.ArgumentList.Add("--help");
            using var process = Process.Start(probe);
            if (process is null)
            {
                return null;
            }

            var help = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            return process.WaitForExit(5000) && help.Contains("--pdeathsig", StringComparison.Ordinal) ? setpriv : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
