using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Talos.Recovery.Testing.Certificates;

namespace Talos.Recovery.Testing.Simulator;

/// <summary>Where a simulated control plane keeps etcd's data (<c>/var/lib/etcd</c>), and so what a reset's labels wipe.</summary>
public enum SimulatedEtcdVolume
{
    /// <summary>
    /// On <c>EPHEMERAL</c>, with no <c>ETCD</c> volume (Talos 1.8 to 1.13): <c>VolumeStatuses.block.talos.dev/ETCD</c> is
    /// <c>NotFound</c>, wiping <c>EPHEMERAL</c> wipes etcd, and a reset naming <c>ETCD</c> fails (<c>volume "ETCD" is not located</c>).
    /// </summary>
    Ephemeral = 0,

    /// <summary>
    /// In an <c>ETCD</c> volume that is a directory on <c>EPHEMERAL</c> (Talos 1.14's default layout): the volume status has type
    /// <c>directory</c>, wiping <c>EPHEMERAL</c> wipes etcd, and a reset naming <c>ETCD</c> without <c>EPHEMERAL</c> fails
    /// (<c>volume "ETCD" resides on volume "EPHEMERAL"</c>). Needs <see cref="TalosSimulatorOptions.TalosVersion"/> 1.14 or later.
    /// </summary>
    Directory,

    /// <summary>
    /// On an <c>ETCD</c> partition of its own (Talos 1.14+ with a <c>VolumeConfig</c> for <c>ETCD</c>): the volume status has type
    /// <c>partition</c>, wiping <c>EPHEMERAL</c> leaves etcd's data in place (only the snapshot upload, which lives on
    /// <c>EPHEMERAL</c>, goes), and only wiping <c>ETCD</c> empties it. Needs <see cref="TalosSimulatorOptions.TalosVersion"/> 1.14 or later.
    /// </summary>
    Partition,
}

/// <summary>Options of <see cref="TalosClusterSimulator.StartAsync(TalosSimulatorOptions?, CancellationToken)"/>.</summary>
public sealed class TalosSimulatorOptions
{
    /// <summary>The number of control-plane nodes (<c>cp-1</c>, <c>cp-2</c>, …), each running etcd. Default 3; at least 1.</summary>
    public int ControlPlanes { get; set; } = 3;

    /// <summary>The number of worker nodes (<c>worker-1</c>, …), without etcd. Default 0.</summary>
    public int Workers { get; set; }

    /// <summary>
    /// When <see langword="true"/>, the first control plane has machine type <c>init</c> (its Bootstrap never restores a
    /// snapshot, as on Talos). Default <see langword="false"/>.
    /// </summary>
    public bool InitNode { get; set; }

    /// <summary>The key type of the generated PKI (CA, node and client certificates). Default <see cref="TalosKeyAlgorithm.Ed25519"/>, as <c>talosctl gen secrets</c>.</summary>
    public TalosKeyAlgorithm KeyType { get; set; } = TalosKeyAlgorithm.Ed25519;

    /// <summary>
    /// The directory holding every node's disk (etcd data, uploads) and the etcd logs. Default <see langword="null"/>: a
    /// new directory under the system temporary directory, removed on dispose. A given directory is kept.
    /// </summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>The Talos version the nodes report (<c>Version</c>). Default <c>v1.11.3</c>.</summary>
    public string TalosVersion { get; set; } = "v1.11.3";

    /// <summary>
    /// Where every control plane keeps etcd's data: <see cref="SimulatedEtcdVolume.Ephemeral"/> (the default),
    /// <see cref="SimulatedEtcdVolume.Directory"/> or <see cref="SimulatedEtcdVolume.Partition"/> (both Talos 1.14+). It decides what
    /// <c>VolumeStatuses.block.talos.dev/ETCD</c> reports and what a reset's system labels wipe.
    /// </summary>
    public SimulatedEtcdVolume EtcdVolume { get; set; }

    /// <summary>
    /// When <see langword="true"/> (the default), start returns a bootstrapped, healthy cluster with etcd running on every
    /// control plane. When <see langword="false"/>, every control plane waits in the etcd join loop (<c>Preparing</c>)
    /// until a Bootstrap call.
    /// </summary>
    public bool Bootstrapped { get; set; } = true;

    /// <summary>How long a simulated reboot keeps a node unreachable. Default 300 ms.</summary>
    public TimeSpan RebootDelay { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// When <see langword="true"/>, every node also listens on a plaintext HTTP/2 (h2c) port that trusts a
    /// <c>talos-role</c> metadata header, the way machined trusts apid (for a separate TLS front such as an apid stand-in).
    /// Default <see langword="false"/>.
    /// </summary>
    public bool PlaintextListener { get; set; }

    /// <summary>
    /// When <see langword="true"/>, a node's first EtcdSnapshot is read from its etcd and kept in memory, and later
    /// EtcdSnapshot calls to that node replay those bytes without asking etcd (so they go stale after writes): for
    /// benchmarks that measure the client and transport rather than etcd. Default <see langword="false"/>.
    /// </summary>
    public bool ReplayEtcdSnapshot { get; set; }

    /// <summary>Where the simulator, its servers and its etcd harness log. Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;
}
