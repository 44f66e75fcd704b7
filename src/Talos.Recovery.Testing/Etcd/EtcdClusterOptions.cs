using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Talos.Recovery.Testing.Etcd;

/// <summary>Options for <see cref="EtcdCluster.StartAsync(EtcdClusterOptions?, CancellationToken)"/>.</summary>
public sealed class EtcdClusterOptions
{
    /// <summary>The number of members, 1 or more. Default: 1.</summary>
    public int MemberCount
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = 1;

    /// <summary>
    /// The etcd server executable. Default: <see langword="null"/>, found through <see cref="EtcdBinaries.EtcdVariable"/>
    /// (<c>TALOS_RECOVERY_ETCD</c>), then <c>PATH</c>.
    /// </summary>
    public string? EtcdPath { get; set; }

    /// <summary>
    /// The etcdctl executable. Default: <see langword="null"/>, found through <see cref="EtcdBinaries.EtcdctlVariable"/>
    /// (<c>TALOS_RECOVERY_ETCDCTL</c>), then <c>PATH</c>.
    /// </summary>
    public string? EtcdctlPath { get; set; }

    /// <summary>
    /// The directory under which the cluster's own directory (<c>talos-recovery-etcd-XXXX</c>, holding every member's
    /// data directory and log) is created. Default: <see langword="null"/>, meaning <see cref="Path.GetTempPath"/>,
    /// which honours <c>TMPDIR</c>.
    /// </summary>
    public string? BaseDirectory { get; set; }

    /// <summary>
    /// <c>--quota-backend-bytes</c>: the backend size at which etcd raises the NOSPACE alarm.
    /// Default: <see langword="null"/>, etcd's default (2 GiB).
    /// </summary>
    public long? QuotaBackendBytes { get; set; }

    /// <summary>
    /// <c>--max-request-bytes</c>: the largest client request etcd accepts. Raise it above 1.5 MiB to store values of
    /// 1 MiB and more. Default: <see langword="null"/>, etcd's default (1.5 MiB).
    /// </summary>
    public int? MaxRequestBytes { get; set; }

    /// <summary><c>--max-txn-ops</c>: the most operations in one transaction. Default: <see langword="null"/>, etcd's default (128).</summary>
    public int? MaxTxnOps { get; set; }

    /// <summary>
    /// <c>--heartbeat-interval</c> in milliseconds. Default: 100 (etcd's default). Lower values make elections
    /// faster but can make leadership flap on a loaded machine.
    /// </summary>
    public int HeartbeatIntervalMilliseconds { get; set; } = 100;

    /// <summary><c>--election-timeout</c> in milliseconds. Default: 1000 (etcd's default).</summary>
    public int ElectionTimeoutMilliseconds { get; set; } = 1000;

    /// <summary>
    /// Enable authentication after start: create user <c>root</c> with <see cref="RootPassword"/>, role <c>root</c>,
    /// grant it, and enable auth. <see cref="EtcdCluster.Client"/> and <see cref="EtcdCluster.Etcdctl"/> then
    /// authenticate as root. Default: <see langword="false"/>.
    /// </summary>
    public bool EnableAuth { get; set; }

    /// <summary>The root password used when <see cref="EnableAuth"/> is set. Default: <c>talos-recovery-root</c>.</summary>
    public string RootPassword { get; set; } = "talos-recovery-root";

    /// <summary>
    /// A snapshot to restore into every member's data directory (with <c>etcdctl snapshot restore</c>, using the
    /// members' names and peer URLs) before the members start. Default: <see langword="null"/>, a new empty cluster.
    /// </summary>
    public string? RestoreSnapshotPath { get; set; }

    /// <summary>
    /// Pass <c>--skip-hash-check</c> to the restore of <see cref="RestoreSnapshotPath"/> (needed for raw
    /// <c>member/snap/db</c> copies, which have no SHA-256 trailer). Default: <see langword="false"/>.
    /// </summary>
    public bool RestoreSkipHashCheck { get; set; }

    /// <summary>
    /// Further command-line arguments passed to every member after the harness's own, for example
    /// <c>--auto-compaction-retention=1</c>. Default: empty.
    /// </summary>
    public IList<string> ExtraArguments { get; } = [];

    /// <summary><c>--initial-cluster-token</c>. Default: <c>talos-recovery-test</c>.</summary>
    public string ClusterToken { get; set; } = "talos-recovery-test";

    /// <summary>How long to wait for every member to become healthy. Default: 60 seconds.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How many times to choose new ports and start again when a port chosen at run time was taken by another
    /// process before etcd could bind it. Default: 5.
    /// </summary>
    public int PortAttempts
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = 5;

    /// <summary>
    /// Start members through <c>setpriv --pdeathsig KILL</c> (when available) so the kernel kills them if the host
    /// process dies without running its exit handlers. Default: <see langword="true"/>.
    /// </summary>
    public bool UseParentDeathSignal { get; set; } = true;

    /// <summary>
    /// Keep the cluster directory (data directories and logs) when the cluster is disposed, for post-mortem
    /// debugging. Default: <see langword="false"/>.
    /// </summary>
    public bool KeepDirectory { get; set; }

    /// <summary>Where the harness logs what it does (starts, stops, retries). Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;
}
