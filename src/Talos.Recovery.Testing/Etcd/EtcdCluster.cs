using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Talos.Recovery.Testing.Etcd;

/// <summary>
/// A real etcd cluster of one or more members on 127.0.0.1, for tests, drills and benchmarks. Ports are chosen at
/// run time, data directories live under a fresh temporary directory, and the cluster is healthy when
/// <see cref="StartAsync(EtcdClusterOptions?, CancellationToken)"/> returns. Dispose it to kill the members and delete
/// the directory; members are also killed if the host process exits or is interrupted first (see remarks).
/// </summary>
/// <remarks>
/// <para>
/// No etcd outlives the host: disposal kills and reaps the members; an <see cref="AppDomain.ProcessExit"/> handler and
/// SIGINT/SIGTERM/SIGQUIT/SIGHUP handlers kill every member still running and delete their directories; and on Linux
/// each member is started through <c>setpriv --pdeathsig KILL</c> from a dedicated launcher thread, so the kernel kills
/// it even when the host dies by SIGKILL.
/// </para>
/// <para>
/// etcd must be installed: on Debian/Ubuntu <c>apt-get install etcd-server etcd-client</c>, or point
/// <c>TALOS_RECOVERY_ETCD</c> / <c>TALOS_RECOVERY_ETCDCTL</c> at the executables. Otherwise
/// <see cref="EtcdNotFoundException"/> is thrown.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// await using var etcd = await EtcdCluster.StartAsync();
/// await etcd.Client.PutAsync("/registry/pods/default/p1", "v1");
/// var snapshot = Path.Combine(etcd.RootDirectory, "s.db");
/// await etcd.Etcdctl.SnapshotSaveAsync(snapshot);
/// </code>
/// </example>
public sealed class EtcdCluster : IAsyncDisposable, IDisposable
{
    private readonly EtcdClusterOptions _options;
    private readonly ILogger _logger;
    private readonly List<EtcdGatewayClient> _clients = [];
    private readonly EtcdProcess[] _members;
    private int _disposed;

    private EtcdCluster(EtcdClusterOptions options, EtcdBinaries binaries, string rootDirectory, EtcdProcess[] members, ILogger logger)
    {
        _options = options;
        Binaries = binaries;
        RootDirectory = rootDirectory;
        _members = members;
        _logger = logger;
        Client = CreateClient(0);
        Etcdctl = new Etcdctl(binaries.EtcdctlPath)
        {
            Endpoints = Endpoints,
            Username = options.EnableAuth ? "root" : null,
            Password = options.EnableAuth ? options.RootPassword : null,
            UseParentDeathSignal = options.UseParentDeathSignal,
        };
    }

    /// <summary>The executables the cluster runs.</summary>
    public EtcdBinaries Binaries { get; }

    /// <summary>The cluster's own directory: member data directories (<c>m0</c>, <c>m1</c>, …) and logs (<c>m0.log</c>, …).</summary>
    public string RootDirectory { get; }

    /// <summary>The members, in start order.</summary>
    public IReadOnlyList<EtcdProcess> Members => _members;

    /// <summary>The client URLs of all members.</summary>
    public IReadOnlyList<Uri> ClientUrls => _members.Select(m => m.ClientUrl).ToList();

    /// <summary>All members' client endpoints as etcdctl's <c>--endpoints</c> takes them (<c>127.0.0.1:P1,127.0.0.1:P2</c>).</summary>
    public string Endpoints => Etcdctl.FormatEndpoints(_members);

    /// <summary>The <c>--initial-cluster</c> value the members were started with.</summary>
    public string InitialCluster => string.Join(',', _members.Select(m => $"{m.Name}={m.PeerUrl.GetLeftPart(UriPartial.Authority)}"));

    /// <summary>Whether authentication is enabled (<see cref="EtcdClusterOptions.EnableAuth"/>).</summary>
    public bool AuthEnabled => _options.EnableAuth;

