using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Talos.Recovery.Api.Etcd;

namespace Talos.Recovery.Client.Etcd;

/// <summary>
/// A direct client for etcd's v3 gRPC API (the calls a backup and a recovery need): the snapshot stream, member
/// status, member list and alarms. Works with etcd 3.4 to 3.6 over plain HTTP/2 or TLS (optionally with a client
/// certificate) and with etcd's user/password authentication.
/// </summary>
/// <remarks>
/// <para>
/// <b>Endpoints and fail-over.</b> Calls go to the endpoint that last worked (initially the first). When an endpoint
/// cannot be reached (connection refused, TLS handshake failed, no answer within
/// <see cref="EtcdClientOptions.ConnectTimeout"/> or <see cref="EtcdClientOptions.CallTimeout"/>, etcd answers
/// <c>Unavailable</c>), the client tries the next one. A snapshot stream fails over only before it has delivered
/// its first chunk; once bytes have been delivered, a failure ends the stream with an <see cref="EtcdClientException"/>.
/// </para>
/// <para>
/// <b>Errors.</b> Failures are <see cref="EtcdClientException"/>s (<see cref="EtcdTlsException"/>,
/// <see cref="EtcdAuthenticationException"/>, <see cref="EtcdUnavailableException"/> when several endpoints all
/// failed) with the gRPC <see cref="RpcException"/> as inner exception. Cancelling a call throws
/// <see cref="OperationCanceledException"/>.
/// </para>
/// <para>The client is thread-safe; create one per cluster and reuse it. Its methods are virtual so it can be faked in tests.</para>
/// </remarks>
public partial class EtcdClient : IDisposable
{
    private const string TokenMetadataKey = "token";

    // How long after an accepted server certificate a broken connection still counts as broken by the handshake.
    private static readonly TimeSpan RecentHandshake = TimeSpan.FromSeconds(30);

    private readonly EtcdConnection[] _connections;
    private readonly EtcdTlsSettings? _tls;
    private readonly ILogger _logger;
    private readonly string? _username;
    private readonly string? _password;
    private readonly TimeSpan _callTimeout;
    private readonly SemaphoreSlim _authLock = new(1, 1);
    private readonly IReadOnlyList<Uri> _endpoints;
    private readonly bool _forMocking;

    private int _preferred;
    private volatile string? _token;
    private volatile bool _serverAuthDisabled;
    private volatile bool _disposed;

    /// <summary>Creates a client for test doubles (mocking frameworks). Calling a method that is not overridden throws.</summary>
    protected EtcdClient()
    {
        _connections = [];
        _endpoints = [];
        _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _forMocking = true;
    }

    /// <summary>Creates a client for plain-HTTP or system-trusted HTTPS endpoints without authentication.</summary>
    /// <param name="endpoints">
    /// One or more endpoints separated by commas: <c>http://127.0.0.1:2379</c>, <c>https://10.0.0.2:2379</c>, or
    /// <c>host:port</c> (plain HTTP). See <see cref="EtcdClientOptions.Endpoints"/>.
    /// </param>
    /// <exception cref="ArgumentException">No endpoint, or one that is not an http(s) URL or host:port.</exception>
    public EtcdClient(string endpoints)
        : this(CreateOptions(endpoints))
    {
    }

