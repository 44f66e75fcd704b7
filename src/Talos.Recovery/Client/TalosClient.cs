using System.Net.Http;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Talos.Recovery.Client.Transport;
using CommonMetadata = Talos.Recovery.Api.Common.Metadata;

namespace Talos.Recovery.Client;

/// <summary>
/// The Talos machine API (apid, port 50000, mutual TLS) for the calls backup and disaster recovery need.
/// A call names at most one node (sent as <c>node</c> metadata; <see langword="null"/> means the endpoint node itself);
/// use <see cref="ForEachNodeAsync{T}"/> to fan a call out over several nodes, as talosctl 1.14 does.
/// Every method is virtual so callers can fake the client in their own tests.
/// </summary>
/// <remarks>
/// <para>
/// <b>Endpoints.</b> One gRPC channel per endpoint, created on first use. A call goes to the endpoint that last worked
/// (initially the first); when an endpoint cannot be reached (connection refused, TLS handshake failed) the next one is
/// tried. A stream is never retried once it delivered data.
/// </para>
/// <para>
/// <b>Errors.</b> Every failure the node (or apid) reports is a <see cref="TalosNodeException"/> with the node, the
/// method, the gRPC status and a message saying what to fix; TLS failures are <see cref="TalosTlsException"/>s.
/// Replies carrying <c>metadata.error</c> (apid's one-to-many style) are errors too. Unary calls have the
/// <see cref="TalosClientOptions.CallTimeout"/> deadline; streams fail after <see cref="TalosClientOptions.StreamInactivityTimeout"/>
/// without data. <c>EtcdRecover</c> and <c>Bootstrap</c> are retried while the node answers <c>FailedPrecondition</c>
/// (the only retries Talos itself makes); nothing else is retried.
/// </para>
/// <para>The client is thread-safe; create one per cluster and reuse it.</para>
/// </remarks>
public partial class TalosClient : IDisposable
{
    private const string MachineService = "machine.MachineService";
    private const string StateService = "cosi.resource.State";

    private readonly TalosConnection[] _connections;
    private readonly TalosTlsTransport? _transport;
    private readonly ILogger _logger;
    private int _preferred;
    private volatile bool _disposed;

    /// <summary>For mocking frameworks only.</summary>
    protected TalosClient()
    {
        Context = null!;
        Options = new TalosClientOptions();
        _connections = [];
        _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    /// <summary>Creates a client for a talosconfig context with default options.</summary>
    public TalosClient(TalosContext context)
        : this(context, new TalosClientOptions())
    {
    }

    /// <summary>Creates a client for a talosconfig context.</summary>
    /// <exception cref="ArgumentException">The options are invalid (a non-positive timeout, no endpoint), or the context's TLS material cannot be used.</exception>
    public TalosClient(TalosContext context, TalosClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(options);
        ValidatePositive(options.ConnectTimeout, nameof(options.ConnectTimeout));
        ValidatePositive(options.CallTimeout, nameof(options.CallTimeout));
        ValidatePositive(options.StreamInactivityTimeout, nameof(options.StreamInactivityTimeout));
        if (options.FailedPreconditionRetryTimeout < TimeSpan.Zero && options.FailedPreconditionRetryTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"{nameof(TalosClientOptions.FailedPreconditionRetryTimeout)} is negative.");
        }

        Context = context;
        Options = options;
        _logger = (options.LoggerFactory ?? throw new ArgumentException($"{nameof(TalosClientOptions.LoggerFactory)} is null.", nameof(options))).CreateLogger<TalosClient>();
        IReadOnlyList<TalosEndpoint> endpoints = options.Endpoints ?? context.Endpoints;
        if (endpoints.Count == 0)
        {
            throw new ArgumentException($"No endpoint: the context \"{context.Name}\" has none and {nameof(TalosClientOptions.Endpoints)} is not set.", nameof(options));
        }

        _transport = TalosTlsTransport.Create(new TalosTlsTransportOptions
        {
            CaPem = context.CertificateAuthorityPem.IsEmpty ? null : context.CertificateAuthorityPem,
            ClientCertificatePem = context.ClientIdentity?.CertificatePem,
            ClientKeyPem = context.ClientIdentity?.PrivateKeyPem,
            InsecureSkipVerify = options.InsecureSkipVerify,
            ConnectTimeout = options.ConnectTimeout,
            LoggerFactory = options.LoggerFactory,
        });
        _connections = new TalosConnection[endpoints.Count];
        for (int i = 0; i < _connections.Length; i++)
        {
            _connections[i] = new TalosConnection(this, endpoints[i]);
        }
    }

