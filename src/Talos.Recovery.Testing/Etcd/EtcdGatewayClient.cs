using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Talos.Recovery.Testing.Etcd;

/// <summary>
/// A small client for etcd's v3 JSON gateway (grpc-gateway on the client port: <c>POST /v3/kv/put</c> and friends,
/// keys and values base64-encoded). It exists to put test data into a real etcd and read it back without a gRPC
/// stack; it is not a production etcd client. Thread-safe. Methods are virtual so tests can fake them.
/// </summary>
/// <remarks>
/// With authentication enabled on the server, set <see cref="EtcdGatewayClientOptions.Username"/> and
/// <see cref="EtcdGatewayClientOptions.Password"/>: the client then fetches a token from
/// <c>/v3/auth/authenticate</c>, sends it in the <c>Authorization</c> header, and fetches a new one when etcd
/// answers <c>invalid auth token</c> (simple tokens expire after <c>--auth-token-ttl</c>, 300 s by default).
/// </remarks>
public class EtcdGatewayClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly EtcdGatewayClientOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _authLock = new(1, 1);
    private volatile string? _token;
    private bool _disposed;

    /// <summary>Creates a client for <paramref name="endpoint"/> (e.g. <c>http://127.0.0.1:2379</c>) with default options.</summary>
    public EtcdGatewayClient(Uri endpoint)
        : this(endpoint, new EtcdGatewayClientOptions())
    {
    }

    /// <summary>Creates a client for <paramref name="endpoint"/> with <paramref name="options"/>.</summary>
    public EtcdGatewayClient(Uri endpoint, EtcdGatewayClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(options);
        Endpoint = endpoint;
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<EtcdGatewayClient>();
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = options.MaxConnections,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        _http = new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = endpoint,
            Timeout = options.RequestTimeout,
        };
    }

    /// <summary>The endpoint this client talks to.</summary>
    public Uri Endpoint { get; }

    /// <summary>
    /// The exclusive end of the range of keys that start with <paramref name="prefix"/> (etcd's <c>GetPrefixRangeEnd</c>):
    /// the prefix with its last byte below 0xFF incremented and the rest cut. An empty or all-0xFF prefix gives a
    /// single zero byte, meaning "to the end of the key space".
    /// </summary>
    public static byte[] PrefixEnd(ReadOnlySpan<byte> prefix)
    {
        for (var i = prefix.Length - 1; i >= 0; i--)
        {
            if (prefix[i] < 0xFF)
            {
                var end = prefix[..(i + 1)].ToArray();
                end[i]++;
                return end;
            }
        }

        return [0];
    }

    /// <summary>The maintenance status of the member this client talks to.</summary>
    public virtual async Task<EtcdMemberStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        using var doc = await PostAsync("/v3/maintenance/status", static _ => { }, cancellationToken).ConfigureAwait(false);
        var root = doc.RootElement;
        var header = root.GetProperty("header");
        var errors = new List<string>();
        if (root.TryGetProperty("errors", out var errorArray))
        {
            errors.AddRange(errorArray.EnumerateArray().Select(e => e.GetString() ?? string.Empty));
        }

        return new EtcdMemberStatus(
            ReadUInt64(header, "cluster_id"),
            ReadUInt64(header, "member_id"),
            ReadInt64(header, "revision"),
            root.TryGetProperty("version", out var version) ? version.GetString() ?? string.Empty : string.Empty,
            ReadInt64(root, "dbSize"),
            ReadInt64(root, "dbSizeInUse"),
            ReadUInt64(root, "leader"),
            ReadUInt64(root, "raftIndex"),
            ReadUInt64(root, "raftTerm"),
            errors);
    }

    /// <summary>The cluster's members.</summary>
    public virtual async Task<IReadOnlyList<EtcdMember>> GetMembersAsync(CancellationToken cancellationToken = default)
    {
        using var doc = await PostAsync("/v3/cluster/member/list", static _ => { }, cancellationToken).ConfigureAwait(false);
        var members = new List<EtcdMember>();
        if (doc.RootElement.TryGetProperty("members", out var array))
        {
            foreach (var m in array.EnumerateArray())
            {
                members.Add(new EtcdMember(
                    ReadUInt64(m, "ID"),
                    m.TryGetProperty("name", out var name) ? name.GetString() ?? string.Empty : string.Empty,
                    ReadStrings(m, "peerURLs"),
                    ReadStrings(m, "clientURLs"),
                    m.TryGetProperty("isLearner", out var learner) && learner.GetBoolean()));
            }
        }

        return members;
    }

    /// <summary>Puts a key (UTF-8). Returns the revision of the put.</summary>
    public virtual Task<long> PutAsync(string key, string value, long lease = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        return PutAsync(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), lease, cancellationToken);
    }

    /// <summary>Puts a key, optionally attached to a lease. Returns the revision of the put.</summary>
    public virtual async Task<long> PutAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long lease = 0, CancellationToken cancellationToken = default)
    {
        RequireKey(key);
        using var doc = await PostAsync("/v3/kv/put", w => WritePut(w, key, value, lease), cancellationToken).ConfigureAwait(false);
        return ReadHeaderRevision(doc.RootElement);
    }

    /// <summary>Reads one key (UTF-8); <see langword="null"/> when it does not exist.</summary>
    public virtual Task<EtcdKeyValue?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return GetAsync(Encoding.UTF8.GetBytes(key), cancellationToken);
    }

    /// <summary>Reads one key; <see langword="null"/> when it does not exist.</summary>
    public virtual async Task<EtcdKeyValue?> GetAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default)
    {
        RequireKey(key);
        var response = await RangeAsync(new EtcdRangeRequest { Key = key }, cancellationToken).ConfigureAwait(false);
        return response.Kvs.Count == 0 ? null : response.Kvs[0];
    }

    /// <summary>Runs a range request.</summary>
    public virtual async Task<EtcdRangeResponse> RangeAsync(EtcdRangeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var doc = await PostAsync(
            "/v3/kv/range",
            w =>
            {
                w.WriteBase64String("key"u8, request.Key.Span);
                if (!request.RangeEnd.IsEmpty)
                {
                    w.WriteBase64String("range_end"u8, request.RangeEnd.Span);
                }

                if (request.Limit != 0)
                {
                    w.WriteNumber("limit"u8, request.Limit);
                }

                if (request.Revision != 0)
                {
                    w.WriteNumber("revision"u8, request.Revision);
                }

                if (request.KeysOnly)
                {
                    w.WriteBoolean("keys_only"u8, true);
                }

                if (request.CountOnly)
                {
                    w.WriteBoolean("count_only"u8, true);
                }
            },
            cancellationToken).ConfigureAwait(false);
        var root = doc.RootElement;
        var kvs = new List<EtcdKeyValue>();
        if (root.TryGetProperty("kvs", out var array))
        {
            foreach (var kv in array.EnumerateArray())
            {
                kvs.Add(new EtcdKeyValue(
                    ReadBytes(kv, "key"),
                    ReadBytes(kv, "value"),
                    ReadInt64(kv, "create_revision"),
                    ReadInt64(kv, "mod_revision"),
                    ReadInt64(kv, "version"),
                    ReadInt64(kv, "lease")));
            }
        }

        var more = root.TryGetProperty("more", out var moreElement) && moreElement.GetBoolean();
        return new EtcdRangeResponse(ReadHeaderRevision(root), kvs, more, ReadInt64(root, "count"));
    }

    /// <summary>
    /// Reads every key that starts with <paramref name="prefix"/> (every key when it is empty), in key order, page by
    /// page, all at the revision of the first page so the result is one consistent view.
    /// </summary>
    public virtual async IAsyncEnumerable<EtcdKeyValue> ReadAllAsync(ReadOnlyMemory<byte> prefix = default, int pageSize = 1000, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        ReadOnlyMemory<byte> end = prefix.IsEmpty ? new byte[] { 0 } : PrefixEnd(prefix.Span);
        ReadOnlyMemory<byte> next = prefix.IsEmpty ? new byte[] { 0 } : prefix;
        long revision = 0;
        while (true)
        {
            var page = await RangeAsync(new EtcdRangeRequest { Key = next, RangeEnd = end, Limit = pageSize, Revision = revision }, cancellationToken).ConfigureAwait(false);
            if (revision == 0)
            {
                revision = page.Revision;
            }

            foreach (var kv in page.Kvs)
            {
                yield return kv;
            }

            if (!page.More || page.Kvs.Count == 0)
            {
                yield break;
            }

            // The smallest key after the last one returned: the last key with a zero byte appended.
            var last = page.Kvs[^1].Key;
            var after = new byte[last.Length + 1];
            last.CopyTo(after);
            next = after;
        }
    }

    /// <summary>
    /// A SHA-256 over every key starting with <paramref name="prefix"/> (every key when empty), read at one revision in
    /// key order: for each key, its length (u32 big-endian), the key, the value's length and the value; with
    /// <paramref name="includeRevisions"/> also create revision, mod revision, version and lease (i64 big-endian).
    /// Two clusters with the same content give the same digest; a snapshot restore keeps revisions, so it keeps
    /// the digest with revisions too.
    /// </summary>
    public virtual async Task<EtcdContentDigest> ComputeDigestAsync(ReadOnlyMemory<byte> prefix = default, bool includeRevisions = false, CancellationToken cancellationToken = default)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var number = new byte[8];
        long keys = 0;
        long revision = 0;
        await foreach (var kv in ReadAllAsync(prefix, 1000, cancellationToken).ConfigureAwait(false))
        {
            BinaryPrimitives.WriteUInt32BigEndian(number, (uint)kv.Key.Length);
            hash.AppendData(number, 0, 4);
            hash.AppendData(kv.Key.Span);
            BinaryPrimitives.WriteUInt32BigEndian(number, (uint)kv.Value.Length);
            hash.AppendData(number, 0, 4);
            hash.AppendData(kv.Value.Span);
            if (includeRevisions)
            {
                foreach (var n in new[] { kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease })
                {
                    BinaryPrimitives.WriteInt64BigEndian(number, n);
                    hash.AppendData(number);
                }
            }

            keys++;
            revision = Math.Max(revision, kv.ModRevision);
        }

        return new EtcdContentDigest(Convert.ToHexStringLower(hash.GetHashAndReset()), keys, revision);
    }

    /// <summary>Deletes one key (UTF-8). Returns the number of keys deleted (0 or 1).</summary>
    public virtual Task<long> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return DeleteRangeAsync(Encoding.UTF8.GetBytes(key), ReadOnlyMemory<byte>.Empty, cancellationToken);
    }

    /// <summary>Deletes every key starting with <paramref name="prefix"/> (UTF-8). Returns the number deleted.</summary>
    public virtual Task<long> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        var bytes = Encoding.UTF8.GetBytes(prefix);
        return DeleteRangeAsync(bytes, PrefixEnd(bytes), cancellationToken);
    }

    /// <summary>
    /// Deletes the keys in [<paramref name="key"/>, <paramref name="rangeEnd"/>), or only <paramref name="key"/> when
    /// <paramref name="rangeEnd"/> is empty. Returns the number of keys deleted.
    /// </summary>
    public virtual async Task<long> DeleteRangeAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> rangeEnd, CancellationToken cancellationToken = default)
    {
        RequireKey(key);
        using var doc = await PostAsync(
            "/v3/kv/deleterange",
            w =>
            {
                w.WriteBase64String("key"u8, key.Span);
                if (!rangeEnd.IsEmpty)
                {
                    w.WriteBase64String("range_end"u8, rangeEnd.Span);
                }
            },
            cancellationToken).ConfigureAwait(false);
        return ReadInt64(doc.RootElement, "deleted");
    }

    /// <summary>
    /// Compacts the key history up to <paramref name="revision"/>. With <paramref name="physical"/> (default) the
    /// call returns once the compaction has been applied to the backend. Returns the header revision.
    /// </summary>
    public virtual async Task<long> CompactAsync(long revision, bool physical = true, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(revision, 1);
        using var doc = await PostAsync(
            "/v3/kv/compaction",
            w =>
            {
                w.WriteNumber("revision"u8, revision);
                if (physical)
                {
                    w.WriteBoolean("physical"u8, true);
                }
            },
            cancellationToken).ConfigureAwait(false);
        return ReadHeaderRevision(doc.RootElement);
    }

    /// <summary>Grants a lease of <paramref name="ttlSeconds"/>, with a chosen id or (0) one etcd picks.</summary>
    public virtual async Task<EtcdLease> GrantLeaseAsync(long ttlSeconds, long leaseId = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ttlSeconds, 1);
        using var doc = await PostAsync(
            "/v3/lease/grant",
            w =>
            {
                w.WriteNumber("TTL"u8, ttlSeconds);
                if (leaseId != 0)
                {
                    w.WriteNumber("ID"u8, leaseId);
                }
            },
            cancellationToken).ConfigureAwait(false);
        return new EtcdLease(ReadInt64(doc.RootElement, "ID"), ReadInt64(doc.RootElement, "TTL"));
    }

    /// <summary>Revokes a lease; the keys attached to it are deleted.</summary>
    public virtual async Task RevokeLeaseAsync(long leaseId, CancellationToken cancellationToken = default)
    {
        using var doc = await PostAsync("/v3/lease/revoke", w => w.WriteNumber("ID"u8, leaseId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Loads many keys fast: puts are grouped into transactions (<see cref="EtcdBulkLoadOptions.MaxOperationsPerTransaction"/>
    /// puts or <see cref="EtcdBulkLoadOptions.MaxBytesPerTransaction"/> bytes each; a key repeated within a group starts a
    /// new one, since etcd refuses duplicate keys in a transaction) and sent by
    /// <see cref="EtcdBulkLoadOptions.Concurrency"/> workers. <paramref name="items"/> is enumerated lazily, once.
    /// <paramref name="progress"/> receives the number of keys applied so far after each request.
    /// </summary>
    public virtual async Task<EtcdBulkLoadResult> PutManyAsync(IEnumerable<EtcdPut> items, EtcdBulkLoadOptions? options = null, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        options ??= new EtcdBulkLoadOptions();
        var stopwatch = Stopwatch.StartNew();
        long keys = 0;
        long bytes = 0;
        long requests = 0;
        long lastRevision = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Batch(items, options), parallel, async (batch, token) =>
        {
            long revision;
            if (batch.Count == 1)
            {
                revision = await PutAsync(batch[0].Key, batch[0].Value, batch[0].Lease, token).ConfigureAwait(false);
            }
            else
            {
                revision = await PutTransactionAsync(batch, token).ConfigureAwait(false);
            }

            long batchBytes = 0;
            foreach (var put in batch)
            {
                batchBytes += put.Key.Length + put.Value.Length;
            }

            Interlocked.Add(ref bytes, batchBytes);
            Interlocked.Increment(ref requests);
            var done = Interlocked.Add(ref keys, batch.Count);
            InterlockedMax(ref lastRevision, revision);
            progress?.Report(done);
        }).ConfigureAwait(false);
        return new EtcdBulkLoadResult(keys, bytes, requests, lastRevision, stopwatch.Elapsed);
    }

    /// <summary>Authenticates as <paramref name="username"/> and uses the token for every later request.</summary>
    public virtual async Task AuthenticateAsync(string username, string password, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(username);
        ArgumentNullException.ThrowIfNull(password);
        using var doc = await SendOnceAsync(
            "/v3/auth/authenticate",
            w =>
            {
                w.WriteString("name"u8, username);
                w.WriteString("password"u8, password);
            },
            token: null,
            cancellationToken).ConfigureAwait(false);
        _token = doc.RootElement.GetProperty("token").GetString();
    }

    /// <summary>Adds a user.</summary>
    public virtual Task AddUserAsync(string name, string password, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(password);
        return PostAndDisposeAsync("/v3/auth/user/add", w =>
        {
            w.WriteString("name"u8, name);
            w.WriteString("password"u8, password);
        }, cancellationToken);
    }

    /// <summary>Adds a role.</summary>
    public virtual Task AddRoleAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return PostAndDisposeAsync("/v3/auth/role/add", w => w.WriteString("name"u8, name), cancellationToken);
    }

    /// <summary>Grants a role to a user.</summary>
    public virtual Task GrantRoleAsync(string user, string role, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        ArgumentException.ThrowIfNullOrEmpty(role);
        return PostAndDisposeAsync("/v3/auth/user/grant", w =>
        {
            w.WriteString("user"u8, user);
            w.WriteString("role"u8, role);
        }, cancellationToken);
    }

    /// <summary>
    /// Grants <paramref name="role"/> a permission on the keys in [<paramref name="key"/>, <paramref name="rangeEnd"/>)
    /// (only <paramref name="key"/> when <paramref name="rangeEnd"/> is empty).
    /// </summary>
    public virtual Task GrantPermissionAsync(string role, EtcdPermissionType permission, ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> rangeEnd, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(role);
        RequireKey(key);
        return PostAndDisposeAsync("/v3/auth/role/grant", w =>
        {
            w.WriteString("name"u8, role);
            w.WriteStartObject("perm"u8);
            w.WriteNumber("permType"u8, (int)permission);
            w.WriteBase64String("key"u8, key.Span);
            if (!rangeEnd.IsEmpty)
            {
                w.WriteBase64String("range_end"u8, rangeEnd.Span);
            }

            w.WriteEndObject();
        }, cancellationToken);
    }

    /// <summary>
    /// Enables authentication. etcd requires a user <c>root</c> with the role <c>root</c> to exist first. When the
    /// client has credentials it authenticates right away.
    /// </summary>
    public virtual async Task EnableAuthAsync(CancellationToken cancellationToken = default)
    {
        await PostAndDisposeAsync("/v3/auth/enable", static _ => { }, cancellationToken).ConfigureAwait(false);
        if (_options.Username is { Length: > 0 } user)
        {
            await AuthenticateAsync(user, _options.Password ?? string.Empty, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the HTTP client.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (_disposed)
        {
            return;
        }

        if (disposing)
        {
            _http.Dispose();
            _authLock.Dispose();
        }

        _disposed = true;
    }

    private static IEnumerable<List<EtcdPut>> Batch(IEnumerable<EtcdPut> items, EtcdBulkLoadOptions options)
    {
        var batch = new List<EtcdPut>(options.MaxOperationsPerTransaction);
        var keysInBatch = new HashSet<ReadOnlyMemory<byte>>(ByteMemoryComparer.Instance);
        long batchBytes = 0;
        foreach (var item in items)
        {
            RequireKey(item.Key);
            var size = item.Key.Length + item.Value.Length;
            if (batch.Count > 0 && (batch.Count >= options.MaxOperationsPerTransaction || batchBytes + size > options.MaxBytesPerTransaction || keysInBatch.Contains(item.Key)))
            {
                yield return batch;
                batch = new List<EtcdPut>(options.MaxOperationsPerTransaction);
                keysInBatch.Clear();
                batchBytes = 0;
            }

            batch.Add(item);
            keysInBatch.Add(item.Key);
            batchBytes += size;
        }

        if (batch.Count > 0)
        {
            yield return batch;
        }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private static void RequireKey(ReadOnlyMemory<byte> key)
    {
        if (key.IsEmpty)
        {
            throw new ArgumentException("etcd keys must not be empty.", nameof(key));
        }
    }

    private static void WritePut(Utf8JsonWriter w, ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long lease)
    {
        w.WriteBase64String("key"u8, key.Span);
        w.WriteBase64String("value"u8, value.Span);
        if (lease != 0)
        {
            w.WriteNumber("lease"u8, lease);
        }
    }

    private static long ReadHeaderRevision(JsonElement root)
        => root.TryGetProperty("header", out var header) ? ReadInt64(header, "revision") : 0;

    // grpc-gateway renders 64-bit integers as JSON strings and omits zero values.
    private static long ReadInt64(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return 0;
        }

        return value.ValueKind == JsonValueKind.String
            ? long.Parse(value.GetString()!, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)
            : value.GetInt64();
    }

    private static ulong ReadUInt64(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return 0;
        }

        return value.ValueKind == JsonValueKind.String
            ? ulong.Parse(value.GetString()!, NumberStyles.None, CultureInfo.InvariantCulture)
            : value.GetUInt64();
    }

    private static ReadOnlyMemory<byte> ReadBytes(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) ? value.GetBytesFromBase64() : ReadOnlyMemory<byte>.Empty;

    private static List<string> ReadStrings(JsonElement element, string name)
        => element.TryGetProperty(name, out var array) ? array.EnumerateArray().Select(e => e.GetString() ?? string.Empty).ToList() : [];

    private static bool IsTransient(EtcdGatewayException ex)
    {
        if (ex.HttpStatusCode is 0 or 502 or 503 or 504 || ex.GrpcStatusCode is 14 or 4)
        {
            return true;
        }

        var text = ex.EtcdError ?? string.Empty;
        return text.Contains("too many requests", StringComparison.Ordinal)
            || text.Contains("leader changed", StringComparison.Ordinal)
            || text.Contains("no leader", StringComparison.Ordinal)
            || text.Contains("request timed out", StringComparison.Ordinal);
    }

    private static bool IsInvalidToken(EtcdGatewayException ex)
        => ex.GrpcStatusCode == 16 || (ex.EtcdError?.Contains("invalid auth token", StringComparison.Ordinal) ?? false)
            || (ex.EtcdError?.Contains("user name is empty", StringComparison.Ordinal) ?? false);

    private async Task<long> PutTransactionAsync(List<EtcdPut> batch, CancellationToken cancellationToken)
    {
        using var doc = await PostAsync(
            "/v3/kv/txn",
            w =>
            {
                w.WriteStartArray("success"u8);
                foreach (var put in batch)
                {
                    w.WriteStartObject();
                    w.WriteStartObject("request_put"u8);
                    WritePut(w, put.Key, put.Value, put.Lease);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            },
            cancellationToken).ConfigureAwait(false);
        return ReadHeaderRevision(doc.RootElement);
    }

    private async Task PostAndDisposeAsync(string path, Action<Utf8JsonWriter> writeBody, CancellationToken cancellationToken)
    {
        using var doc = await PostAsync(path, writeBody, cancellationToken).ConfigureAwait(false);
    }

    private async Task<JsonDocument> PostAsync(string path, Action<Utf8JsonWriter> writeBody, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var body = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writeBody(writer);
            writer.WriteEndObject();
        }

        var reauthenticated = false;
        for (var attempt = 0; ; attempt++)
        {
            if (_token is null && _options.Username is { Length: > 0 })
            {
                await EnsureTokenAsync(staleToken: null, cancellationToken).ConfigureAwait(false);
            }

            var token = _token;
            try
            {
                return await SendAsync(path, body.WrittenMemory, token, cancellationToken).ConfigureAwait(false);
            }
            catch (EtcdGatewayException ex) when (!reauthenticated && _options.Username is { Length: > 0 } && IsInvalidToken(ex))
            {
                reauthenticated = true;
                await EnsureTokenAsync(token, cancellationToken).ConfigureAwait(false);
            }
            catch (EtcdGatewayException ex) when (attempt < _options.MaxRetries && IsTransient(ex))
            {
                Log.GatewayRetry(_logger, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(50 << Math.Min(attempt, 6)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task EnsureTokenAsync(string? staleToken, CancellationToken cancellationToken)
    {
        await _authLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is null || ReferenceEquals(_token, staleToken))
            {
                await AuthenticateAsync(_options.Username!, _options.Password ?? string.Empty, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _authLock.Release();
        }
    }

    private async Task<JsonDocument> SendOnceAsync(string path, Action<Utf8JsonWriter> writeBody, string? token, CancellationToken cancellationToken)
    {
        var body = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writeBody(writer);
            writer.WriteEndObject();
        }

        return await SendAsync(path, body.WrittenMemory, token, cancellationToken).ConfigureAwait(false);
    }

    private async Task<JsonDocument> SendAsync(string path, ReadOnlyMemory<byte> body, string? token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ReadOnlyMemoryContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", token);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new EtcdGatewayException($"POST {Endpoint}{path.TrimStart('/')} failed: {ex.Message}", 0, null, null, ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new EtcdGatewayException($"POST {Endpoint}{path.TrimStart('/')} timed out after {_http.Timeout}.", 0, 4, "request timed out", ex);
        }

        using (response)
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                JsonDocument document;
                try
                {
                    document = await JsonDocument.ParseAsync(stream, default, cancellationToken).ConfigureAwait(false);
                }
                catch (JsonException ex)
                {
                    throw new EtcdGatewayException($"POST {Endpoint}{path.TrimStart('/')} answered HTTP {(int)response.StatusCode} with a body that is not JSON.", (int)response.StatusCode, null, null, ex);
                }

                if (response.IsSuccessStatusCode && !document.RootElement.TryGetProperty("error", out _))
                {
                    return document;
                }

                using (document)
                {
                    var root = document.RootElement;
                    var error = root.TryGetProperty("error", out var e) ? e.GetString() : null;
                    int? code = root.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt32() : null;
                    throw new EtcdGatewayException(
                        $"POST {Endpoint}{path.TrimStart('/')} failed: HTTP {(int)response.StatusCode}, {error ?? "no error text"}" + (code is null ? string.Empty : $" (gRPC code {code})"),
                        (int)response.StatusCode,
                        code,
                        error);
                }
            }
        }
    }

    private sealed class ByteMemoryComparer : IEqualityComparer<ReadOnlyMemory<byte>>
    {
        internal static readonly ByteMemoryComparer Instance = new();

        public bool Equals(ReadOnlyMemory<byte> x, ReadOnlyMemory<byte> y) => x.Span.SequenceEqual(y.Span);

        public int GetHashCode(ReadOnlyMemory<byte> obj)
        {
            var hash = new HashCode();
            hash.AddBytes(obj.Span);
            return hash.ToHashCode();
        }
    }
}
