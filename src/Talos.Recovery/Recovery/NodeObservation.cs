using Grpc.Core;
using Talos.Recovery.Client;
using Talos.Recovery.Client.Etcd;

namespace Talos.Recovery.Recovery;

/// <summary>Why one query of a node gave no answer.</summary>
public enum ObservationFailureKind
{
    /// <summary>The node could not be reached (connection refused or lost, deadline, TLS failure).</summary>
    Unreachable = 1,

    /// <summary>The client's role may not make the call (<c>PermissionDenied</c>); <see cref="ObservationFailure.RequiredRole"/> says which role would.</summary>
    PermissionDenied,

    /// <summary>The node does not offer the call (<c>Unimplemented</c>: a worker, or no machine type yet).</summary>
    NotSupported,

    /// <summary>The node answered with another error (for etcd queries usually etcd itself not answering, e.g. <c>no leader</c>).</summary>
    Failed,
}

/// <summary>One query of a node that gave no answer.</summary>
/// <param name="Call">The query.</param>
/// <param name="Kind">Why there is no answer.</param>
/// <param name="Message">The error as reported.</param>
/// <param name="RequiredRole">For <see cref="ObservationFailureKind.PermissionDenied"/>, the least privileged role that may make the call.</param>
public sealed record ObservationFailure(TalosApiCall Call, ObservationFailureKind Kind, string Message, string? RequiredRole)
{
    /// <summary>Classifies the exception a query of a node threw.</summary>
    public static ObservationFailure FromException(TalosApiCall call, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var kind = exception switch
        {
            TalosTlsException => ObservationFailureKind.Unreachable,
            TalosNodeException { StatusCode: StatusCode.Unavailable or StatusCode.DeadlineExceeded } => ObservationFailureKind.Unreachable,
            TalosNodeException { StatusCode: StatusCode.PermissionDenied } => ObservationFailureKind.PermissionDenied,
            TalosNodeException { StatusCode: StatusCode.Unimplemented } => ObservationFailureKind.NotSupported,
            TimeoutException or OperationCanceledException or HttpRequestException or IOException => ObservationFailureKind.Unreachable,
            _ => ObservationFailureKind.Failed,
        };
        var message = exception is TalosNodeException node && node.Detail.Length > 0 ? $"{node.StatusCode}: {node.Detail}" : exception.Message;
        return new ObservationFailure(call, kind, message, kind == ObservationFailureKind.PermissionDenied ? TalosRoles.LeastPrivileged(call) : null);
    }
}

/// <summary>The etcd condition of one node, derived from its etcd service and status.</summary>
public enum NodeEtcdCondition
{
    /// <summary>Not known (the node was not reachable, or the client may not read the service or status).</summary>
    Unknown = 0,

    /// <summary>etcd runs, its health check passes and it knows a leader.</summary>
    Healthy,

    /// <summary>etcd runs but fails its health check, knows no leader (no quorum) or reports errors.</summary>
    Unhealthy,

    /// <summary>etcd is in <c>Preparing</c>: the join loop (its data directory is empty, e.g. after a wipe), or a restore.</summary>
    Preparing,

    /// <summary>etcd waits for its dependencies (after a boot: CRI, time sync, network, etcd spec).</summary>
    Waiting,

    /// <summary>etcd is <c>Failed</c>; the service's last event message says why.</summary>
    Failed,

    /// <summary>etcd is stopped, stopping or finished.</summary>
    Stopped,

    /// <summary>The node has no etcd service (not a control plane).</summary>
    Absent,
}

/// <summary>
/// What one control-plane node answered when assessed: each part is <see langword="null"/> when the query failed
/// (the failure is then in <see cref="Failures"/>).
/// </summary>
/// <param name="Node">The node as addressed (the <c>node</c> metadata value).</param>
public sealed record NodeObservation(string Node)
{
    /// <summary>When the node was observed.</summary>
    public DateTimeOffset ObservedAt { get; init; }

    /// <summary><c>Version</c>, if answered.</summary>
    public TalosVersionInfo? Version { get; init; }

    /// <summary>The machine type, if answered.</summary>
    public TalosMachineType? MachineType { get; init; }

    /// <summary>The node's hostname (its etcd member name), if answered.</summary>
    public string? Hostname { get; init; }

    /// <summary>The etcd service (state, health, events), if answered; <see langword="null"/> also when the node has no etcd service (see <see cref="HasEtcdService"/>).</summary>
    public TalosServiceInfo? EtcdService { get; init; }

    /// <summary>Whether the node's service list was read and had no etcd service.</summary>
    public bool HasNoEtcdService { get; init; }

    /// <summary>The member list as the node's own etcd sees it (<c>query_local</c>), if answered. Fails while quorum is lost.</summary>
    public TalosEtcdMemberList? Members { get; init; }

    /// <summary>The node's etcd status, if answered.</summary>
    public TalosEtcdMemberStatus? EtcdStatus { get; init; }

    /// <summary>The node's <c>ETCD</c> volume (<c>VolumeStatuses.block.talos.dev/ETCD</c>), if it has one and it was read.</summary>
    public TalosVolumeStatus? EtcdVolume { get; init; }

