using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Talos.Recovery.Testing.Etcd;

/// <summary>
/// One etcd member of an <see cref="EtcdCluster"/>: a real <c>etcd</c> process listening on 127.0.0.1 with its own
/// data directory. Created and started by <see cref="EtcdCluster.StartAsync(EtcdClusterOptions?, CancellationToken)"/>;
/// it can be stopped, killed and started again on the same ports and data.
/// </summary>
public sealed class EtcdProcess : IAsyncDisposable
{
    private const int LogTailLines = 200;

    private readonly string _etcdPath;
    private readonly IReadOnlyList<string> _arguments;
    private readonly bool _useParentDeathSignal;
    private readonly ILogger _logger;
    private readonly Queue<string> _tail = new();
    private readonly Lock _sync = new();
    private Process? _process;
    private StreamWriter? _log;
    private bool _sawBindError;
    private int? _lastExitCode;

    internal EtcdProcess(string name, string etcdPath, string dataDirectory, string logPath, int clientPort, int peerPort, IReadOnlyList<string> arguments, bool useParentDeathSignal, ILogger logger)
    {
        Name = name;
        _etcdPath = etcdPath;
        DataDirectory = dataDirectory;
        LogPath = logPath;
        ClientPort = clientPort;
        PeerPort = peerPort;
        _arguments = arguments;
        _useParentDeathSignal = useParentDeathSignal;
        _logger = logger;
    }

    /// <summary>The member name (<c>--name</c>), e.g. <c>m0</c>.</summary>
    public string Name { get; }

    /// <summary>The client port on 127.0.0.1, chosen at run time.</summary>
    public int ClientPort { get; }

    /// <summary>The peer port on 127.0.0.1, chosen at run time.</summary>
    public int PeerPort { get; }

    /// <summary>The client URL, e.g. <c>http://127.0.0.1:23456</c> (gRPC and the v3 JSON gateway share it).</summary>
    public Uri ClientUrl => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{ClientPort}"));

    /// <summary>The peer URL, e.g. <c>http://127.0.0.1:23457</c>.</summary>
    public Uri PeerUrl => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{PeerPort}"));

    /// <summary>The client endpoint as etcdctl takes it (<c>--endpoints</c>), e.g. <c>127.0.0.1:23456</c>.</summary>
    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{ClientPort}");

    /// <summary>The data directory (<c>--data-dir</c>).</summary>
    public string DataDirectory { get; }

    /// <summary><c>&lt;data-dir&gt;/member</c>.</summary>
    public string MemberDirectory => Path.Combine(DataDirectory, "member");

    /// <summary><c>&lt;data-dir&gt;/member/snap</c>.</summary>
    public string SnapDirectory => Path.Combine(MemberDirectory, "snap");

    /// <summary><c>&lt;data-dir&gt;/member/wal</c>.</summary>
    public string WalDirectory => Path.Combine(MemberDirectory, "wal");

    /// <summary>
    /// <c>&lt;data-dir&gt;/member/snap/db</c>: the live bbolt database. While the member runs, etcd holds an exclusive
    /// flock on it; copy it with <see cref="CopyDatabaseAsync"/>, not with <see cref="File.Copy(string, string)"/>.
    /// </summary>
    public string DatabasePath => Path.Combine(SnapDirectory, "db");

    /// <summary>The file the member's standard output and error are appended to.</summary>
    public string LogPath { get; }

    /// <summary>The member id (from the maintenance status), known once the member has been healthy.</summary>
    public ulong MemberId { get; internal set; }

    /// <summary>The process id while the member runs, otherwise <see langword="null"/>.</summary>
    public int? ProcessId
    {
        get
        {
            var process = _process;
            return process is not null && !HasExited(process) ? process.Id : null;
        }
    }

    /// <summary>Whether the etcd process is running.</summary>
    public bool IsRunning => _process is { } p && !HasExited(p);

    /// <summary>The command-line arguments the member is started with.</summary>
    public IReadOnlyList<string> Arguments => _arguments;

    internal bool SawBindError => Volatile.Read(ref _sawBindError);

    /// <summary>Launched and not yet reaped (running, or exited on its own).</summary>
    internal bool IsLaunched => _process is not null;

    /// <summary>The exit code of the last run, once it has exited.</summary>
    public int? ExitCode => _process is { } p && HasExited(p) ? p.ExitCode : _lastExitCode;

    /// <summary>The last lines (at most 200) etcd wrote to its standard output and error.</summary>
    public string GetLogTail()
    {
        lock (_sync)
        {
            return string.Join(Environment.NewLine, _tail);
        }
    }

