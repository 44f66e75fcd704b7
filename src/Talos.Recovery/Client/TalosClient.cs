using Talos.Recovery.Client.Etcd;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Client;

/// <summary>
/// The Talos machine API (apid, port 50000, mutual TLS) for the calls backup and disaster recovery need.
/// A call names at most one node (sent as <c>node</c> metadata; <see langword="null"/> means the endpoint node itself);
/// use <see cref="ForEachNodeAsync{T}"/> to fan a call out over several nodes, as talosctl 1.14 does.
/// Every method is virtual so callers can fake the client in their own tests.
/// </summary>
/// <remarks>CONTRACT SKELETON: signatures agreed for parallel work; implementations land with the client.</remarks>
public class TalosClient : IDisposable
{
    /// <summary>For mocking frameworks only.</summary>
    protected TalosClient()
    {
        Context = null!;
        Options = new TalosClientOptions();
    }

    /// <summary>Creates a client for a talosconfig context with default options.</summary>
    public TalosClient(TalosContext context)
        : this(context, new TalosClientOptions())
    {
    }

    /// <summary>Creates a client for a talosconfig context.</summary>
    public TalosClient(TalosContext context, TalosClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(options);
        Context = context;
        Options = options;
    }

    /// <summary>The talosconfig context in use.</summary>
    public TalosContext Context { get; }

    /// <summary>The options in use.</summary>
    public TalosClientOptions Options { get; }

    /// <summary><c>Version</c>.</summary>
    public virtual Task<TalosVersionInfo> VersionAsync(string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>Hostname</c>.</summary>
    public virtual Task<string> HostnameAsync(string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>EtcdSnapshot</c> from one node into <paramref name="destinationPath"/> through the <see cref="SnapshotWriter"/>:
    /// written as <c>.part</c> (0600), verified (trailer required), renamed atomically.</summary>
    public virtual Task<SnapshotInfo> EtcdSnapshotAsync(string destinationPath, string? node = null, SnapshotWriterOptions? options = null, IProgress<SnapshotProgress>? progress = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary>Copies a node's live etcd database file (<c>/var/lib/etcd/member/snap/db</c>, via <c>Copy</c>'s gzip tar)
    /// into <paramref name="destinationPath"/> as a raw, trailer-less snapshot (0600, atomic, structurally checked).</summary>
    public virtual Task<SnapshotInfo> CopyEtcdDatabaseAsync(string destinationPath, string? node = null, SnapshotWriterOptions? options = null, IProgress<SnapshotProgress>? progress = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>Copy</c>: extracts the node's <paramref name="remotePath"/> (file or directory) into <paramref name="localDirectory"/> like <c>talosctl cp</c>.</summary>
    public virtual Task CopyAsync(string remotePath, string localDirectory, string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>Read</c>: the raw bytes of one regular file on the node into <paramref name="destination"/>.</summary>
    public virtual Task<long> ReadAsync(string remotePath, Stream destination, string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary>The machine configuration (<c>MachineConfigs.config.talos.dev/v1alpha1</c>) as YAML text. Needs <c>os:admin</c>.</summary>
    public virtual Task<string> GetMachineConfigAsync(string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary>The machine type (<c>MachineTypes.config.talos.dev/machine-type</c>).</summary>
    public virtual Task<TalosMachineType> GetMachineTypeAsync(string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>EtcdMemberList</c>; <paramref name="queryLocal"/> asks only the node's own etcd member.</summary>
    public virtual Task<TalosEtcdMemberList> EtcdMembersAsync(string? node = null, bool queryLocal = true, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>EtcdStatus</c>.</summary>
    public virtual Task<TalosEtcdMemberStatus> EtcdStatusAsync(string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>EtcdAlarmList</c>.</summary>
    public virtual Task<IReadOnlyList<EtcdAlarm>> EtcdAlarmsAsync(string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>EtcdRemoveMemberByID</c>.</summary>
    public virtual Task EtcdRemoveMemberAsync(ulong memberId, string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>EtcdLeaveCluster</c>.</summary>
    public virtual Task EtcdLeaveClusterAsync(string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>EtcdForfeitLeadership</c>; returns the member that received leadership, or empty.</summary>
    public virtual Task<string> EtcdForfeitLeadershipAsync(string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>ServiceList</c>.</summary>
    public virtual Task<IReadOnlyList<TalosServiceInfo>> ServicesAsync(string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary>One service (<c>ServiceList</c> filtered by id, as talosctl does); <see langword="null"/> when the node has no such service.</summary>
    public virtual Task<TalosServiceInfo?> ServiceAsync(string id, string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>Reset</c>; returns the actor id. The node resets asynchronously: watch it with <see cref="ServiceAsync"/> or <see cref="EventsAsync"/>.</summary>
    public virtual Task<string> ResetAsync(TalosResetOptions? options = null, string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>Reboot</c>; returns the actor id.</summary>
    public virtual Task<string> RebootAsync(string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>EtcdRecover</c>: uploads a snapshot through the <see cref="SnapshotReader"/> (verified before the first byte unless
    /// <see cref="SnapshotReaderOptions.VerifyBeforeSending"/> is off). Retried on <c>FailedPrecondition</c> only.</summary>
    public virtual Task EtcdRecoverAsync(string snapshotPath, string? node = null, SnapshotReaderOptions? options = null, IProgress<SnapshotProgress>? progress = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>Bootstrap</c>. Returns as soon as the node accepted; a restore runs afterwards and a failure shows only as a
    /// <c>Failed</c> etcd service. Retried on <c>FailedPrecondition</c> only.</summary>
    public virtual Task BootstrapAsync(bool recoverEtcd = false, bool recoverSkipHashCheck = false, string? node = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary><c>Events</c>: the node's event stream (with up to <paramref name="tailEvents"/> past events first), optionally only one actor's.</summary>
    public virtual IAsyncEnumerable<TalosEvent> EventsAsync(string? node = null, int tailEvents = 0, string? actorId = null, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary>Runs <paramref name="call"/> once per node, in parallel, and gathers each node's result or failure (never throws for a node's failure).</summary>
    public virtual Task<IReadOnlyList<TalosNodeResult<T>>> ForEachNodeAsync<T>(IEnumerable<string> nodes, Func<string, CancellationToken, Task<T>> call, CancellationToken cancellationToken = default) => throw Pending();

    /// <summary>Closes the connections.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the channel when <paramref name="disposing"/>.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    private static NotImplementedException Pending() => new("TalosClient: not implemented yet");
}