    /// <summary>The talosconfig context in use.</summary>
    public TalosContext Context { get; }

    /// <summary>The options in use.</summary>
    public TalosClientOptions Options { get; }

    /// <summary>
    /// Creates a client for a context of <paramref name="config"/> (the current one when <paramref name="contextName"/> is
    /// <see langword="null"/>).
    /// </summary>
    /// <exception cref="TalosConfigException">The context does not exist or its credentials are invalid.</exception>
    public static TalosClient FromConfig(TalosConfig config, string? contextName = null, TalosClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new TalosClient(config.GetContext(contextName), options ?? new TalosClientOptions());
    }

    /// <summary>
    /// Creates a client from the talosconfig found the way talosctl finds it (<c>$TALOSCONFIG</c>, <c>$TALOS_HOME/config</c>
    /// or <c>~/.talos/config</c>, <c>/var/run/secrets/talos.dev/config</c>; see <see cref="TalosConfig.LoadDefault()"/>),
    /// or from <paramref name="talosconfigPath"/> when given.
    /// </summary>
    /// <exception cref="TalosConfigNotFoundException">No talosconfig file was found.</exception>
    /// <exception cref="TalosConfigException">The file or the context is invalid.</exception>
    public static TalosClient Create(TalosClientOptions? options = null, string? contextName = null, string? talosconfigPath = null)
    {
        TalosConfig config = talosconfigPath is null ? TalosConfig.LoadDefault() : TalosConfig.Load(talosconfigPath);
        return FromConfig(config, contextName, options);
    }

    /// <summary>Runs <paramref name="call"/> once per node, in parallel, and gathers each node's result or failure (never throws for a node's failure).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public virtual async Task<IReadOnlyList<TalosNodeResult<T>>> ForEachNodeAsync<T>(IEnumerable<string> nodes, Func<string, CancellationToken, Task<T>> call, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(call);
        string[] list = [.. nodes];
        foreach (string node in list)
        {
            ArgumentException.ThrowIfNullOrEmpty(node, nameof(nodes));
        }

        var tasks = new Task<TalosNodeResult<T>>[list.Length];
        for (int i = 0; i < list.Length; i++)
        {
            tasks[i] = RunOneAsync(list[i]);
        }

        TalosNodeResult<T>[] results = await Task.WhenAll(tasks).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return results;

