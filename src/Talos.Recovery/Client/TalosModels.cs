using Talos.Recovery.Client.Etcd;

namespace Talos.Recovery.Client;

/// <summary>The role of a Talos machine (<c>MachineTypes.config.talos.dev</c>).</summary>
public enum TalosMachineType
{
    /// <summary>The machine has no configuration yet, or reported a type this SDK does not know.</summary>
    Unknown = 0,

    /// <summary>A legacy <c>init</c> control-plane node. Its bootstrap path never restores a snapshot, so it blocks recovery.</summary>
    Init = 1,

    /// <summary>A control-plane node: runs etcd.</summary>
    ControlPlane = 2,

    /// <summary>A worker node: no etcd.</summary>
    Worker = 3,
}

/// <summary>The state of a Talos system service (the strings of <c>ServiceInfo.state</c>).</summary>
public enum TalosServiceState
{
    /// <summary>A state this SDK does not know (Talos's fallback <c>Unknown</c> included).</summary>
    Unknown = 0,

    /// <summary><c>Initialized</c>.</summary>
    Initialized,

    /// <summary><c>Preparing</c>: for etcd, the pre-start step (join loop, or the restore after a recover bootstrap).</summary>
    Preparing,

    /// <summary><c>Waiting</c>: waiting for dependencies (CRI, time sync, network, etcd spec).</summary>
    Waiting,

    /// <summary><c>Running</c>.</summary>
    Running,

    /// <summary><c>Stopping</c>.</summary>
    Stopping,

    /// <summary><c>Finished</c>.</summary>
    Finished,

    /// <summary><c>Failed</c>: the last event's message says why (e.g. a restore that failed its hash check).</summary>
    Failed,

    /// <summary><c>Skipped</c>.</summary>
    Skipped,

    /// <summary><c>Starting</c>.</summary>
    Starting,
}

/// <summary>The health of a service, as its health check last reported it.</summary>
/// <param name="Unknown">True until the first health check ran (talosctl prints <c>?</c>).</param>
/// <param name="Healthy">Whether the last check passed.</param>
/// <param name="LastMessage">The last check's message, empty when healthy.</param>
/// <param name="LastChange">When the health last changed, if known.</param>
public sealed record TalosServiceHealth(bool Unknown, bool Healthy, string LastMessage, DateTimeOffset? LastChange);

/// <summary>One event in a service's history.</summary>
/// <param name="Message">The event's message, e.g. <c>Running pre state</c>.</param>
/// <param name="State">The service state the event moved to.</param>
/// <param name="StateText">The state exactly as the node spelled it.</param>
/// <param name="Timestamp">When it happened.</param>
public sealed record TalosServiceEvent(string Message, TalosServiceState State, string StateText, DateTimeOffset? Timestamp);

/// <summary>A Talos system service on one node (<c>talosctl service ID</c>).</summary>
/// <param name="Node">The node that answered (the requested node, or the endpoint when none was named).</param>
/// <param name="Id">The service id, e.g. <c>etcd</c>.</param>
/// <param name="State">The current state.</param>
/// <param name="StateText">The state exactly as the node spelled it.</param>
/// <param name="Health">The health check's view.</param>
/// <param name="Events">The service's recent events, oldest first (Talos keeps at most 64).</param>
public sealed record TalosServiceInfo(
    string Node,
    string Id,
    TalosServiceState State,
    string StateText,
    TalosServiceHealth Health,
    IReadOnlyList<TalosServiceEvent> Events)
{
    /// <summary>The newest event, if any (for a <c>Failed</c> service, its message says why).</summary>
    public TalosServiceEvent? LastEvent => Events.Count == 0 ? null : Events[^1];
}

/// <summary>The etcd member on one node, as the node's <c>EtcdStatus</c> reports it.</summary>
/// <param name="Node">The node that answered.</param>
/// <param name="MemberId">The id of the node's etcd member.</param>
/// <param name="ProtocolVersion">The etcd server version, e.g. <c>3.6.5</c>.</param>
/// <param name="DbSize">Bytes the backend database allocates.</param>
/// <param name="DbSizeInUse">Bytes of the backend database in use.</param>
/// <param name="Leader">The member id this member believes leads; 0 when it knows none.</param>
/// <param name="RaftIndex">The raft committed index.</param>
/// <param name="RaftTerm">The raft term.</param>
/// <param name="RaftAppliedIndex">The raft applied index.</param>
/// <param name="Errors">Alarm and health messages; empty when healthy.</param>
/// <param name="IsLearner">Whether the member is a learner.</param>
/// <param name="StorageVersion">The storage version (Talos 1.11+), or empty.</param>
public sealed record TalosEtcdMemberStatus(
    string Node,
    ulong MemberId,
    string ProtocolVersion,
    long DbSize,
    long DbSizeInUse,
    ulong Leader,
    ulong RaftIndex,
    ulong RaftTerm,
    ulong RaftAppliedIndex,
    IReadOnlyList<string> Errors,
    bool IsLearner,
    string StorageVersion)
{
    /// <summary>Whether this member believes it is the leader.</summary>
    public bool IsLeader => Leader != 0 && Leader == MemberId;
}

