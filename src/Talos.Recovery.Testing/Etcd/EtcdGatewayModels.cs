using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Talos.Recovery.Testing.Etcd;

/// <summary>Options for <see cref="EtcdGatewayClient"/>.</summary>
public sealed class EtcdGatewayClientOptions
{
    /// <summary>
    /// The user to authenticate as (<c>/v3/auth/authenticate</c>) when etcd has authentication enabled.
    /// Default: <see langword="null"/>, requests carry no token.
    /// </summary>
    public string? Username { get; set; }

    /// <summary>The password of <see cref="Username"/>. Default: <see langword="null"/>.</summary>
    public string? Password { get; set; }

    /// <summary>The most concurrent HTTP connections to the endpoint. Default: 32.</summary>
    public int MaxConnections
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = 32;

    /// <summary>The timeout of one HTTP request. Default: 60 seconds.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How often a request is retried after a transient error (connection refused, etcd <c>Unavailable</c>,
    /// <c>too many requests</c>, <c>leader changed</c>, request timed out), with exponential back-off from 50 ms.
    /// A retried write can be applied twice (a second revision of the same key). Default: 5.
    /// </summary>
    public int MaxRetries
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            field = value;
        }
    } = 5;

    /// <summary>Where the client logs retries. Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;
}

/// <summary>A key-value pair as etcd returns it from a range request.</summary>
/// <param name="Key">The key bytes.</param>
/// <param name="Value">The value bytes (empty for keys-only requests).</param>
/// <param name="CreateRevision">The revision of the key's creation.</param>
/// <param name="ModRevision">The revision of the key's last modification.</param>
/// <param name="Version">The number of modifications since creation.</param>
/// <param name="Lease">The lease attached to the key, or 0.</param>
public sealed record EtcdKeyValue(ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value, long CreateRevision, long ModRevision, long Version, long Lease)
{
    /// <summary>The key decoded as UTF-8.</summary>
    public string KeyString => Encoding.UTF8.GetString(Key.Span);

    /// <summary>The value decoded as UTF-8.</summary>
    public string ValueString => Encoding.UTF8.GetString(Value.Span);
}

/// <summary>One put of a bulk load (<see cref="EtcdGatewayClient.PutManyAsync"/>).</summary>
/// <param name="Key">The key; must not be empty.</param>
/// <param name="Value">The value.</param>
/// <param name="Lease">A lease to attach, or 0.</param>
public readonly record struct EtcdPut(ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value, long Lease = 0)
{
    /// <summary>Creates a put from UTF-8 strings.</summary>
    public static EtcdPut FromStrings(string key, string value, long lease = 0)
        => new(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), lease);
}

/// <summary>A range request (<c>/v3/kv/range</c>).</summary>
public sealed class EtcdRangeRequest
{
    /// <summary>The first key (or the only key, when <see cref="RangeEnd"/> is empty).</summary>
    public ReadOnlyMemory<byte> Key { get; set; }

    /// <summary>
    /// The end of the range, exclusive. Empty: only <see cref="Key"/>. A single zero byte with an empty-or-zero
    /// key: every key. <see cref="EtcdGatewayClient.PrefixEnd"/> gives the end of a prefix. Default: empty.
    /// </summary>
    public ReadOnlyMemory<byte> RangeEnd { get; set; }

    /// <summary>The most keys returned, 0 for no limit. Default: 0.</summary>
    public long Limit { get; set; }

    /// <summary>The revision to read at, 0 for the latest. Default: 0.</summary>
    public long Revision { get; set; }

    /// <summary>Return keys without values. Default: <see langword="false"/>.</summary>
    public bool KeysOnly { get; set; }

    /// <summary>Return only the count. Default: <see langword="false"/>.</summary>
    public bool CountOnly { get; set; }
}

/// <summary>The answer to a range request.</summary>
/// <param name="Revision">The store revision the range was served at (response header).</param>
/// <param name="Kvs">The keys returned, in key order.</param>
/// <param name="More">Whether more keys matched than <see cref="EtcdRangeRequest.Limit"/> allowed.</param>
/// <param name="Count">How many keys matched in total.</param>
public sealed record EtcdRangeResponse(long Revision, IReadOnlyList<EtcdKeyValue> Kvs, bool More, long Count);