        async Task<TalosNodeResult<T>> RunOneAsync(string node)
        {
            await Task.Yield();
            try
            {
                T value = await call(node, cancellationToken).ConfigureAwait(false);
                return new TalosNodeResult<T>(node, value, null);
            }
            catch (TalosRecoveryException ex)
            {
                return new TalosNodeResult<T>(node, default, ex);
            }
        }
    }

    /// <summary>Closes the connections.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the channels when <paramref name="disposing"/>.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing || _disposed)
        {
            return;
        }

        _disposed = true;
        foreach (TalosConnection connection in _connections)
        {
            connection.Dispose();
        }

        _transport?.Dispose();
    }

    private static void ValidatePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive (or infinite).");
        }
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_connections.Length == 0)
        {
            throw new InvalidOperationException("This TalosClient was created for mocking; override the method you call.");
        }
    }

    private static Metadata? NodeHeaders(string? node) => node is null ? null : new Metadata { { "node", node } };

    private CallOptions UnaryOptions(string? node, CancellationToken cancellationToken)
        => new(NodeHeaders(node), Options.CallTimeout == Timeout.InfiniteTimeSpan ? null : DateTime.UtcNow + Options.CallTimeout, cancellationToken);

    /// <summary>The node name for messages: the node, or the endpoint that served the call.</summary>
    private static string Describe(string? node, TalosConnection? connection)
        => node ?? (connection is null ? "the endpoint node" : connection.Endpoint.ToString());

    /// <summary>
    /// Runs a unary call with endpoint fail-over (only on connection failures, never after the node answered) and maps
    /// every error. A <paramref name="mutating"/> call without a node goes to the first endpoint only (another endpoint is another node).
    /// </summary>
    private async Task<(TResponse Response, TalosConnection Connection)> UnaryAsync<TResponse>(
        string method,
        string? node,
        Func<TalosConnection, CallOptions, AsyncUnaryCall<TResponse>> invoke,
        CancellationToken cancellationToken,
        bool mutating = false)
    {
        ThrowIfUnusable();
        (int start, int attempts) = Targets(node, mutating);
        List<Exception>? failures = null;
        for (int i = 0; i < attempts; i++)
        {
            int index = (start + i) % _connections.Length;
            TalosConnection connection = _connections[index];
            try
            {
                using AsyncUnaryCall<TResponse> call = invoke(connection, UnaryOptions(node, cancellationToken));
                TResponse response = await call.ResponseAsync.ConfigureAwait(false);
                Volatile.Write(ref _preferred, index);
                return (response, connection);
            }
            catch (RpcException ex)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!IsConnectionFailure(ex))
                {
                    throw MapException(method, node, connection, ex);
                }

                Exception failure = MapConnectionFailure(method, node, connection, ex);
                TalosClientLog.EndpointFailed(_logger, connection.Endpoint.ToString(), method, failure.Message);
                (failures ??= []).Add(failure);
            }
        }

        throw AllEndpointsFailed(failures!);
    }

    /// <summary>Whether the call failed before reaching the server (TCP connect or TLS handshake).</summary>
    internal static bool IsConnectionFailure(RpcException exception)
    {
        if (exception.StatusCode != StatusCode.Unavailable && exception.StatusCode != StatusCode.Internal)
        {
            return false;
        }

        for (Exception? inner = exception.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            if (inner is TalosTlsException or SocketException)
            {
                return true;
            }

            if (inner is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError or HttpRequestError.NameResolutionError })
            {
                return true;
            }
        }

        return false;
    }

    private static Exception AllEndpointsFailed(List<Exception> failures)
    {
        // A TLS failure says more than "connection refused" from another endpoint: report it as such.
        foreach (Exception failure in failures)
        {
            if (failure is TalosTlsException)
            {
                return failure;
            }
        }

        if (failures.Count == 1)
        {
            return failures[0];
        }

        var first = (TalosNodeException)failures[0];
        return new TalosNodeException(
            $"No Talos endpoint could be reached ({string.Join("; ", failures.Select(f => f.Message))}).",
            first.Node,
            first.Method,
            StatusCode.Unavailable,
            first.Detail,
            new AggregateException(failures));
    }

    private static Exception MapConnectionFailure(string method, string? node, TalosConnection connection, RpcException exception)
    {
        TalosTlsException? tls = TalosTlsException.Find(exception);
        if (tls is not null)
        {
            return tls;
        }

        string detail = exception.Status.DebugException?.GetBaseException().Message ?? exception.Status.Detail;
        return new TalosNodeException(
            $"{method}: cannot connect to the Talos endpoint {connection.Endpoint}: {detail}. Check that the address and port (apid listens on {TalosEndpoint.DefaultPort}) are right and the node is up.",
            node,
            method,
            StatusCode.Unavailable,
            detail,
            exception);
    }

    /// <summary>Maps an answered call's error to a <see cref="TalosNodeException"/> (or the TLS failure behind it).</summary>
    private Exception MapException(string method, string? node, TalosConnection? connection, RpcException exception)
    {
        if (IsConnectionFailure(exception) && connection is not null)
        {
            return MapConnectionFailure(method, node, connection, exception);
        }

        TalosClientLog.CallFailed(_logger, method, Describe(node, connection), exception.StatusCode, exception.Status.Detail);
        return CreateNodeException(method, node, connection, exception.StatusCode, exception.Status.Detail, exception);
    }

    /// <summary>A <see cref="TalosNodeException"/> whose message says what to fix.</summary>
    internal TalosNodeException CreateNodeException(string method, string? node, TalosConnection? connection, StatusCode code, string detail, Exception? inner)
    {
        string target = Describe(node, connection);
        string what = $"{method} on {target} failed with {code}: {detail}";
        string advice = code switch
        {
            StatusCode.PermissionDenied when detail.Contains("no request forwarding", StringComparison.Ordinal) =>
                $"the endpoint {connection?.Endpoint} is a worker and cannot forward calls to other nodes; use a control-plane endpoint (or call the worker directly as its own endpoint)",
            StatusCode.PermissionDenied when detail.Contains("write access", StringComparison.Ordinal) =>
                "the resource API is read-only",
            StatusCode.PermissionDenied => DescribeRoles(method),
            StatusCode.Unimplemented =>
                $"{target} is not a control-plane node (or its machine type is not set yet); etcd calls, snapshots, recover and bootstrap only work on control-plane nodes",
            StatusCode.FailedPrecondition when method.EndsWith("/EtcdRecover", StringComparison.Ordinal) =>
                "the node is not ready for recovery yet (EPHEMERAL not mounted); wait until etcd is in Preparing and retry",
            StatusCode.FailedPrecondition =>
                "the node is not ready yet (services still starting, time not in sync); wait and retry",
            StatusCode.AlreadyExists when method.EndsWith("/Bootstrap", StringComparison.Ordinal) =>
                "etcd's data directory is not empty: the node is already bootstrapped or holds stale etcd data; wipe it first (reset --system-labels-to-wipe EPHEMERAL) if you mean to recover",
            StatusCode.NotFound => "the node has no such resource or file",
            StatusCode.Unavailable =>
                $"{target} could not be reached through the endpoint {connection?.Endpoint} (is the node up, and is it reachable from the endpoint on port {TalosEndpoint.DefaultPort}?)",
            StatusCode.DeadlineExceeded => $"no answer in time (call timeout {Options.CallTimeout}, stream inactivity timeout {Options.StreamInactivityTimeout})",
            StatusCode.InvalidArgument => "the request was refused as invalid",
            _ => null!,
        };
        return new TalosNodeException(advice is null ? what : $"{what}. {Capitalize(advice)}.", node, method, code, detail, inner);
    }

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    private string DescribeRoles(string method)
    {
        string needed = RequiredRoles(method);
        IReadOnlyList<string>? roles = Context?.ClientIdentity?.Roles;
        string have = roles is null || roles.Count == 0 ? "no role" : string.Join(", ", roles);
        return $"the client certificate (roles: {have}) is not allowed to call it; it needs {needed}";
    }

    /// <summary>Which roles Talos requires for a method (talos-machine-api.md §5.4, Talos 1.11+).</summary>
    internal static string RequiredRoles(string method)
    {
        string name = method[(method.LastIndexOf('/') + 1)..];
        if (method.StartsWith(StateService, StringComparison.Ordinal))
        {
            return "os:reader, os:operator or os:admin (os:admin for sensitive resources such as the machine config)";
        }

        return name switch
        {
            "EtcdSnapshot" => "os:admin, os:operator or os:etcd:backup",
            "EtcdMemberList" or "EtcdStatus" or "EtcdAlarmList" => "os:admin, os:operator, os:reader or os:etcd:backup",
            "EtcdAlarmDisarm" or "EtcdDefragment" => "os:admin or os:operator",
            "ServiceList" or "Version" or "Hostname" or "Events" or "List" => "os:admin, os:operator or os:reader",
            "Reboot" or "Shutdown" => "os:admin or os:operator",
            _ => "os:admin",
        };
    }

    /// <summary>Throws when a reply message carries <c>metadata.error</c> (apid's one-to-many error envelope).</summary>
    private void CheckMetadata(string method, string? node, TalosConnection connection, CommonMetadata? metadata)
    {
        if (metadata is null || (string.IsNullOrEmpty(metadata.Error) && (metadata.Status is null || metadata.Status.Code == 0)))
        {
            return;
        }

        throw MetadataError(method, string.IsNullOrEmpty(metadata.Hostname) ? node : metadata.Hostname, connection, metadata.Status?.Code, metadata.Status?.Message, metadata.Error);
    }

    private TalosNodeException MetadataError(string method, string? node, TalosConnection connection, int? code, string? statusMessage, string? error)
    {
        StatusCode statusCode = code is > 0 and <= 16 ? (StatusCode)code.Value : StatusCode.Unknown;
        string detail = !string.IsNullOrEmpty(statusMessage) ? statusMessage : error ?? string.Empty;
        TalosClientLog.CallFailed(_logger, method, Describe(node, connection), statusCode, detail);
        return CreateNodeException(method, node, connection, statusCode, detail, null);
    }

    /// <summary>The first reply message after checking every message's metadata; an empty reply gives <see langword="null"/>.</summary>
    private T? Single<T>(string method, string? node, TalosConnection connection, IList<T> messages, Func<T, CommonMetadata?> metadata)
        where T : class
    {
        foreach (T message in messages)
        {
            CheckMetadata(method, node, connection, metadata(message));
        }

        return messages.Count == 0 ? null : messages[0];
    }

    private T Required<T>(string method, string? node, TalosConnection connection, IList<T> messages, Func<T, CommonMetadata?> metadata)
        where T : class
        => Single(method, node, connection, messages, metadata)
           ?? throw CreateNodeException(method, node, connection, StatusCode.Internal, "the reply holds no message", null);

    /// <summary>One endpoint: its channel is created on first use.</summary>
    internal sealed class TalosConnection : IDisposable
    {
        private readonly TalosClient _client;
        private readonly Lock _lock = new();
        private GrpcChannel? _channel;
        private Api.Machine.MachineService.MachineServiceClient? _machine;
        private Api.Cosi.State.StateClient? _state;
        private CallInvoker? _invoker;

        public TalosConnection(TalosClient client, TalosEndpoint endpoint)
        {
            _client = client;
            Endpoint = endpoint;
        }

        public TalosEndpoint Endpoint { get; }

        public CallInvoker Invoker
        {
            get
            {
                EnsureChannel();
                return _invoker!;
            }
        }

        public Api.Machine.MachineService.MachineServiceClient Machine
        {
            get
            {
                EnsureChannel();
                return _machine!;
            }
        }

        public Api.Cosi.State.StateClient State
        {
            get
            {
                EnsureChannel();
                return _state!;
            }
        }

        private void EnsureChannel()
        {
            if (Volatile.Read(ref _channel) is not null)
            {
                return;
            }

            lock (_lock)
            {
                if (_channel is not null)
                {
                    return;
                }

                ObjectDisposedException.ThrowIf(_client._disposed, _client);
                if (_client.Options.InsecureSkipVerify)
                {
                    TalosClientLog.InsecureConnection(_client._logger, Endpoint.ToString());
                }

                GrpcChannel channel = _client._transport!.CreateChannel(Endpoint.Host, Endpoint.Port, new GrpcChannelOptions
                {
                    MaxReceiveMessageSize = 32 * 1024 * 1024,
                    LoggerFactory = _client.Options.LoggerFactory,
                });
                _invoker = channel.CreateCallInvoker();
                _machine = new Api.Machine.MachineService.MachineServiceClient(_invoker);
                _state = new Api.Cosi.State.StateClient(_invoker);
                Volatile.Write(ref _channel, channel);
            }
        }

        public void Dispose()
        {
            lock (_lock)
            {
                _channel?.Dispose();
            }
        }
    }
}