    /// <summary>Creates a client with the given settings (copied; later changes to <paramref name="options"/> are ignored).</summary>
    /// <param name="options">Endpoints, TLS, credentials, timeouts and logging.</param>
    /// <exception cref="ArgumentException">Invalid or conflicting settings.</exception>
    /// <exception cref="EtcdConfigurationException">A certificate or key file cannot be read or parsed.</exception>
    public EtcdClient(EtcdClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ValidateTimeout(options.ConnectTimeout, nameof(options.ConnectTimeout));
        ValidateTimeout(options.CallTimeout, nameof(options.CallTimeout));
        if (options.Username is null && options.Password is not null)
        {
            throw new ArgumentException($"{nameof(EtcdClientOptions.Password)} is set without {nameof(EtcdClientOptions.Username)}.", nameof(options));
        }

        if (options.Username is { Length: 0 })
        {
            throw new ArgumentException($"{nameof(EtcdClientOptions.Username)} is empty.", nameof(options));
        }

        _logger = (options.LoggerFactory ?? throw new ArgumentException($"{nameof(EtcdClientOptions.LoggerFactory)} is null.", nameof(options)))
            .CreateLogger<EtcdClient>();
        _username = options.Username;
        _password = options.Password ?? string.Empty;
        _callTimeout = options.CallTimeout;

        _tls = EtcdTlsSettings.Load(options);
        try
        {
            _endpoints = EtcdEndpointParser.Parse(options.Endpoints, _tls.IsConfigured, nameof(options));
            if (_tls.IsConfigured && !_endpoints.Any(e => e.Scheme == Uri.UriSchemeHttps))
            {
                EtcdClientLog.TlsSettingsUnused(_logger);
            }

            _connections = new EtcdConnection[_endpoints.Count];
            for (int i = 0; i < _connections.Length; i++)
            {
                _connections[i] = new EtcdConnection(_endpoints[i], _tls, options.ConnectTimeout, _logger);
            }
        }
        catch
        {
            foreach (EtcdConnection? connection in _connections ?? [])
            {
                connection?.Dispose();
            }

            _tls.Dispose();
            throw;
        }
    }

    /// <summary>The endpoints, parsed and in the order they are tried.</summary>
    public virtual IReadOnlyList<Uri> Endpoints => _endpoints;

    /// <summary>
    /// Gets the status of the member behind the first reachable endpoint (<c>Maintenance.Status</c>, what
    /// <c>etcdctl endpoint status</c> prints).
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The status, with the endpoint that answered.</returns>
    /// <exception cref="EtcdClientException">No endpoint answered, or etcd refused the call.</exception>
    public virtual async Task<EtcdStatus> StatusAsync(CancellationToken cancellationToken = default)
    {
        (StatusResponse response, Uri endpoint) = await CallAsync(
            "Status",
            static (connection, options) => connection.Maintenance.StatusAsync(new StatusRequest(), options),
            idempotent: true,
            cancellationToken).ConfigureAwait(false);
        ResponseHeader header = response.Header ?? new ResponseHeader();
        return new EtcdStatus(
            endpoint,
            response.Version,
            response.DbSize,
            response.DbSizeInUse,
            response.Leader,
            response.RaftIndex,
            response.RaftTerm,
            response.RaftAppliedIndex,
            [.. response.Errors],
            response.IsLearner,
            header.MemberId,
            header.ClusterId,
            header.Revision);
    }

    /// <summary>Lists the members of the cluster (<c>Cluster.MemberList</c>, what <c>etcdctl member list</c> prints).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The members, in etcd's order.</returns>
    /// <exception cref="EtcdClientException">No endpoint answered, or etcd refused the call.</exception>
    public virtual async Task<IReadOnlyList<EtcdMember>> MemberListAsync(CancellationToken cancellationToken = default)
    {
        (MemberListResponse response, _) = await CallAsync(
            "MemberList",
            static (connection, options) => connection.Cluster.MemberListAsync(new MemberListRequest(), options),
            idempotent: true,
            cancellationToken).ConfigureAwait(false);
        var members = new EtcdMember[response.Members.Count];
        for (int i = 0; i < members.Length; i++)
        {
            Member member = response.Members[i];
            members[i] = new EtcdMember(member.ID, member.Name, [.. member.PeerURLs], [.. member.ClientURLs], member.IsLearner);
        }

        return members;
    }