/// <summary>The etcd member list as one node sees it (<c>talosctl etcd members</c>).</summary>
/// <param name="Node">The node that answered.</param>
/// <param name="Members">The members, in the node's order. <see cref="EtcdMember.Name"/> is the member's hostname.</param>
public sealed record TalosEtcdMemberList(string Node, IReadOnlyList<EtcdMember> Members);

/// <summary>What <c>Version</c> reports for one node.</summary>
/// <param name="Node">The node that answered.</param>
/// <param name="Tag">The Talos version tag, e.g. <c>v1.11.3</c>.</param>
/// <param name="Sha">The source commit.</param>
/// <param name="Built">The build time as the node spelled it.</param>
/// <param name="GoVersion">The Go version Talos was built with.</param>
/// <param name="Os">The OS, e.g. <c>linux</c>.</param>
/// <param name="Arch">The architecture, e.g. <c>amd64</c>.</param>
/// <param name="Platform">The platform name (e.g. <c>metal</c>), if reported.</param>
/// <param name="Rbac">Whether role-based access control is enabled.</param>
public sealed record TalosVersionInfo(string Node, string Tag, string Sha, string Built, string GoVersion, string Os, string Arch, string? Platform, bool Rbac);

/// <summary>How <see cref="TalosResetOptions"/> chooses what to wipe (Talos's <c>ResetRequest.WipeMode</c>).</summary>
public enum TalosWipeMode
{
    /// <summary>The system disk (or the listed system volumes) and any listed user disks.</summary>
    All = 0,

    /// <summary>Only the system disk (or the listed system volumes).</summary>
    SystemDisk = 1,

    /// <summary>Only the listed user disks.</summary>
    UserDisks = 2,
}

/// <summary>A reset request (<c>talosctl reset</c>). The defaults are the disaster-recovery wipe:
/// not graceful, reboot, wipe <c>EPHEMERAL</c>.</summary>
public sealed class TalosResetOptions
{
    /// <summary>Cordon, drain and leave etcd first. Default <see langword="false"/> (a member of a cluster that lost quorum cannot leave).</summary>
    public bool Graceful { get; init; }

    /// <summary>Reboot after the reset (otherwise shut down). Default <see langword="true"/>.</summary>
    public bool Reboot { get; init; } = true;

    /// <summary>System volume labels to wipe. Default <c>["EPHEMERAL"]</c>; empty means the whole system disk.</summary>
    public IReadOnlyList<string> SystemLabelsToWipe { get; init; } = ["EPHEMERAL"];

    /// <summary>User disks to wipe (device paths). Default none.</summary>
    public IReadOnlyList<string> UserDisksToWipe { get; init; } = [];

    /// <summary>The wipe mode. Default <see cref="TalosWipeMode.All"/>.</summary>
    public TalosWipeMode Mode { get; init; } = TalosWipeMode.All;
}

/// <summary>The outcome of one node in a call fanned out over several nodes.</summary>
/// <typeparam name="T">The per-node result.</typeparam>
/// <param name="Node">The node.</param>
/// <param name="Value">The result when the call succeeded.</param>
/// <param name="Error">The failure when it did not (a <see cref="TalosNodeException"/> or <see cref="TalosTlsException"/> usually).</param>
public sealed record TalosNodeResult<T>(string Node, T? Value, TalosRecoveryException? Error)
{
    /// <summary>Whether the call succeeded on this node.</summary>
    public bool Succeeded => Error is null;
}

/// <summary>One event from a node's event stream (<c>Events</c>), reduced to what recovery watches.</summary>
/// <param name="Node">The node.</param>
/// <param name="Id">The event id.</param>
/// <param name="ActorId">The actor that caused it (e.g. the id a reset returned), or empty.</param>
/// <param name="TypeUrl">The event payload's type, e.g. <c>talos/runtime/machine.SequenceEvent</c>.</param>
/// <param name="Summary">A one-line description (sequence and action, service and state, phase and action…).</param>
public sealed record TalosEvent(string Node, string Id, string ActorId, string TypeUrl, string Summary);
