using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Talos.Recovery.Client;
using Talos.Recovery.Testing.Certificates;
using Talos.Recovery.Testing.Etcd;

namespace Talos.Recovery.Testing.Simulator;

/// <summary>
/// A simulated Talos cluster on loopback: one machine API server per node (mutual TLS like apid, the machine API and the
/// COSI resource API like machined), each control plane backed by a real etcd process. Nodes have their own loopback
/// IP (a random <c>127.x.y.0/24</c> per simulator, nodes at <c>.11</c>, <c>.12</c>, …) and run-time ports. Dispose it
/// to stop every server and etcd process; etcd is also killed if the host dies (the etcd harness's orphan prevention).
/// </summary>
/// <example>
/// <code>
/// await using var cluster = await TalosClusterSimulator.StartAsync();
/// string talosconfig = cluster.WriteTalosConfig(Path.Combine(dir, "talosconfig"));
/// await cluster.ControlPlanes[1].LoseDataAsync();
/// </code>
/// </example>
public sealed class TalosClusterSimulator : IAsyncDisposable
{
    /// <summary>The name of the talosconfig context <see cref="CreateTalosConfig(string[])"/> writes.</summary>
    public const string ContextName = "simulator";

    private readonly List<SimulatedNode> _nodes = [];
    private readonly bool _ownsDirectory;
    private int _disposed;