    /// <summary>Lists the alarms raised in the cluster (<c>Maintenance.Alarm</c> with action GET, what <c>etcdctl alarm list</c> prints).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The alarms; empty when none is raised.</returns>
    /// <exception cref="EtcdClientException">No endpoint answered, or etcd refused the call.</exception>
    public virtual async Task<IReadOnlyList<EtcdAlarm>> AlarmListAsync(CancellationToken cancellationToken = default)
    {
        AlarmResponse response = await AlarmAsync(
            new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Get },
            cancellationToken).ConfigureAwait(false);
        var alarms = new EtcdAlarm[response.Alarms.Count];
        for (int i = 0; i < alarms.Length; i++)
        {
            alarms[i] = new EtcdAlarm(response.Alarms[i].MemberID, (EtcdAlarmType)response.Alarms[i].Alarm);
        }

        return alarms;
    }

    /// <summary>Raw <c>Maintenance.Alarm</c> (GET, ACTIVATE, DEACTIVATE). Only GET fails over.</summary>
    internal async Task<AlarmResponse> AlarmAsync(AlarmRequest request, CancellationToken cancellationToken = default)
    {
        (AlarmResponse response, _) = await CallAsync(
            "Alarm",
            (connection, options) => connection.Maintenance.AlarmAsync(request, options),
            idempotent: request.Action == AlarmRequest.Types.AlarmAction.Get,
            cancellationToken).ConfigureAwait(false);
        return response;
    }

    /// <summary>Raw <c>KV.Put</c>; fails over only when the request cannot have reached a server.</summary>
    internal async Task<PutResponse> PutAsync(PutRequest request, CancellationToken cancellationToken = default)
    {
        (PutResponse response, _) = await CallAsync(
            "Put",
            (connection, options) => connection.Kv.PutAsync(request, options),
            idempotent: false,
            cancellationToken).ConfigureAwait(false);
        return response;
    }

    /// <summary>Raw <c>KV.Range</c>.</summary>
    internal async Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancellationToken = default)
    {
        (RangeResponse response, _) = await CallAsync(
            "Range",
            (connection, options) => connection.Kv.RangeAsync(request, options),
            idempotent: true,
            cancellationToken).ConfigureAwait(false);
        return response;
    }

    /// <summary>Releases the connections and the certificates loaded from files.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the connections and the certificates loaded from files.</summary>
    /// <param name="disposing"><see langword="true"/> when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (_disposed || !disposing)
        {
            return;
        }

        _disposed = true;
        foreach (EtcdConnection connection in _connections)
        {
            connection.Dispose();
        }

        _tls?.Dispose();
        _authLock.Dispose();
    }

    // ------------------------------------------------------------------------------------------------
    // Calls, fail-over, authentication
    // ------------------------------------------------------------------------------------------------

    private async Task<(TResponse Response, Uri Endpoint)> CallAsync<TResponse>(
        string operation,
        Func<EtcdConnection, CallOptions, AsyncUnaryCall<TResponse>> call,
        bool idempotent,
        CancellationToken cancellationToken)
    {
        ThrowIfUnusable();
        int start = Volatile.Read(ref _preferred);
        List<EtcdClientException>? failures = null;
        for (int i = 0; i < _connections.Length; i++)
        {
            int index = (start + i) % _connections.Length;
            EtcdConnection connection = _connections[index];
            try
            {
                TResponse response = await CallWithTokenAsync(connection, call, cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _preferred, index);
                return (response, connection.Endpoint);
            }
            catch (RpcException ex)
            {
                ThrowIfCancelled(ex, cancellationToken);
                EtcdClientException failure = MapException(connection, operation, ex);
                if (!CanFailOver(ex, failure, idempotent))
                {
                    throw failure;
                }

                EtcdClientLog.EndpointFailed(_logger, connection.Endpoint, operation, ex.StatusCode, FirstLine(failure.Message));
                (failures ??= []).Add(failure);
            }
        }

        throw AllEndpointsFailed(operation, failures!);
    }

    private async Task<TResponse> CallWithTokenAsync<TResponse>(
        EtcdConnection connection,
        Func<EtcdConnection, CallOptions, AsyncUnaryCall<TResponse>> call,
        CancellationToken cancellationToken)
    {
        string? token = await GetTokenAsync(connection, cancellationToken).ConfigureAwait(false);
        try
        {
            using AsyncUnaryCall<TResponse> first = call(connection, CreateCallOptions(token, deadline: true, cancellationToken));
            return await first.ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException ex) when (IsTokenProblem(ex))
        {
            EtcdClientLog.TokenRefresh(_logger, connection.Endpoint, ex.Status.Detail);
            token = await RefreshTokenAsync(connection, token, cancellationToken).ConfigureAwait(false);
            using AsyncUnaryCall<TResponse> second = call(connection, CreateCallOptions(token, deadline: true, cancellationToken));
            return await second.ResponseAsync.ConfigureAwait(false);
        }
    }

    private CallOptions CreateCallOptions(string? token, bool deadline, CancellationToken cancellationToken)
    {
        Metadata? headers = token is null ? null : new Metadata { { TokenMetadataKey, token } };
        DateTime? callDeadline = deadline && _callTimeout != Timeout.InfiniteTimeSpan ? DateTime.UtcNow + _callTimeout : null;
        return new CallOptions(headers: headers, deadline: callDeadline, cancellationToken: cancellationToken);
    }

    /// <summary>The token to send, authenticating first when credentials are configured and no token is held.</summary>
    private async ValueTask<string?> GetTokenAsync(EtcdConnection connection, CancellationToken cancellationToken)
    {
        if (_username is null)
        {
            return null;
        }

        string? token = _token;
        if (token is not null || _serverAuthDisabled)
        {
            return token;
        }

        await _authLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is { } current)
            {
                return current;
            }

            return _serverAuthDisabled ? null : await AuthenticateAsync(connection, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _authLock.Release();
        }
    }

    /// <summary>Drops <paramref name="rejected"/> and authenticates again, unless another call already did.</summary>
    private async ValueTask<string?> RefreshTokenAsync(EtcdConnection connection, string? rejected, CancellationToken cancellationToken)
    {
        await _authLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is { } current && !ReferenceEquals(current, rejected))
            {
                return current;
            }

            _token = null;
            _serverAuthDisabled = false;
            return await AuthenticateAsync(connection, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _authLock.Release();
        }
    }

    // Called under _authLock. Throws RpcException (mapped by the caller, so an unreachable endpoint fails over).
    private async Task<string?> AuthenticateAsync(EtcdConnection connection, CancellationToken cancellationToken)
    {
        var request = new AuthenticateRequest { Name = _username, Password = _password };
        try
        {
            using AsyncUnaryCall<AuthenticateResponse> call = connection.Auth.AuthenticateAsync(
                request, CreateCallOptions(token: null, deadline: true, cancellationToken));
            AuthenticateResponse response = await call.ResponseAsync.ConfigureAwait(false);
            _token = response.Token;
            EtcdClientLog.Authenticated(_logger, connection.Endpoint, _username!);
            return response.Token;
        }
        catch (RpcException ex) when (ex.Status.Detail.Contains("authentication is not enabled", StringComparison.Ordinal))
        {
            // Like clientv3: credentials for a cluster without authentication are not an error.
            _serverAuthDisabled = true;
            EtcdClientLog.AuthenticationNotEnabled(_logger, connection.Endpoint);
            return null;
        }
    }

    /// <summary>etcd errors after which clientv3 authenticates again and retries once.</summary>
    private bool IsTokenProblem(RpcException ex)
        => _username is not null
           && (ex.Status.Detail.Contains("invalid auth token", StringComparison.Ordinal)
               || ex.Status.Detail.Contains("revision of auth store is old", StringComparison.Ordinal)
               || ex.Status.Detail.Contains("user name is empty", StringComparison.Ordinal));

    private static bool CanFailOver(RpcException ex, EtcdClientException mapped, bool idempotent)
    {
        if (mapped is EtcdAuthenticationException)
        {
            return false;
        }

        if (mapped is EtcdTlsException || IsConnectFailure(ex))
        {
            return true;
        }

        return idempotent && ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded;
    }

    /// <summary>The request cannot have reached a server: no TCP connection or no TLS session.</summary>
    private static bool IsConnectFailure(RpcException ex)
    {
        for (Exception? e = ex.Status.DebugException; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError or HttpRequestError.NameResolutionError }
                or SocketException
                or AuthenticationException)
            {
                return true;
            }
        }

        return false;
    }

    private EtcdClientException MapException(EtcdConnection connection, string operation, RpcException ex)
    {
        if (connection.IsTls && ClassifyTls(connection, ex) is { } tls)
        {
            return tls;
        }

        string detail = ex.Status.Detail;
        Uri endpoint = connection.Endpoint;
        if (detail.Contains("authentication failed", StringComparison.Ordinal))
        {
            return new EtcdAuthenticationException(
                $"etcd at {endpoint} refused the credentials of user '{_username}': {detail}",
                endpoint, ex.StatusCode, EtcdAuthenticationFailure.InvalidCredentials, _username, ex);
        }

        if (ex.StatusCode == StatusCode.PermissionDenied || detail.Contains("permission denied", StringComparison.Ordinal))
        {
            string who = _username is null ? "without credentials" : $"as user '{_username}'";
            return new EtcdAuthenticationException(
                $"etcd at {endpoint} denied {operation} {who}: {detail}",
                endpoint, ex.StatusCode, EtcdAuthenticationFailure.PermissionDenied, _username, ex);
        }

        if (ex.StatusCode == StatusCode.Unauthenticated
            || detail.Contains("user name is empty", StringComparison.Ordinal)
            || detail.Contains("invalid auth token", StringComparison.Ordinal))
        {
            return _username is null
                ? new EtcdAuthenticationException(
                    $"etcd at {endpoint} requires authentication for {operation} and no credentials are configured ({nameof(EtcdClientOptions.Username)}/{nameof(EtcdClientOptions.Password)}): {detail}",
                    endpoint, ex.StatusCode, EtcdAuthenticationFailure.CredentialsRequired, null, ex)
                : new EtcdAuthenticationException(
                    $"etcd at {endpoint} rejected the auth token of user '{_username}' for {operation} even after authenticating again: {detail}",
                    endpoint, ex.StatusCode, EtcdAuthenticationFailure.TokenRejected, _username, ex);
        }

        string cause = DescribeCause(ex);
        return new EtcdClientException(
            $"etcd {operation} at {endpoint} failed: {ex.StatusCode}: {cause}", endpoint, ex.StatusCode, ex);
    }

    private static EtcdTlsException? ClassifyTls(EtcdConnection connection, RpcException ex)
    {
        bool handshakeFailed = false;
        bool connectFailed = false;
        bool brokeAfterConnect = false;
        string? alert = null;
        for (Exception? e = ex.Status.DebugException; e is not null; e = e.InnerException)
        {
            handshakeFailed |= e is AuthenticationException or HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError };
            connectFailed |= e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError };
            brokeAfterConnect |= e is IOException;
            alert ??= FindClientCertificateAlert(e.Message);
        }

        Uri endpoint = connection.Endpoint;
        if (handshakeFailed && connection.ServerCertificateFinding is { } finding)
        {
            return new EtcdTlsException($"TLS with etcd at {endpoint} failed: {finding.Reason}.", endpoint, finding.Failure, ex);
        }

        if (connectFailed && !handshakeFailed)
        {
            return null;
        }

        if (alert is not null)
        {
            string what = connection.HasClientCertificate
                ? "the server refused the client certificate"
                : "the server requires a client certificate and none is configured";
            return new EtcdTlsException($"TLS with etcd at {endpoint} failed: {what} ({alert}).", endpoint, EtcdTlsFailure.ClientCertificateRejected, ex);
        }

        // Under TLS 1.3 the client finishes its handshake before the server checks the client certificate; a server
        // that refuses it just closes the new connection, so the failure shows up as the HTTP/2 connection breaking
        // before the first response, right after a handshake in which the server asked for a certificate.
        bool beforeAnyResponse = ex.Status.Detail.StartsWith("Error starting gRPC call", StringComparison.Ordinal);
        if ((handshakeFailed || brokeAfterConnect) && beforeAnyResponse && connection.ServerCertificateAcceptedWithin(RecentHandshake))
        {
            switch (connection.ClientCertificateRequested, connection.HasClientCertificate)
            {
                case (true, false):
                    return new EtcdTlsException(
                        $"TLS with etcd at {endpoint} failed: the server requires a client certificate and none is configured (it asked for one and closed the connection).",
                        endpoint, EtcdTlsFailure.ClientCertificateRejected, ex);
                case (true, true):
                    return new EtcdTlsException(
                        $"TLS with etcd at {endpoint} failed: the server refused the client certificate (it asked for one and closed the connection after receiving it; is the certificate issued by the CA etcd trusts, valid now, and meant for client authentication?).",
                        endpoint, EtcdTlsFailure.ClientCertificateRejected, ex);
                case (null, _):
                    return new EtcdTlsException(
                        $"TLS with etcd at {endpoint} failed: the server closed the connection right after the TLS handshake, most likely refusing the client certificate{(connection.HasClientCertificate ? string.Empty : " (none is configured)")}.",
                        endpoint, EtcdTlsFailure.ClientCertificateRejected, ex);
            }
        }

        if (handshakeFailed)
        {
            return new EtcdTlsException(
                $"TLS with etcd at {endpoint} failed: the handshake did not complete ({DescribeCause(ex)}).",
                endpoint, EtcdTlsFailure.HandshakeFailed, ex);
        }

        return null;
    }

    // TLS alerts a server sends about the client's certificate, as OpenSSL/SChannel word them.
    private static string? FindClientCertificateAlert(string message)
    {
        ReadOnlySpan<string> alerts = ["certificate required", "bad certificate", "unknown ca", "certificate unknown", "unsupported certificate", "certificate expired", "certificate revoked"];
        foreach (string alert in alerts)
        {
            if (message.Contains(alert, StringComparison.OrdinalIgnoreCase))
            {
                return "TLS alert: " + alert;
            }
        }

        return null;
    }

    private static string DescribeCause(RpcException ex)
    {
        // The innermost exception usually names the actual problem (connection refused, reset, EOF).
        Exception? innermost = ex.Status.DebugException;
        while (innermost?.InnerException is not null)
        {
            innermost = innermost.InnerException;
        }

        string detail = ex.Status.Detail;
        return innermost is null || detail.Contains(innermost.Message, StringComparison.Ordinal)
            ? detail
            : $"{detail} ({innermost.Message})";
    }

    private EtcdClientException AllEndpointsFailed(string operation, List<EtcdClientException> failures)
    {
        if (failures.Count == 1)
        {
            return failures[0];
        }

        var message = new System.Text.StringBuilder();
        message.Append("etcd ").Append(operation).Append(" failed on every endpoint:");
        foreach (EtcdClientException failure in failures)
        {
            message.Append("\n  - ").Append(FirstLine(failure.Message));
        }

        return new EtcdUnavailableException(message.ToString(), failures);
    }

    private static string FirstLine(string text)
    {
        int newline = text.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? text : text[..newline];
    }

    private static void ThrowIfCancelled(RpcException ex, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The etcd call was cancelled.", ex, cancellationToken);
        }
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_forMocking)
        {
            throw new InvalidOperationException("This EtcdClient was created for mocking; override the methods you call.");
        }
    }

    private static EtcdClientOptions CreateOptions(string endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = new EtcdClientOptions();
        options.Endpoints.Add(endpoints);
        return options;
    }

    private static void ValidateTimeout(TimeSpan value, string name)
    {
        if (value != Timeout.InfiniteTimeSpan && value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be positive or Timeout.InfiniteTimeSpan.");
        }
    }
}