    /// <summary>
    /// Whether the volume query answered that the node has no <c>ETCD</c> volume: <c>NotFound</c>, or a Talos older than 1.8 that
    /// does not know volume statuses. etcd's data then lives on <c>EPHEMERAL</c>.
    /// </summary>
    public bool HasNoEtcdVolume { get; init; }

    /// <summary>
    /// Whether etcd's data is on a volume of its own (an <c>ETCD</c> partition or disk), so a reset must wipe <c>ETCD</c> as well as
    /// <c>EPHEMERAL</c>: <see langword="true"/> for a partition or disk, <see langword="false"/> for none or a directory on
    /// <c>EPHEMERAL</c>, <see langword="null"/> when the volume could not be read.
    /// </summary>
    public bool? EtcdOnSeparateVolume => EtcdVolume is { } volume ? volume.IsSeparateVolume : HasNoEtcdVolume ? false : null;

    /// <summary>The queries that gave no answer.</summary>
    public IReadOnlyList<ObservationFailure> Failures { get; init; } = [];

    /// <summary>Whether the node answered anything, or failed only for reasons other than reachability.</summary>
    public bool IsReachable
        => Version is not null || MachineType is not null || Hostname is not null || EtcdService is not null || HasNoEtcdService
           || EtcdVolume is not null || HasNoEtcdVolume
           || Members is not null || EtcdStatus is not null || Failures.Any(f => f.Kind != ObservationFailureKind.Unreachable);

    /// <summary>Whether the node has an etcd service, when known.</summary>
    public bool? HasEtcdService => EtcdService is not null || EtcdStatus is not null ? true : HasNoEtcdService ? false : null;

    /// <summary>The roles that would have answered the queries the client's role was denied.</summary>
    public IReadOnlyList<string> MissingRoles => Failures.Where(f => f.RequiredRole is not null).Select(f => f.RequiredRole!).Distinct().ToList();

    /// <summary>The last etcd service event's message, if any (for a <c>Failed</c> service, why).</summary>
    public string? LastEtcdEventMessage => EtcdService?.LastEvent?.Message;

    /// <summary>The etcd condition derived from the service and the status.</summary>
    public NodeEtcdCondition EtcdCondition
    {
        get
        {
            if (EtcdService is { } service)
            {
                return service.State switch
                {
                    TalosServiceState.Preparing => NodeEtcdCondition.Preparing,
                    TalosServiceState.Waiting or TalosServiceState.Starting or TalosServiceState.Initialized => NodeEtcdCondition.Waiting,
                    TalosServiceState.Failed => NodeEtcdCondition.Failed,
                    TalosServiceState.Finished or TalosServiceState.Stopping or TalosServiceState.Skipped => NodeEtcdCondition.Stopped,
                    TalosServiceState.Running => RunningCondition(service.Health),
                    _ => NodeEtcdCondition.Unknown,
                };
            }

            if (HasNoEtcdService)
            {
                return NodeEtcdCondition.Absent;
            }

            return EtcdStatus is null ? NodeEtcdCondition.Unknown : RunningCondition(null);
        }
    }

    private NodeEtcdCondition RunningCondition(TalosServiceHealth? health)
    {
        if (health is { Unknown: false, Healthy: false })
        {
            return NodeEtcdCondition.Unhealthy;
        }

        if (EtcdStatus is { } status)
        {
            return status.Leader != 0 && status.Errors.Count == 0 ? NodeEtcdCondition.Healthy : NodeEtcdCondition.Unhealthy;
        }

        return health is { Unknown: false, Healthy: true } ? NodeEtcdCondition.Healthy : NodeEtcdCondition.Unhealthy;
    }

    /// <summary>Whether <paramref name="member"/> is this node's etcd member: by the status's member id, else the hostname, else a URL naming the node.</summary>
    public bool IsMember(EtcdMember member)
    {
        ArgumentNullException.ThrowIfNull(member);
        if (EtcdStatus is { MemberId: not 0 } status)
        {
            return status.MemberId == member.Id;
        }

        return IsNamedBy(member);
    }

    /// <summary>Whether the member could belong to this node by name or URL (used when the status's id points elsewhere, e.g. a node that started a cluster of its own).</summary>
    internal bool IsNamedBy(EtcdMember member)
    {
        if (Hostname is { Length: > 0 } hostname && string.Equals(member.Name, hostname, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var host = HostOf(Node);
        return string.Equals(member.Name, Node, StringComparison.OrdinalIgnoreCase)
               || member.PeerUrls.Concat(member.ClientUrls).Any(url => Uri.TryCreate(url, UriKind.Absolute, out var uri) && string.Equals(uri.Host.Trim('[', ']'), host, StringComparison.OrdinalIgnoreCase));
    }

    private static string HostOf(string node)
    {
        if (node.StartsWith('[') && node.IndexOf(']', StringComparison.Ordinal) is > 0 and var end)
        {
            return node[1..end];
        }

        var colon = node.LastIndexOf(':');
        return colon > 0 && node.IndexOf(':', StringComparison.Ordinal) == colon ? node[..colon] : node;
    }
}