    private TalosClusterSimulator(TalosSimulatorOptions options, string directory, bool ownsDirectory)
    {
        Options = options;
        WorkingDirectory = directory;
        _ownsDirectory = ownsDirectory;
        Logger = options.LoggerFactory.CreateLogger<TalosClusterSimulator>();
        CertificateAuthority = TalosCertificateAuthority.Create(options.KeyType);
        Etcdctl = new Etcdctl(EtcdBinaries.FindEtcdctl()) { Timeout = TimeSpan.FromSeconds(15) };
        EtcdPath = EtcdBinaries.Find().EtcdPath;
        ClusterToken = "talos-sim-" + Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64()))[..8];
    }

    /// <summary>The options the simulator was started with.</summary>
    public TalosSimulatorOptions Options { get; }

    /// <summary>The directory holding every node's disk (<c>&lt;dir&gt;/&lt;node&gt;/var/lib/etcd</c>, …).</summary>
    public string WorkingDirectory { get; }

    /// <summary>The Talos OS certificate authority: it signs the node server certificates and the client certificates.</summary>
    public TalosCertificateAuthority CertificateAuthority { get; }

    /// <summary>Every node: control planes first, then workers.</summary>
    public IReadOnlyList<SimulatedNode> Nodes => _nodes;

    /// <summary>The control-plane nodes (machine type <c>controlplane</c> or <c>init</c>).</summary>
    public IReadOnlyList<SimulatedNode> ControlPlanes => _nodes.Where(n => n.IsControlPlane).ToList();

    /// <summary>The worker nodes.</summary>
    public IReadOnlyList<SimulatedNode> Workers => _nodes.Where(n => !n.IsControlPlane).ToList();

    /// <summary>How long <see cref="StartAsync"/> took.</summary>
    public TimeSpan StartupTime { get; private set; }

    /// <summary>The first Talos version with an <c>ETCD</c> volume.</summary>
    internal static readonly Version EtcdVolumeVersion = new(1, 14, 0);

    /// <summary>The first Talos version with volume statuses (<c>VolumeStatuses.block.talos.dev</c>).</summary>
    internal static readonly Version VolumeStatusVersion = new(1, 8, 0);

    internal ILogger Logger { get; }

    internal static Version? ParseVersion(string tag) => global::Talos.Recovery.Recovery.ClusterAssessment.ParseTag(tag);

    internal Etcdctl Etcdctl { get; }

    internal string EtcdPath { get; }

    internal string ClusterToken { get; }

    /// <summary>Serialises etcd joins (etcd refuses a second member add before the first new member is up).</summary>
    internal SemaphoreSlim JoinLock { get; } = new(1, 1);

    /// <summary>
    /// Starts the nodes. With <see cref="TalosSimulatorOptions.Bootstrapped"/> (the default) it returns once etcd runs and
    /// is healthy on every control plane.
    /// </summary>
    /// <exception cref="EtcdNotFoundException">etcd or etcdctl is not installed.</exception>
    public static async Task<TalosClusterSimulator> StartAsync(TalosSimulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new TalosSimulatorOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ControlPlanes, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.Workers, nameof(options));
        if (options.ControlPlanes + options.Workers > 200)
        {
            throw new ArgumentException("At most 200 nodes.", nameof(options));
        }

        if (options.EtcdVolume != SimulatedEtcdVolume.Ephemeral && !(ParseVersion(options.TalosVersion) is { } version && version >= EtcdVolumeVersion))
        {
            throw new ArgumentException($"An ETCD volume ({options.EtcdVolume}) needs TalosVersion v{EtcdVolumeVersion} or later; {options.TalosVersion} keeps etcd on EPHEMERAL.", nameof(options));
        }

        var stopwatch = Stopwatch.StartNew();
        bool owns = string.IsNullOrEmpty(options.WorkingDirectory);
        string directory = owns
            ? Path.Combine(Path.GetTempPath(), "talos-sim-" + Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64())))
            : Path.GetFullPath(options.WorkingDirectory!);
        Directory.CreateDirectory(directory);
        if (owns)
        {
            ChildProcesses.DeleteDirectoryOnExit(directory);
        }

        var simulator = new TalosClusterSimulator(options, directory, owns);
        try
        {
            byte b1 = (byte)Random.Shared.Next(1, 255);
            byte b2 = (byte)Random.Shared.Next(0, 256);
            for (int i = 0; i < options.ControlPlanes + options.Workers; i++)
            {
                bool controlPlane = i < options.ControlPlanes;
                var type = controlPlane ? (i == 0 && options.InitNode ? TalosMachineType.Init : TalosMachineType.ControlPlane) : TalosMachineType.Worker;
                string name = controlPlane
                    ? string.Create(CultureInfo.InvariantCulture, $"cp-{i + 1}")
                    : string.Create(CultureInfo.InvariantCulture, $"worker-{i - options.ControlPlanes + 1}");
                var address = new IPAddress([127, b1, b2, (byte)(11 + i)]);
                simulator._nodes.Add(new SimulatedNode(simulator, name, address, type));
            }

            await Task.WhenAll(simulator._nodes.Select(n => n.StartServerAsync(cancellationToken))).ConfigureAwait(false);
            if (options.Bootstrapped)
            {
                await simulator.StartInitialEtcdAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                foreach (var node in simulator.ControlPlanes)
                {
                    node.EnterJoinLoop();
                }
            }

            simulator.StartupTime = stopwatch.Elapsed;
            SimulatorLog.Started(simulator.Logger, simulator._nodes.Count, (long)stopwatch.Elapsed.TotalMilliseconds, directory);
            return simulator;
        }
        catch
        {
            await simulator.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// A talosconfig with one context, <see cref="ContextName"/> (current): endpoints = the control-plane endpoints, nodes =
    /// every node address, CA from the simulator, and a new client certificate with <paramref name="roles"/> (Ed25519 keys
    /// under <c>ED25519 PRIVATE KEY</c>, as talosctl writes them).
    /// </summary>
    /// <param name="roles">The client certificate's roles; default <c>os:admin</c>.</param>
    public TalosConfig CreateTalosConfig(params string[] roles)
        => CreateTalosConfig(CreateClientCertificate(roles.Length == 0 ? ["os:admin"] : roles));

    /// <summary>A talosconfig like <see cref="CreateTalosConfig(string[])"/> with a given client certificate (e.g. expired, wrong usage).</summary>
    /// <param name="clientCertificate">The client certificate and key to put in the context.</param>
    public TalosConfig CreateTalosConfig(TalosCertificate clientCertificate)
    {
        ArgumentNullException.ThrowIfNull(clientCertificate);
        var context = new TalosContextOptions
        {
            CertificateAuthorityPem = CertificateAuthority.CertificatePem,
            ClientCertificatePem = clientCertificate.CertificatePem,
            ClientKeyPem = clientCertificate.KeyPem,
            Cluster = ContextName,
        };
        foreach (var node in ControlPlanes)
        {
            context.Endpoints.Add(node.Endpoint);
        }

        foreach (var node in _nodes)
        {
            context.Nodes.Add(node.Address);
        }

        return TalosConfig.Create(ContextName, context);
    }

    /// <summary>Writes <see cref="CreateTalosConfig(string[])"/> to <paramref name="path"/> (mode 0600) and returns the full path.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="roles">The client certificate's roles; default <c>os:admin</c>.</param>
    public string WriteTalosConfig(string path, params string[] roles)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        CreateTalosConfig(roles).Save(full);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(full, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return full;
    }

    /// <summary>A new client certificate signed by the simulator's CA with the given roles (subject O values).</summary>
    /// <param name="roles">The roles, e.g. <c>os:reader</c>, <c>os:etcd:backup</c>.</param>
    public TalosCertificate CreateClientCertificate(params string[] roles) => CertificateAuthority.IssueClientCertificate(roles);

    /// <summary>A new client certificate with arbitrary options (expired, wrong extended key usage, …) signed by the simulator's CA.</summary>
    /// <param name="options">What to put in the certificate.</param>
    public TalosCertificate CreateClientCertificate(TalosCertificateOptions options) => CertificateAuthority.IssueClientCertificate(options);

    /// <summary>The node with this address or name, or <see langword="null"/>.</summary>
    /// <param name="addressOrName">An IP address (<see cref="SimulatedNode.Address"/>) or hostname (<see cref="SimulatedNode.Name"/>).</param>
    public SimulatedNode? FindNode(string addressOrName)
        => _nodes.FirstOrDefault(n => n.Address == addressOrName || string.Equals(n.Name, addressOrName, StringComparison.OrdinalIgnoreCase));

    /// <summary>Stops every server and etcd process and removes the working directory (when the simulator created it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Task.WhenAll(_nodes.Select(n => n.ShutDownAsync())).ConfigureAwait(false);
        if (_ownsDirectory)
        {
            ChildProcesses.DeleteDirectoryQuietly(WorkingDirectory);
            ChildProcesses.ForgetDirectory(WorkingDirectory);
        }

        JoinLock.Dispose();
    }

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    private async Task StartInitialEtcdAsync(CancellationToken cancellationToken)
    {
        var controlPlanes = ControlPlanes;
        string initialCluster = string.Join(',', controlPlanes.Select(n => n.Name + "=" + n.EtcdPeerUrl));
        foreach (var node in controlPlanes)
        {
            await node.LaunchEtcdAsync(initialCluster, existing: false, cancellationToken).ConfigureAwait(false);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await Task.WhenAll(controlPlanes.Select(n => n.WaitEtcdHealthyAsync(timeout.Token))).ConfigureAwait(false);
        foreach (var node in controlPlanes)
        {
            node.MarkEtcdRunning();
        }
    }
}