/// <summary>A granted lease.</summary>
/// <param name="Id">The lease id.</param>
/// <param name="TtlSeconds">The TTL granted, in seconds.</param>
public sealed record EtcdLease(long Id, long TtlSeconds);

/// <summary>The maintenance status of the member a client talks to (<c>/v3/maintenance/status</c>).</summary>
/// <param name="ClusterId">The cluster id.</param>
/// <param name="MemberId">The id of the member that answered.</param>
/// <param name="Revision">The current store revision.</param>
/// <param name="Version">The server version, e.g. <c>3.4.23</c>.</param>
/// <param name="DbSize">The backend size in bytes (<c>tx.Size()</c>).</param>
/// <param name="DbSizeInUse">The backend size minus free pages.</param>
/// <param name="Leader">The member id of the leader, 0 when there is none.</param>
/// <param name="RaftIndex">The raft index.</param>
/// <param name="RaftTerm">The raft term.</param>
/// <param name="Errors">Alarm and other errors the member reports.</param>
public sealed record EtcdMemberStatus(ulong ClusterId, ulong MemberId, long Revision, string Version, long DbSize, long DbSizeInUse, ulong Leader, ulong RaftIndex, ulong RaftTerm, IReadOnlyList<string> Errors);

/// <summary>A cluster member as <c>/v3/cluster/member/list</c> reports it.</summary>
/// <param name="Id">The member id.</param>
/// <param name="Name">The member name (empty until it has started).</param>
/// <param name="PeerUrls">Peer URLs.</param>
/// <param name="ClientUrls">Client URLs.</param>
/// <param name="IsLearner">Whether the member is a learner.</param>
public sealed record EtcdMember(ulong Id, string Name, IReadOnlyList<string> PeerUrls, IReadOnlyList<string> ClientUrls, bool IsLearner);

/// <summary>A key permission type (<c>authpb.Permission.Type</c>).</summary>
public enum EtcdPermissionType
{
    /// <summary>Read only.</summary>
    Read = 0,

    /// <summary>Write only.</summary>
    Write = 1,

    /// <summary>Read and write.</summary>
    ReadWrite = 2,
}

/// <summary>Options for <see cref="EtcdGatewayClient.PutManyAsync"/>.</summary>
public sealed class EtcdBulkLoadOptions
{
    /// <summary>How many requests are in flight at once. Default: 8.</summary>
    public int Concurrency
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = 8;

    /// <summary>
    /// The most puts sent in one transaction (<c>/v3/kv/txn</c>); all puts of a transaction get the same revision.
    /// 1 sends every key as its own put, one revision each. Must not exceed the server's <c>--max-txn-ops</c>
    /// (default 128). Default: 64.
    /// </summary>
    public int MaxOperationsPerTransaction
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = 64;

    /// <summary>
    /// The most key and value bytes in one transaction; a put larger than this is sent alone. Keep it below the
    /// server's <c>--max-request-bytes</c> (default 1.5 MiB). Default: 1 MiB.
    /// </summary>
    public int MaxBytesPerTransaction
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = 1 << 20;
}

/// <summary>What a bulk load did.</summary>
/// <param name="Keys">Puts applied.</param>
/// <param name="Bytes">Key and value bytes sent.</param>
/// <param name="Requests">HTTP requests made (puts and transactions).</param>
/// <param name="LastRevision">The highest revision a response reported.</param>
/// <param name="Elapsed">Wall-clock time of the load.</param>
public sealed record EtcdBulkLoadResult(long Keys, long Bytes, long Requests, long LastRevision, TimeSpan Elapsed);

/// <summary>A digest of the keys a range covers, for comparing the content of two clusters (e.g. before and after a restore).</summary>
/// <param name="Sha256">Lowercase hex SHA-256 over every key in key order (see <see cref="EtcdGatewayClient.ComputeDigestAsync"/>).</param>
/// <param name="Keys">Number of keys covered.</param>
/// <param name="Revision">The highest mod revision among the keys covered (0 when there are none).</param>
public sealed record EtcdContentDigest(string Sha256, long Keys, long Revision);
