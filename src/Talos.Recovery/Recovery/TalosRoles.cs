namespace Talos.Recovery.Recovery;

/// <summary>The Talos machine API calls the recovery procedure makes (for the least-privilege table in <see cref="TalosRoles"/>).</summary>
public enum TalosApiCall
{
    /// <summary><c>Version</c>.</summary>
    Version = 1,

    /// <summary><c>Hostname</c>.</summary>
    Hostname,

    /// <summary>The <c>MachineTypes</c> resource.</summary>
    MachineType,

    /// <summary><c>ServiceList</c> (the etcd service's state, health and events).</summary>
    ServiceList,

    /// <summary><c>EtcdMemberList</c>.</summary>
    EtcdMemberList,

    /// <summary><c>EtcdStatus</c>.</summary>
    EtcdStatus,

    /// <summary><c>EtcdSnapshot</c>.</summary>
    EtcdSnapshot,

    /// <summary><c>Copy</c> of <c>/var/lib/etcd/member/snap/db</c> (the raw-copy fallback).</summary>
    CopyEtcdDatabase,

    /// <summary>The <c>MachineConfigs</c> resource (sensitive).</summary>
    MachineConfig,

    /// <summary><c>EtcdRemoveMemberByID</c>.</summary>
    EtcdRemoveMember,

    /// <summary><c>Reset</c>.</summary>
    Reset,

    /// <summary><c>EtcdRecover</c> (the snapshot upload).</summary>
    EtcdRecover,

    /// <summary><c>Bootstrap</c>.</summary>
    Bootstrap,

    /// <summary>The <c>VolumeStatuses</c> resource (whether etcd has a volume of its own; Talos 1.8+).</summary>
    VolumeStatus,
}

/// <summary>Talos's API roles and the least privileged one each recovery call needs (Talos 1.11+ rules).</summary>
public static class TalosRoles
{
    /// <summary><c>os:admin</c>: everything.</summary>
    public const string Admin = "os:admin";

    /// <summary><c>os:operator</c>.</summary>
    public const string Operator = "os:operator";

    /// <summary><c>os:reader</c>: read-only APIs, not sensitive resources.</summary>
    public const string Reader = "os:reader";

    /// <summary><c>os:etcd:backup</c>: the snapshot, and (1.11+) etcd member list, status and alarms.</summary>
    public const string EtcdBackup = "os:etcd:backup";

    /// <summary>
    /// The least privileged role that may make <paramref name="call"/>. etcd member list and status need
    /// <c>os:reader</c> or <c>os:etcd:backup</c> from Talos 1.11 (before: reader for the list, operator for the status).
    /// </summary>
    public static string LeastPrivileged(TalosApiCall call) => call switch
    {
        TalosApiCall.Version or TalosApiCall.Hostname or TalosApiCall.MachineType or TalosApiCall.ServiceList or TalosApiCall.VolumeStatus => Reader,
        TalosApiCall.EtcdMemberList or TalosApiCall.EtcdStatus or TalosApiCall.EtcdSnapshot => EtcdBackup,
        TalosApiCall.CopyEtcdDatabase or TalosApiCall.MachineConfig or TalosApiCall.EtcdRemoveMember
            or TalosApiCall.Reset or TalosApiCall.EtcdRecover or TalosApiCall.Bootstrap => Admin,
        _ => throw new ArgumentOutOfRangeException(nameof(call), call, "unknown call"),
    };
}