    /// <summary>
    /// Starts the process again after <see cref="StopAsync"/> or <see cref="Kill"/>, on the same ports and data
    /// directory. It does not wait for health (a member of a multi-member cluster cannot become healthy while a
    /// quorum is missing): start the members needed, then call <see cref="EtcdCluster.WaitHealthyAsync"/>, or use
    /// <see cref="EtcdCluster.StartStoppedMembersAsync"/> which does both.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await LaunchAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops the member gracefully: SIGTERM (etcd then closes its database cleanly), and SIGKILL if it has not exited
    /// after <paramref name="gracePeriod"/> (default 10 seconds). Does nothing when it is not running.
    /// </summary>
    public async Task StopAsync(TimeSpan? gracePeriod = null, CancellationToken cancellationToken = default)
    {
        var process = _process;
        if (process is null)
        {
            return;
        }

        if (!HasExited(process))
        {
            Log.StoppingMember(_logger, Name, process.Id);
            _ = NativeMethods.SendSignal(process.Id, NativeMethods.SIGTERM);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(gracePeriod ?? TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                ChildProcesses.KillQuietly(process);
            }
        }

        await ReapAsync(process).ConfigureAwait(false);
    }

    /// <summary>Kills the member at once with SIGKILL (a crash, as far as etcd is concerned) and waits for it to exit.</summary>
    public void Kill()
    {
        var process = _process;
        if (process is null)
        {
            return;
        }

        ChildProcesses.KillQuietly(process);
        ReapAsync(process).GetAwaiter().GetResult();
    }

    /// <summary>
    /// Copies the member's <c>member/snap/db</c> to <paramref name="destinationPath"/> without taking a file lock, so it
    /// works while etcd runs (the "disaster copy" of a data directory). The copy has no SHA-256 trailer. See
    /// <see cref="UnlockedFile"/> for why an ordinary .NET copy fails on a live database and when a live copy is consistent.
    /// Returns the number of bytes copied.
    /// </summary>
    public Task<long> CopyDatabaseAsync(string destinationPath, CancellationToken cancellationToken = default)
        => UnlockedFile.CopyAsync(DatabasePath, destinationPath, cancellationToken);

    /// <summary>Kills the process if it still runs. The data directory is left to the owning cluster.</summary>
    public async ValueTask DisposeAsync()
    {
        var process = _process;
        if (process is not null)
        {
            ChildProcesses.KillQuietly(process);
            await ReapAsync(process).ConfigureAwait(false);
        }
    }

    /// <summary>Starts etcd. Does not wait for health.</summary>
    internal async Task LaunchAsync(CancellationToken cancellationToken)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"etcd member {Name} is already running.");
        }

        if (_process is { } exited)
        {
            await ReapAsync(exited).ConfigureAwait(false);
        }

        var startInfo = new ProcessStartInfo(_etcdPath)
        {
            UseShellExecute = false,
            RedirectStandardInput = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = Path.GetDirectoryName(DataDirectory) ?? DataDirectory,
        };
        foreach (var argument in _arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        RemoveEtcdVariables(startInfo, "ETCD_");

        lock (_sync)
        {
            _sawBindError = false;
            _tail.Clear();
            _log = new StreamWriter(new FileStream(LogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), Encoding.UTF8) { AutoFlush = true };
        }

        var process = await ChildProcesses.StartAsync(startInfo, _useParentDeathSignal, cancellationToken).ConfigureAwait(false);
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        Log.StartedMember(_logger, Name, process.Id, ClientUrl, PeerUrl);
    }

    /// <summary>Waits until an exited process's output has been read to the end (so the log tail is complete).</summary>
    internal async Task WaitForOutputAsync()
    {
        if (_process is { } process)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    /// <summary>Removes inherited variables such as ETCD_* so the child sees only the harness's flags.</summary>
    internal static void RemoveEtcdVariables(ProcessStartInfo startInfo, string prefix)
    {
        foreach (var key in startInfo.Environment.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && k != "ETCD_UNSUPPORTED_ARCH").ToList())
        {
            startInfo.Environment.Remove(key);
        }
    }

    private static bool HasExited(Process process)
    {
        try
        {
            return process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    private async Task ReapAsync(Process process)
    {
        try
        {
            // Also waits until the redirected output has been read to its end.
            await process.WaitForExitAsync().ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
        }

        ChildProcesses.Untrack(process);
        lock (_sync)
        {
            _log?.Dispose();
            _log = null;
        }

        if (ReferenceEquals(_process, process))
        {
            _process = null;
        }

        _lastExitCode = process.ExitCode;
        Log.MemberExited(_logger, Name, process.ExitCode);
        process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (line.Contains("address already in use", StringComparison.Ordinal))
        {
            Volatile.Write(ref _sawBindError, true);
        }

        lock (_sync)
        {
            _log?.WriteLine(line);
            _tail.Enqueue(line);
            while (_tail.Count > LogTailLines)
            {
                _tail.Dequeue();
            }
        }
    }
}
