using System.Globalization;
using System.Net;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Talos.Recovery.Api.Machine;
using Talos.Recovery.Client;
using Talos.Recovery.Testing.Certificates;
using Talos.Recovery.Testing.Etcd;
using Talos.Recovery.Testing.Tls;

namespace Talos.Recovery.Testing.Simulator;

/// <summary>
/// One simulated Talos node of a <see cref="TalosClusterSimulator"/>: its machine API server (mutual TLS, like apid in
/// front of machined), its disk under the simulator's working directory, and on control planes a real etcd process.
/// Fault injection (<see cref="LoseDataAsync"/>, <see cref="StopEtcdAsync"/>, <see cref="PowerOffAsync"/>, <see cref="SplitIntoOwnClusterAsync"/>) builds the
/// disasters a recovery must handle.
/// </summary>
public sealed partial class SimulatedNode
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(5) })
    {
        Timeout = TimeSpan.FromSeconds(2),
    };

    private readonly TalosClusterSimulator _simulator;
    private readonly IPAddress _ip;
    private readonly TalosCertificate _serverCertificate;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly Lock _sync = new();
    private readonly List<ServiceEvent> _etcdEvents = [];
    private readonly int _etcdClientPort;
    private readonly int _etcdPeerPort;
    private WebApplication? _app;
    private EtcdProcess? _etcd;
    private CancellationTokenSource? _joinCts;
    private Task _joinTask = Task.CompletedTask;
    private TalosServiceState _etcdState;
    private string _etcdMessage = "";
    private volatile bool _ready;
    private volatile bool _poweredOn;

    internal SimulatedNode(TalosClusterSimulator simulator, string name, IPAddress address, TalosMachineType machineType)
    {
        _simulator = simulator;
        Name = name;
        _ip = address;
        Address = address.ToString();
        MachineType = machineType;
        var ports = LoopbackPorts.Take(4);
        Port = ports[0];
        PlaintextPort = simulator.Options.PlaintextListener ? ports[1] : null;
        _etcdClientPort = ports[2];
        _etcdPeerPort = ports[3];
        RootDirectory = Path.Combine(simulator.WorkingDirectory, name);
        CreatePrivateDirectory(Path.Combine(RootDirectory, "var", "lib"));
        _serverCertificate = simulator.CertificateAuthority.IssueServerCertificate(new TalosCertificateOptions
        {
            IPAddresses = [address],
            DnsNames = [name],
            CommonName = name,
        });
        MachineConfigYaml = SimulatorResources.GenerateMachineConfig(simulator, this);
        _etcdState = IsControlPlane ? TalosServiceState.Waiting : TalosServiceState.Unknown;
    }

    /// <summary>The hostname, e.g. <c>cp-1</c> or <c>worker-1</c> (also the etcd member name).</summary>
    public string Name { get; }

    /// <summary>The node's loopback IP, e.g. <c>127.45.3.11</c>: what a client puts in the <c>node</c> metadata.</summary>
    public string Address { get; }

    /// <summary>The TLS port of the node's machine API (chosen at run time; Talos uses 50000).</summary>
    public int Port { get; }

    /// <summary><c>Address:Port</c>: what a client dials (a talosconfig endpoint).</summary>
    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"{Address}:{Port}");

    /// <summary>The plaintext (h2c) port trusting <c>talos-role</c>, when <see cref="TalosSimulatorOptions.PlaintextListener"/> is set.</summary>
    public int? PlaintextPort { get; }

    /// <summary>The machine type: <see cref="TalosMachineType.ControlPlane"/>, <see cref="TalosMachineType.Init"/> or <see cref="TalosMachineType.Worker"/>.</summary>
    public TalosMachineType MachineType { get; }

    /// <summary>Whether the node is a control plane (runs etcd).</summary>
    public bool IsControlPlane => MachineType is TalosMachineType.ControlPlane or TalosMachineType.Init;

    /// <summary>The node's disk: absolute paths of the machine API (<c>/var/lib/etcd</c>) map below it.</summary>
    public string RootDirectory { get; }

    /// <summary>The etcd data directory (<c>/var/lib/etcd</c>).</summary>
    public string EtcdDataDirectory => Path.Combine(RootDirectory, "var", "lib", "etcd");

    /// <summary>Where EtcdRecover stores the upload (<c>/var/lib/etcd.snapshot</c>).</summary>
    public string EtcdSnapshotUploadPath => Path.Combine(RootDirectory, "var", "lib", "etcd.snapshot");

    /// <summary>The current state of the etcd service (<see cref="TalosServiceState.Unknown"/> on workers).</summary>
    public TalosServiceState EtcdState
    {
        get
        {
            lock (_sync)
            {
                return _etcdState;
            }
        }
    }

    /// <summary>The message of the etcd service's last event.</summary>
    public string EtcdStateMessage
    {
        get
        {
            lock (_sync)
            {
                return _etcdMessage;
            }
        }
    }

    /// <summary>The etcd client URL while etcd runs (for tests to read and write keys directly), otherwise <see langword="null"/>.</summary>
    public Uri? EtcdClientUrl => _etcd is { IsRunning: true } ? EtcdUrl : null;

    /// <summary>The etcd process id while etcd runs, otherwise <see langword="null"/>.</summary>
    public int? EtcdProcessId => _etcd?.ProcessId;

    /// <summary>Whether the node is powered on (its API accepts connections, possibly still booting).</summary>
    public bool IsPoweredOn => _poweredOn;

    /// <summary>Where the node keeps etcd's data (<see cref="TalosSimulatorOptions.EtcdVolume"/>): what <c>VolumeStatuses.block.talos.dev/ETCD</c> reports and what a reset's labels wipe.</summary>
    public SimulatedEtcdVolume EtcdVolume => _simulator.Options.EtcdVolume;

    /// <summary>The machine configuration the node reports (<c>MachineConfigs.config.talos.dev</c>, id <c>v1alpha1</c>).</summary>
    public string MachineConfigYaml { get; }

    internal Uri EtcdUrl => new(string.Create(CultureInfo.InvariantCulture, $"http://{Address}:{_etcdClientPort}"));

    internal string EtcdPeerUrl => string.Create(CultureInfo.InvariantCulture, $"http://{Address}:{_etcdPeerPort}");

    internal bool IsReady => _ready && _poweredOn;

    internal TalosClusterSimulator Simulator => _simulator;

    /// <summary>
    /// The disk is lost: etcd is killed, <c>/var/lib/etcd</c> and any upload are wiped, and the node reboots into the etcd
    /// join loop (<c>Preparing</c>), unreachable for <see cref="TalosSimulatorOptions.RebootDelay"/>.
    /// </summary>
    public async Task LoseDataAsync(CancellationToken cancellationToken = default)
    {
        SimulatorLog.NodeAction(_simulator.Logger, Name, "losing its data");
        _ready = false;
        await CancelJoinLoopAsync().ConfigureAwait(false);
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            KillEtcd();
            WipeEtcdData();
        }
        finally
        {
            _lifecycle.Release();
        }

        await RebootCoreAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The etcd process dies (SIGKILL): the service goes to <c>Failed</c> and is not restarted. The data stays.</summary>
    public async Task StopEtcdAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_etcd is { IsRunning: true })
            {
                KillEtcd();
                SetEtcdState(TalosServiceState.Failed, "Error running Containerd(etcd), going to restart forever: task \"etcd\" failed: exit code 137");
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// A split brain, as after a mistaken <c>talosctl bootstrap</c> on a node that had lost its data while the other members kept
    /// quorum: the node's etcd is killed, its data wiped, and etcd starts a new single-member cluster of its own (a fresh member
    /// id, Running and healthy). The other members still list the node's old member, which no longer answers them; the node
    /// lists only its new member. The node's API stays reachable throughout. Returns once the new etcd is healthy.
    /// </summary>
    /// <exception cref="InvalidOperationException">The node is not a control plane.</exception>
    public async Task SplitIntoOwnClusterAsync(CancellationToken cancellationToken = default)
    {
        if (!IsControlPlane)
        {
            throw new InvalidOperationException($"{Name} is a worker: it runs no etcd.");
        }

        SimulatorLog.NodeAction(_simulator.Logger, Name, "bootstrapping a cluster of its own");
        await CancelJoinLoopAsync().ConfigureAwait(false);
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            KillEtcd();
            WipeEtcdData();
            SetEtcdState(TalosServiceState.Finished, "Bootstrap requested");
            SetEtcdState(TalosServiceState.Starting, "Starting service");
            SetEtcdState(TalosServiceState.Preparing, "Running pre state");
            SetEtcdState(TalosServiceState.Preparing, "Creating service runner");

            // Another cluster token gives the new member an id of its own (etcd derives it from the peer URLs and the token).
            await LaunchEtcdAsync(Name + "=" + EtcdPeerUrl, existing: false, cancellationToken, _simulator.ClusterToken + "-" + Name + "-alone").ConfigureAwait(false);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            await WaitEtcdHealthyAsync(timeout.Token).ConfigureAwait(false);
            MarkEtcdRunning();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Powers the node off: etcd is killed (data kept) and connections to its API are refused until <see cref="PowerOnAsync"/>.</summary>
    public async Task PowerOffAsync(CancellationToken cancellationToken = default)
    {
        SimulatorLog.NodeAction(_simulator.Logger, Name, "powering off");
        _ready = false;
        await CancelJoinLoopAsync().ConfigureAwait(false);
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            KillEtcd();
        }
        finally
        {
            _lifecycle.Release();
        }

        await StopServerAsync().ConfigureAwait(false);
    }

    /// <summary>Powers the node on: its API comes back and etcd starts from its data, or enters the join loop when the data is empty.</summary>
    public async Task PowerOnAsync(CancellationToken cancellationToken = default)
    {
        if (_poweredOn)
        {
            return;
        }

        await StartServerAsync(cancellationToken).ConfigureAwait(false);
        await BootEtcdAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reboots the node: unreachable for <see cref="TalosSimulatorOptions.RebootDelay"/>, then etcd restarts from its data (or joins).</summary>
    public async Task RebootAsync(CancellationToken cancellationToken = default)
    {
        _ready = false;
        await CancelJoinLoopAsync().ConfigureAwait(false);
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await StopEtcdProcessAsync().ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }

        await RebootCoreAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits until the etcd service reaches <paramref name="state"/> (polling), or throws <see cref="TimeoutException"/>.</summary>
    /// <param name="state">The state to wait for.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task WaitForEtcdStateAsync(TalosServiceState state, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (EtcdState != state || (state == TalosServiceState.Running && !IsReady))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"etcd on {Name} is {EtcdState} ({EtcdStateMessage}), not {state}, after {timeout.TotalSeconds:0.#} s.");
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Address}, {MachineType})";

    internal async Task StartServerAsync(CancellationToken cancellationToken)
    {
        var options = _simulator.Options;
        var tls = TalosTlsServerOptions.Create(_serverCertificate, _simulator.CertificateAuthority);
        tls = new TalosTlsServerOptions
        {
            CertificatePem = tls.CertificatePem,
            KeyPem = tls.KeyPem,
            ClientCaPem = tls.ClientCaPem,
            LoggerFactory = options.LoggerFactory,
        };

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(options.LoggerFactory);
        builder.Services.AddSingleton(this);
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = 32 * 1024 * 1024;
            grpc.EnableDetailedErrors = false;
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(_ip, Port, listen => listen.UseTalosTls(tls));
            if (PlaintextPort is { } plain)
            {
                kestrel.Listen(_ip, plain, listen => listen.Protocols = HttpProtocols.Http2);
            }
        });
        var app = builder.Build();
        app.MapGrpcService<SimulatorMachineService>();
        app.MapGrpcService<SimulatorStateService>();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
        _poweredOn = true;
        _ready = true;
    }

    internal async Task StopServerAsync()
    {
        _poweredOn = false;
        _ready = false;
        CompleteEventStreams();
        var app = Interlocked.Exchange(ref _app, null);
        if (app is null)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await app.DisposeAsync().ConfigureAwait(false);
    }

    internal async Task ShutDownAsync()
    {
        await CancelJoinLoopAsync().ConfigureAwait(false);
        KillEtcd();
        await StopServerAsync().ConfigureAwait(false);
        KillEtcd();
    }

    internal async Task LaunchEtcdAsync(string initialCluster, bool existing, CancellationToken cancellationToken, string? clusterToken = null)
    {
        CreatePrivateDirectory(EtcdDataDirectory);
        var arguments = new List<string>
        {
            "--name=" + Name,
            "--data-dir=" + EtcdDataDirectory,
            "--listen-client-urls=" + EtcdUrl.GetLeftPart(UriPartial.Authority),
            "--advertise-client-urls=" + EtcdUrl.GetLeftPart(UriPartial.Authority),
            "--listen-peer-urls=" + EtcdPeerUrl,
            "--initial-advertise-peer-urls=" + EtcdPeerUrl,
            "--initial-cluster=" + initialCluster,
            "--initial-cluster-token=" + (clusterToken ?? _simulator.ClusterToken),
            "--initial-cluster-state=" + (existing ? "existing" : "new"),
            "--heartbeat-interval=100",
            "--election-timeout=1000",
        };
        var logger = _simulator.Options.LoggerFactory.CreateLogger<EtcdProcess>();
        var process = new EtcdProcess(Name, _simulator.EtcdPath, EtcdDataDirectory, Path.Combine(_simulator.WorkingDirectory, Name + "-etcd.log"), _etcdClientPort, _etcdPeerPort, arguments, useParentDeathSignal: true, logger);
        await process.LaunchAsync(cancellationToken).ConfigureAwait(false);
        _etcd = process;
    }

    internal async Task WaitEtcdHealthyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var process = _etcd;
            if (process is null || !process.IsRunning)
            {
                string tail = process?.GetLogTail() ?? "";
                throw new EtcdStartException($"etcd on {Name} exited before it was healthy.", tail);
            }

            if (await IsEtcdHealthyAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    internal async Task<bool> IsEtcdHealthyAsync(CancellationToken cancellationToken)
    {
        if (_etcd is not { IsRunning: true })
        {
            return false;
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(1.5));
            using var response = await Http.GetAsync(new Uri(EtcdUrl, "/health"), timeout.Token).ConfigureAwait(false);
            string body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            return response.IsSuccessStatusCode && body.Contains("\"health\":\"true\"", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    internal void MarkEtcdRunning()
        => SetEtcdState(TalosServiceState.Running, string.Create(CultureInfo.InvariantCulture, $"Started task etcd (PID {_etcd?.ProcessId ?? 0}) for container etcd"));

    internal void SetEtcdState(TalosServiceState state, string message)
    {
        var now = Timestamp.FromDateTime(DateTime.UtcNow);
        string text = StateText(state);
        lock (_sync)
        {
            _etcdState = state;
            _etcdMessage = message;
            _etcdEvents.Add(new ServiceEvent { Msg = message, State = text, Ts = now });
            if (_etcdEvents.Count > 64)
            {
                _etcdEvents.RemoveAt(0);
            }
        }

        SimulatorLog.EtcdState(_simulator.Logger, Name, text, message);
        PublishEvent(new ServiceStateEvent
        {
            Service = "etcd",
            Action = (ServiceStateEvent.Types.Action)ActionOf(state),
            Message = message,
            Health = new ServiceHealth { Unknown = true },
        }, actorId: "");
    }

    internal IReadOnlyList<ServiceEvent> EtcdEvents()
    {
        lock (_sync)
        {
            return _etcdEvents.Select(e => e.Clone()).ToList();
        }
    }

    /// <summary>Puts etcd in Waiting, then Preparing (the join loop), and starts the loop.</summary>
    internal void EnterJoinLoop()
    {
        SetEtcdState(TalosServiceState.Waiting, "Waiting for service \"cri\" to be \"up\", time sync, network, etcd spec");
        SetEtcdState(TalosServiceState.Preparing, "Running pre state");
        var cts = new CancellationTokenSource();
        _joinCts = cts;
        _joinTask = Task.Run(() => JoinLoopAsync(cts.Token));
    }

    internal async Task CancelJoinLoopAsync()
    {
        var cts = Interlocked.Exchange(ref _joinCts, null);
        if (cts is null)
        {
            return;
        }

        await cts.CancelAsync().ConfigureAwait(false);
        try
        {
            await _joinTask.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        cts.Dispose();
    }

    internal void KillEtcd()
    {
        var process = _etcd;
        process?.Kill();
    }

    internal async Task StopEtcdProcessAsync()
    {
        var process = _etcd;
        if (process is not null)
        {
            await process.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
    }

    internal bool EtcdDataDirectoryHasEntries()
        => Directory.Exists(EtcdDataDirectory) && Directory.EnumerateFileSystemEntries(EtcdDataDirectory).Any();

    internal void WipeEtcdData(bool includeUpload = true)
    {
        if (Directory.Exists(EtcdDataDirectory))
        {
            foreach (string entry in Directory.EnumerateFileSystemEntries(EtcdDataDirectory).ToList())
            {
                if (Directory.Exists(entry))
                {
                    Directory.Delete(entry, recursive: true);
                }
                else
                {
                    File.Delete(entry);
                }
            }
        }

        if (includeUpload)
        {
            File.Delete(EtcdSnapshotUploadPath);
        }
    }

    internal async Task RebootCoreAsync(CancellationToken cancellationToken)
    {
        await StopServerAsync().ConfigureAwait(false);
        await Task.Delay(_simulator.Options.RebootDelay, cancellationToken).ConfigureAwait(false);
        if (_simulator.IsDisposed)
        {
            return;
        }

        await StartServerAsync(cancellationToken).ConfigureAwait(false);
        await BootEtcdAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>After a boot: etcd from existing data, or the join loop.</summary>
    internal async Task BootEtcdAsync(CancellationToken cancellationToken)
    {
        if (!IsControlPlane)
        {
            return;
        }

        if (!EtcdDataDirectoryHasEntries())
        {
            EnterJoinLoop();
            return;
        }

        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            SetEtcdState(TalosServiceState.Waiting, "Waiting for service \"cri\" to be \"up\", time sync, network, etcd spec");
            SetEtcdState(TalosServiceState.Preparing, "Running pre state");
            SetEtcdState(TalosServiceState.Preparing, "Creating service runner");
            await LaunchEtcdAsync(Name + "=" + EtcdPeerUrl, existing: true, cancellationToken).ConfigureAwait(false);
            MarkEtcdRunning();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    internal void RunInBackground(Func<Task> work)
    {
        _ = Task.Run(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            catch (Exception ex) when (_simulator.IsDisposed || ex is OperationCanceledException)
            {
            }
            catch (Exception ex)
            {
                SimulatorLog.BackgroundFailed(_simulator.Logger, Name, ex);
            }
        });
    }

    private async Task JoinLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested && !_simulator.IsDisposed)
        {
            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            SimulatedNode? source = null;
            foreach (var candidate in _simulator.ControlPlanes.Where(n => n != this && n.EtcdState == TalosServiceState.Running && n.IsPoweredOn))
            {
                if (await candidate.IsEtcdHealthyAsync(cancellationToken).ConfigureAwait(false))
                {
                    source = candidate;
                    break;
                }
            }

            if (source is null)
            {
                continue;
            }

            await _simulator.JoinLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (await TryJoinAsync(source, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
            finally
            {
                _simulator.JoinLock.Release();
            }
        }
    }

    private async Task<bool> TryJoinAsync(SimulatedNode source, CancellationToken cancellationToken)
    {
        var etcdctl = _simulator.Etcdctl.WithEndpoints(source.EtcdUrl.GetLeftPart(UriPartial.Authority));
        try
        {
            var list = await etcdctl.RunCheckedAsync(["member", "list", "-w", "json", "--command-timeout=3s"], cancellationToken).ConfigureAwait(false);
            foreach (var member in ParseMembers(list.StandardOutput))
            {
                if (member.Name == Name || member.PeerUrls.Contains(EtcdPeerUrl))
                {
                    await etcdctl.RunCheckedAsync(["member", "remove", member.Id.ToString("x", CultureInfo.InvariantCulture), "--command-timeout=3s"], cancellationToken).ConfigureAwait(false);
                }
            }

            var added = await etcdctl.RunCheckedAsync(["member", "add", Name, "--peer-urls=" + EtcdPeerUrl, "-w", "json", "--command-timeout=3s"], cancellationToken).ConfigureAwait(false);
            string initialCluster = string.Join(',', ParseMembers(added.StandardOutput)
                .Where(m => m.PeerUrls.Count > 0)
                .Select(m => (string.IsNullOrEmpty(m.Name) ? Name : m.Name) + "=" + m.PeerUrls[0]));
            WipeEtcdData();
            await LaunchEtcdAsync(initialCluster, existing: true, cancellationToken).ConfigureAwait(false);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(20));
            await WaitEtcdHealthyAsync(timeout.Token).ConfigureAwait(false);
            SetEtcdState(TalosServiceState.Preparing, "Creating service runner");
            MarkEtcdRunning();
            return true;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            SimulatorLog.JoinFailed(_simulator.Logger, Name, ex.Message);
            KillEtcd();
            WipeEtcdData();
            return false;
        }
        catch (OperationCanceledException)
        {
            KillEtcd();
            throw;
        }
    }

    internal static IReadOnlyList<(ulong Id, string Name, IReadOnlyList<string> PeerUrls, IReadOnlyList<string> ClientUrls, bool IsLearner)> ParseMembers(string json)
    {
        using var document = JsonDocument.Parse(json);
        var result = new List<(ulong, string, IReadOnlyList<string>, IReadOnlyList<string>, bool)>();
        if (!document.RootElement.TryGetProperty("members", out var members))
        {
            return result;
        }

        foreach (var member in members.EnumerateArray())
        {
            ulong id = member.TryGetProperty("ID", out var idElement) ? idElement.GetUInt64() : 0;
            string name = member.TryGetProperty("name", out var nameElement) ? nameElement.GetString() ?? "" : "";
            var peers = member.TryGetProperty("peerURLs", out var p) ? p.EnumerateArray().Select(e => e.GetString() ?? "").ToList() : [];
            var clients = member.TryGetProperty("clientURLs", out var c) ? c.EnumerateArray().Select(e => e.GetString() ?? "").ToList() : [];
            bool learner = member.TryGetProperty("isLearner", out var l) && l.GetBoolean();
            result.Add((id, name, peers, clients, learner));
        }

        return result;
    }

    internal static string StateText(TalosServiceState state) => state switch
    {
        TalosServiceState.Initialized => "Initialized",
        TalosServiceState.Preparing => "Preparing",
        TalosServiceState.Waiting => "Waiting",
        TalosServiceState.Running => "Running",
        TalosServiceState.Stopping => "Stopping",
        TalosServiceState.Finished => "Finished",
        TalosServiceState.Failed => "Failed",
        TalosServiceState.Skipped => "Skipped",
        TalosServiceState.Starting => "Starting",
        _ => "Unknown",
    };

    private static int ActionOf(TalosServiceState state) => state switch
    {
        TalosServiceState.Preparing => 1,
        TalosServiceState.Waiting => 2,
        TalosServiceState.Running => 3,
        TalosServiceState.Stopping => 4,
        TalosServiceState.Finished => 5,
        TalosServiceState.Failed => 6,
        TalosServiceState.Skipped => 7,
        TalosServiceState.Starting => 8,
        _ => 0,
    };

    internal static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
