namespace Talos.Recovery.Client.Etcd;

/// <summary>
/// The status of the etcd member behind one endpoint, as <c>Maintenance.Status</c> reports it
/// (what <c>etcdctl endpoint status</c> prints).
/// </summary>
/// <param name="Endpoint">The endpoint that answered.</param>
/// <param name="Version">The etcd server version, e.g. <c>3.4.23</c>.</param>
/// <param name="DbSize">Bytes the backend database file physically allocates.</param>
/// <param name="DbSizeInUse">Bytes of the backend database logically in use (etcd 3.4 and later; 0 before).</param>
/// <param name="Leader">The member id this member believes is the leader; 0 when it knows no leader.</param>
/// <param name="RaftIndex">The raft committed index of this member.</param>
/// <param name="RaftTerm">The raft term of this member.</param>
/// <param name="RaftAppliedIndex">The raft applied index of this member (etcd 3.4 and later).</param>
/// <param name="Errors">Alarm and health messages the member reports, e.g. <c>memberID:… alarm:NOSPACE</c>; empty when healthy.</param>
/// <param name="IsLearner">Whether this member is a raft learner (non-voting).</param>
/// <param name="MemberId">The id of this member (response header).</param>
/// <param name="ClusterId">The id of the cluster (response header).</param>
/// <param name="Revision">The key-value store revision when the status was taken (response header).</param>
public sealed record EtcdStatus(
    Uri Endpoint,
    string Version,
    long DbSize,
    long DbSizeInUse,
    ulong Leader,
    ulong RaftIndex,
    ulong RaftTerm,
    ulong RaftAppliedIndex,
    IReadOnlyList<string> Errors,
    bool IsLearner,
    ulong MemberId,
    ulong ClusterId,
    long Revision)
{
    /// <summary>Whether this member believes it is the leader.</summary>
    public bool IsLeader => Leader != 0 && Leader == MemberId;
}

/// <summary>One member of an etcd cluster, as <c>Cluster.MemberList</c> reports it (what <c>etcdctl member list</c> prints).</summary>
/// <param name="Id">The member id.</param>
/// <param name="Name">The member name; empty for a member that was added but has not started yet.</param>
/// <param name="PeerUrls">The URLs the member uses to talk to its peers.</param>
/// <param name="ClientUrls">The URLs the member serves clients on; empty for a member that has not started yet.</param>
/// <param name="IsLearner">Whether the member is a raft learner (non-voting).</param>
public sealed record EtcdMember(ulong Id, string Name, IReadOnlyList<string> PeerUrls, IReadOnlyList<string> ClientUrls, bool IsLearner)
{
    /// <summary>Whether the member has started (it has a name). etcd lists added-but-unstarted members too.</summary>
    public bool IsStarted => Name.Length != 0;
}

/// <summary>The kind of an etcd alarm.</summary>
public enum EtcdAlarmType
{
    /// <summary>No alarm (etcd's <c>NONE</c>).</summary>
    None = 0,

    /// <summary>The backend quota is exhausted; etcd accepts only reads and deletions until the alarm is disarmed (<c>NOSPACE</c>).</summary>
    NoSpace = 1,

    /// <summary>etcd detected a corrupt key-value store on a member (<c>CORRUPT</c>).</summary>
    Corrupt = 2,
}

/// <summary>An alarm raised on an etcd member.</summary>
/// <param name="MemberId">The member the alarm concerns.</param>
/// <param name="Type">The alarm. Values this SDK does not know are passed through as their number.</param>
public sealed record EtcdAlarm(ulong MemberId, EtcdAlarmType Type);
