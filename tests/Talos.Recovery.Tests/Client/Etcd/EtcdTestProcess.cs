using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Talos.Recovery.Tests.Client.Etcd;

/// <summary>TLS files for an etcd started by <see cref="EtcdTestProcess"/> (client port only; peers stay plain).</summary>
internal sealed record EtcdTestTls(string CertFile, string KeyFile, string TrustedCaFile, bool ClientCertAuth);

/// <summary>
/// A single-member etcd 3.4 (<c>/usr/bin/etcd</c>) on loopback ports chosen at run time, with its own temporary data
/// directory, for this folder's tests (the reusable harness lives in Talos.Recovery.Testing). Disposing it SIGKILLs the
/// process and deletes the directory; every started process is also killed when the test host exits.
/// </summary>
internal sealed class EtcdTestProcess : IAsyncDisposable
{
    private const string EtcdPath = "/usr/bin/etcd";
    private const string EtcdctlPath = "/usr/bin/etcdctl";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly ConcurrentDictionary<EtcdTestProcess, bool> Live = new();

    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly EtcdTestTls? _tls;

    static EtcdTestProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (EtcdTestProcess process in Live.Keys)
            {
                process.Kill();
            }
        };
    }

    private EtcdTestProcess(string directory, int clientPort, EtcdTestTls? tls, IEnumerable<string> extraArguments)
    {
        Directory = directory;
        ClientPort = clientPort;
        _tls = tls;
        int peerPort = FreePort();
        string scheme = tls is null ? "http" : "https";
        ClientUrl = $"{scheme}://127.0.0.1:{clientPort}";
        string peerUrl = $"http://127.0.0.1:{peerPort}";
        var start = new ProcessStartInfo(EtcdPath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        string[] arguments =
        [
            "--name", "t1",
            "--data-dir", Path.Combine(directory, "data"),
            "--listen-client-urls", ClientUrl,
            "--advertise-client-urls", ClientUrl,
            "--listen-peer-urls", peerUrl,
            "--initial-advertise-peer-urls", peerUrl,
            "--initial-cluster", $"t1={peerUrl}",
            "--initial-cluster-token", "t-" + Guid.NewGuid().ToString("N"),
            "--logger", "zap",
            "--log-outputs", "stderr",
            "--heartbeat-interval", "50",
            "--election-timeout", "500",
        ];
        foreach (string argument in arguments.Concat(extraArguments))
        {
            start.ArgumentList.Add(argument);
        }

        if (tls is not null)
        {
            start.ArgumentList.Add("--cert-file=" + tls.CertFile);
            start.ArgumentList.Add("--key-file=" + tls.KeyFile);
            start.ArgumentList.Add("--trusted-ca-file=" + tls.TrustedCaFile);
            start.ArgumentList.Add("--client-cert-auth=" + (tls.ClientCertAuth ? "true" : "false"));
        }

        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException("etcd exited during start-up:\n" + Log));
    }

    /// <summary>The client URL, e.g. <c>http://127.0.0.1:40123</c>.</summary>
    public string ClientUrl { get; }

    public int ClientPort { get; }

    /// <summary>The temporary directory (data dir and anything a test writes), deleted on dispose.</summary>
    public string Directory { get; }

    public int ProcessId => _process.Id;

    /// <summary>Everything etcd logged so far.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts etcd and waits until it serves clients. Retries with new ports if one was taken meanwhile.</summary>
    public static async Task<EtcdTestProcess> StartAsync(EtcdTestTls? tls = null, IEnumerable<string>? extraArguments = null)
    {
        for (int attempt = 1; ; attempt++)
        {
            string directory = System.IO.Directory.CreateTempSubdirectory("talos-recovery-etcd-").FullName;
            var etcd = new EtcdTestProcess(directory, FreePort(), tls, extraArguments ?? []);
            try
            {
                etcd.Start();
                await etcd._ready.Task.WaitAsync(StartTimeout);
                return etcd;
            }
            catch (Exception ex) when (attempt < 3 && etcd.KillAndCheckPortClash())
            {
                TestContext.Progress.WriteLine($"etcd port clash, retrying: {ex.Message.Split('\n')[0]}");
                await etcd.DisposeAsync();
            }
            catch
            {
                string log = etcd.Log;
                await etcd.DisposeAsync();
                throw new InvalidOperationException("etcd did not start:\n" + log);
            }
        }
    }

    private bool KillAndCheckPortClash()
    {
        Kill();
        return Log.Contains("address already in use", StringComparison.Ordinal);
    }

    private void Start()
    {
        Live[this] = true;
        _process.Start();
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }

        if (line.Contains("serving client traffic", StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }
    }

    /// <summary>SIGKILLs etcd (no clean shutdown) and waits until it is gone.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            if (_process.WaitForExit(10_000))
            {
                // Also drains the redirected output, so Log is complete.
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
    }

    /// <summary>Runs etcdctl (API v3) against this etcd, with its TLS files and the given extra arguments.</summary>
    public async Task<string> EtcdctlAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(EtcdctlPath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.Environment["ETCDCTL_API"] = "3";
        start.ArgumentList.Add("--endpoints=" + ClientUrl);
        start.ArgumentList.Add("--dial-timeout=10s");
        start.ArgumentList.Add("--command-timeout=30s");
        if (_tls is not null)
        {
            start.ArgumentList.Add("--cacert=" + _tls.TrustedCaFile);
        }

        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return await RunAsync(start);
    }

    /// <summary>Runs etcdctl without endpoints (e.g. <c>snapshot status</c>).</summary>
    public static Task<string> EtcdctlOfflineAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(EtcdctlPath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.Environment["ETCDCTL_API"] = "3";
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return RunAsync(start);
    }

    private static async Task<string> RunAsync(ProcessStartInfo start)
    {
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        Task<string> stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"etcdctl {string.Join(' ', start.ArgumentList)} timed out");
        }

        string output = await stdout;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"etcdctl {string.Join(' ', start.ArgumentList)} exited with {process.ExitCode}:\n{await stderr}\n{output}");
        }

        return output;
    }

    /// <summary>A loopback port that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        Live.TryRemove(this, out _);
        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
        catch (UnauthorizedAccessException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