    /// <summary>The root password, when authentication is enabled.</summary>
    public string? RootPassword => _options.EnableAuth ? _options.RootPassword : null;

    /// <summary>A JSON-gateway client for the first member (authenticated as root when auth is enabled).</summary>
    public EtcdGatewayClient Client { get; }

    /// <summary>An etcdctl wrapper for all members' endpoints (with root credentials when auth is enabled).</summary>
    public Etcdctl Etcdctl { get; }

    /// <summary>
    /// Starts a cluster and waits until every member is healthy and a leader is elected. Chooses new ports and
    /// starts again when another process takes a chosen port first.
    /// </summary>
    /// <exception cref="EtcdNotFoundException">etcd or etcdctl is not installed.</exception>
    /// <exception cref="EtcdStartException">A member did not start or become healthy; the message has its log tail.</exception>
    public static async Task<EtcdCluster> StartAsync(EtcdClusterOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new EtcdClusterOptions();
        var binaries = EtcdBinaries.Find(options.EtcdPath, options.EtcdctlPath);
        var logger = options.LoggerFactory.CreateLogger<EtcdCluster>();
        var root = CreateRootDirectory(options.BaseDirectory);
        if (!options.KeepDirectory)
        {
            ChildProcesses.DeleteDirectoryOnExit(root);
        }

        var stopwatch = Stopwatch.StartNew();
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var members = CreateMembers(options, binaries, root, logger);
                var cluster = new EtcdCluster(options, binaries, root, members, logger);
                try
                {
                    await cluster.BootAsync(cancellationToken).ConfigureAwait(false);
                    Log.ClusterHealthy(logger, members.Length, stopwatch.ElapsedMilliseconds, cluster.Endpoints);
                    return cluster;
                }
                catch (Exception ex) when (members.Any(m => m.SawBindError) && attempt < options.PortAttempts && ex is not OperationCanceledException)
                {
                    Log.PortCollision(logger, attempt, options.PortAttempts);
                    await cluster.ShutDownAsync(deleteRoot: false).ConfigureAwait(false);
                    foreach (var member in members)
                    {
                        ChildProcesses.DeleteDirectoryQuietly(member.DataDirectory);
                        TryDeleteFile(member.LogPath);
                    }
                }
                catch
                {
                    await cluster.ShutDownAsync(deleteRoot: !options.KeepDirectory).ConfigureAwait(false);
                    throw;
                }
            }
        }
        catch (Exception) when (!options.KeepDirectory)
        {
            ChildProcesses.DeleteDirectoryQuietly(root);
            ChildProcesses.ForgetDirectory(root);
            throw;
        }
    }

    /// <summary>
    /// A new JSON-gateway client for member <paramref name="memberIndex"/> (authenticated as root when auth is enabled).
    /// The cluster disposes it with itself.
    /// </summary>
    public EtcdGatewayClient CreateClient(int memberIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(memberIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(memberIndex, _members.Length);
        var client = new EtcdGatewayClient(_members[memberIndex].ClientUrl, new EtcdGatewayClientOptions
        {
            Username = _options.EnableAuth ? "root" : null,
            Password = _options.EnableAuth ? _options.RootPassword : null,
            LoggerFactory = _options.LoggerFactory,
        });
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    /// <summary>
    /// Waits until every running member answers <c>/health</c> with <c>true</c> (a leader is elected) and reports a
    /// decided cluster version on <c>/version</c> (the last internal write etcd makes after start).
    /// </summary>
    /// <exception cref="EtcdStartException">A member exited or the wait exceeded <see cref="EtcdClusterOptions.StartTimeout"/>.</exception>
    public async Task WaitHealthyAsync(CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        var pending = _members.Where(m => m.IsLaunched).ToList();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var member in pending)
            {
                if (!member.IsRunning)
                {
                    await member.WaitForOutputAsync().ConfigureAwait(false);
                    throw new EtcdStartException(
                        string.Create(CultureInfo.InvariantCulture, $"etcd member {member.Name} exited with code {member.ExitCode} before it was healthy."),
                        member.GetLogTail());
                }
            }

            var healthy = new List<EtcdProcess>();
            foreach (var member in pending)
            {
                if (await IsHealthyAsync(http, member, cancellationToken).ConfigureAwait(false))
                {
                    healthy.Add(member);
                }
            }

            pending.RemoveAll(healthy.Contains);
            if (pending.Count == 0)
            {
                return;
            }

            if (deadline.Elapsed > _options.StartTimeout)
            {
                var first = pending[0];
                throw new EtcdStartException(
                    string.Create(CultureInfo.InvariantCulture, $"etcd member {first.Name} was not healthy after {_options.StartTimeout.TotalSeconds:0} s."),
                    first.GetLogTail());
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops every member gracefully (SIGTERM, then SIGKILL after the grace period). The data stays.</summary>
    public async Task StopAsync(TimeSpan? gracePeriod = null, CancellationToken cancellationToken = default)
    {
        await Task.WhenAll(_members.Select(m => m.StopAsync(gracePeriod, cancellationToken))).ConfigureAwait(false);
    }

    /// <summary>Starts every stopped member again (same ports and data) and waits until the cluster is healthy.</summary>
    public async Task StartStoppedMembersAsync(CancellationToken cancellationToken = default)
    {
        foreach (var member in _members.Where(m => !m.IsRunning))
        {
            await member.LaunchAsync(cancellationToken).ConfigureAwait(false);
        }

        await WaitHealthyAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Kills every member, disposes the clients and deletes <see cref="RootDirectory"/> (unless <see cref="EtcdClusterOptions.KeepDirectory"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await ShutDownAsync(deleteRoot: !_options.KeepDirectory).ConfigureAwait(false);
    }

    /// <summary>Kills every member, disposes the clients and deletes <see cref="RootDirectory"/> (unless <see cref="EtcdClusterOptions.KeepDirectory"/>).</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static EtcdProcess[] CreateMembers(EtcdClusterOptions options, EtcdBinaries binaries, string root, ILogger logger)
    {
        var count = options.MemberCount;
        var ports = LoopbackPorts.Take(2 * count);
        var names = Enumerable.Range(0, count).Select(i => "m" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
        var initialCluster = string.Join(',', names.Select((n, i) => string.Create(CultureInfo.InvariantCulture, $"{n}=http://127.0.0.1:{ports[(2 * i) + 1]}")));
        var members = new EtcdProcess[count];
        for (var i = 0; i < count; i++)
        {
            var clientPort = ports[2 * i];
            var peerPort = ports[(2 * i) + 1];
            var dataDirectory = Path.Combine(root, names[i]);
            var clientUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{clientPort}");
            var peerUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{peerPort}");
            var arguments = new List<string>
            {
                "--name=" + names[i],
                "--data-dir=" + dataDirectory,
                "--listen-client-urls=" + clientUrl,
                "--advertise-client-urls=" + clientUrl,
                "--listen-peer-urls=" + peerUrl,
                "--initial-advertise-peer-urls=" + peerUrl,
                "--initial-cluster=" + initialCluster,
                "--initial-cluster-token=" + options.ClusterToken,
                "--initial-cluster-state=new",
                string.Create(CultureInfo.InvariantCulture, $"--heartbeat-interval={options.HeartbeatIntervalMilliseconds}"),
                string.Create(CultureInfo.InvariantCulture, $"--election-timeout={options.ElectionTimeoutMilliseconds}"),
            };
            if (options.QuotaBackendBytes is { } quota)
            {
                arguments.Add(string.Create(CultureInfo.InvariantCulture, $"--quota-backend-bytes={quota}"));
            }

            if (options.MaxRequestBytes is { } maxRequest)
            {
                arguments.Add(string.Create(CultureInfo.InvariantCulture, $"--max-request-bytes={maxRequest}"));
            }

            if (options.MaxTxnOps is { } maxTxnOps)
            {
                arguments.Add(string.Create(CultureInfo.InvariantCulture, $"--max-txn-ops={maxTxnOps}"));
            }

            arguments.AddRange(options.ExtraArguments);
            members[i] = new EtcdProcess(names[i], binaries.EtcdPath, dataDirectory, Path.Combine(root, names[i] + ".log"), clientPort, peerPort, arguments, options.UseParentDeathSignal, logger);
        }

        return members;
    }

    private static string CreateRootDirectory(string? baseDirectory)
    {
        var parent = string.IsNullOrEmpty(baseDirectory) ? Path.GetTempPath() : Path.GetFullPath(baseDirectory);
        Directory.CreateDirectory(parent);
        while (true)
        {
            var path = Path.Combine(parent, "talos-recovery-etcd-" + Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64())));
            if (Directory.Exists(path))
            {
                continue;
            }

            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(path);
            }
            else
            {
                // etcd wants its directories private (0700).
                Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            return path;
        }
    }

    private static async Task<bool> IsHealthyAsync(HttpClient http, EtcdProcess member, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(member.ClientUrl, "/health"), cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return false;
            }

            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!body.Contains("\"health\":\"true\"", StringComparison.Ordinal))
            {
                return false;
            }

            // The leader writes the cluster version to the backend shortly after the members have published
            // themselves. Waiting for it means no internal write lands later in a database a test is copying.
            using var version = await http.GetAsync(new Uri(member.ClientUrl, "/version"), cancellationToken).ConfigureAwait(false);
            var versions = await version.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return version.IsSuccessStatusCode && !versions.Contains("not_decided", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static void TryDeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private async Task BootAsync(CancellationToken cancellationToken)
    {
        if (_options.RestoreSnapshotPath is { } snapshot)
        {
            var restorer = Etcdctl.WithEndpoints(null);
            foreach (var member in _members)
            {
                await restorer.SnapshotRestoreAsync(snapshot, new EtcdctlRestoreOptions
                {
                    DataDirectory = member.DataDirectory,
                    Name = member.Name,
                    InitialCluster = InitialCluster,
                    InitialClusterToken = _options.ClusterToken,
                    InitialAdvertisePeerUrls = member.PeerUrl.GetLeftPart(UriPartial.Authority),
                    SkipHashCheck = _options.RestoreSkipHashCheck,
                }, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var member in _members)
        {
            await member.LaunchAsync(cancellationToken).ConfigureAwait(false);
        }

        await WaitHealthyAsync(cancellationToken).ConfigureAwait(false);

        foreach (var (member, index) in _members.Select((m, i) => (m, i)))
        {
            // Maintenance status needs no authentication, so it works on a restored cluster with auth enabled too.
            using var probe = new EtcdGatewayClient(member.ClientUrl);
            member.MemberId = (await probe.GetStatusAsync(cancellationToken).ConfigureAwait(false)).MemberId;
        }

        if (_options.EnableAuth && _options.RestoreSnapshotPath is null)
        {
            using var admin = new EtcdGatewayClient(_members[0].ClientUrl);
            await admin.AddUserAsync("root", _options.RootPassword, cancellationToken).ConfigureAwait(false);
            await admin.AddRoleAsync("root", cancellationToken).ConfigureAwait(false);
            await admin.GrantRoleAsync("root", "root", cancellationToken).ConfigureAwait(false);
            await admin.EnableAuthAsync(cancellationToken).ConfigureAwait(false);
            Log.AuthEnabled(_logger);
        }
    }

    private async Task ShutDownAsync(bool deleteRoot)
    {
        lock (_clients)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }

            _clients.Clear();
        }

        await Task.WhenAll(_members.Select(m => m.DisposeAsync().AsTask())).ConfigureAwait(false);
        if (deleteRoot)
        {
            ChildProcesses.DeleteDirectoryQuietly(RootDirectory);
            ChildProcesses.ForgetDirectory(RootDirectory);
        }
    }
}
