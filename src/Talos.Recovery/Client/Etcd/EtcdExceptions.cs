using Grpc.Core;

namespace Talos.Recovery.Client.Etcd;

/// <summary>
/// A call to etcd failed: the endpoint could not be reached, or etcd answered with an error, or a snapshot stream
/// broke off. <see cref="Endpoint"/> and <see cref="StatusCode"/> say where and how; the gRPC
/// <see cref="RpcException"/>, when there is one, is the <see cref="Exception.InnerException"/>.
/// </summary>
public class EtcdClientException : TalosRecoveryException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, naming the endpoint.</param>
    /// <param name="endpoint">The endpoint concerned; <see langword="null"/> when the failure concerns several.</param>
    /// <param name="statusCode">The gRPC status of the failure.</param>
    /// <param name="innerException">The cause, usually an <see cref="RpcException"/>.</param>
    public EtcdClientException(string message, Uri? endpoint, StatusCode statusCode, Exception? innerException = null)
        : base(message, innerException)
    {
        Endpoint = endpoint;
        StatusCode = statusCode;
    }

    /// <summary>The endpoint concerned; <see langword="null"/> when the failure concerns several endpoints.</summary>
    public Uri? Endpoint { get; }

    /// <summary>
    /// The gRPC status of the failure: <see cref="StatusCode.Unavailable"/> for an endpoint that could not be reached
    /// or a connection that broke, otherwise what etcd answered.
    /// </summary>
    public StatusCode StatusCode { get; }
}

/// <summary>
/// None of several endpoints could be reached. <see cref="Failures"/> holds each endpoint's own exception, in the
/// order they were tried (some may be <see cref="EtcdTlsException"/>). With a single endpoint configured, that
/// endpoint's exception is thrown instead.
/// </summary>
public class EtcdUnavailableException : EtcdClientException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The summary, naming every endpoint.</param>
    /// <param name="failures">Each endpoint's failure, at least one.</param>
    public EtcdUnavailableException(string message, IReadOnlyList<EtcdClientException> failures)
        : base(message, null, StatusCode.Unavailable, failures is { Count: > 0 } ? failures[0] : null)
    {
        ArgumentNullException.ThrowIfNull(failures);
        Failures = failures;
    }

    /// <summary>Each endpoint's failure, in the order the endpoints were tried.</summary>
    public IReadOnlyList<EtcdClientException> Failures { get; }
}

/// <summary>Why etcd refused a call for authentication reasons.</summary>
public enum EtcdAuthenticationFailure
{
    /// <summary>The user name or password is wrong (<c>Auth.Authenticate</c> failed).</summary>
    InvalidCredentials,

    /// <summary>etcd has authentication enabled and the client has no credentials (<see cref="EtcdClientOptions.Username"/>).</summary>
    CredentialsRequired,

    /// <summary>The user is authenticated but lacks the permission the call needs (a snapshot needs the <c>root</c> role).</summary>
    PermissionDenied,

    /// <summary>etcd rejected the token even right after authenticating again.</summary>
    TokenRejected,
}

/// <summary>
/// etcd refused a call for authentication reasons: wrong credentials, missing credentials, or a user without the
/// permission the call needs. Retrying without changing the configuration does not help.
/// </summary>
public class EtcdAuthenticationException : EtcdClientException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, naming the endpoint and user.</param>
    /// <param name="endpoint">The endpoint that refused.</param>
    /// <param name="statusCode">The gRPC status etcd answered.</param>
    /// <param name="reason">Why the call was refused.</param>
    /// <param name="username">The configured user; <see langword="null"/> when none is configured.</param>
    /// <param name="innerException">The <see cref="RpcException"/>.</param>
    public EtcdAuthenticationException(string message, Uri? endpoint, StatusCode statusCode, EtcdAuthenticationFailure reason, string? username, Exception? innerException = null)
        : base(message, endpoint, statusCode, innerException)
    {
        Reason = reason;
        Username = username;
    }

    /// <summary>Why the call was refused.</summary>
    public EtcdAuthenticationFailure Reason { get; }

    /// <summary>The configured user; <see langword="null"/> when none is configured.</summary>
    public string? Username { get; }
}

/// <summary>What went wrong in a TLS handshake with etcd.</summary>
public enum EtcdTlsFailure
{
    /// <summary>
    /// The server's certificate does not chain to the configured CA (or, without one, to the system's trust store), or
    /// is expired, not yet valid or not meant for servers. The exception message has the chain errors.
    /// </summary>
    UntrustedServerCertificate,

    /// <summary>The server's certificate is trusted but names neither the endpoint's host nor <see cref="EtcdClientOptions.TlsServerName"/>.</summary>
    ServerNameMismatch,

    /// <summary>The server refused the client certificate, or asked for one and none is configured.</summary>
    ClientCertificateRejected,

    /// <summary>The handshake failed for another reason (no common protocol version or cipher, not a TLS server).</summary>
    HandshakeFailed,
}

/// <summary>
/// The TLS handshake with an etcd endpoint failed. <see cref="Failure"/> names what failed; the message gives the
/// details (certificate subject, chain errors, expected name).
/// </summary>
public class EtcdTlsException : EtcdClientException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed and why, naming the endpoint.</param>
    /// <param name="endpoint">The endpoint concerned.</param>
    /// <param name="failure">What failed.</param>
    /// <param name="innerException">The <see cref="RpcException"/> or the TLS exception.</param>
    public EtcdTlsException(string message, Uri? endpoint, EtcdTlsFailure failure, Exception? innerException = null)
        : base(message, endpoint, StatusCode.Unavailable, innerException)
    {
        Failure = failure;
    }

    /// <summary>What failed.</summary>
    public EtcdTlsFailure Failure { get; }
}

/// <summary>
/// The <see cref="EtcdClientOptions"/> name a certificate or key file that cannot be read or parsed.
/// Thrown by the <see cref="EtcdClient"/> constructor.
/// </summary>
public class EtcdConfigurationException : TalosRecoveryException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What could not be loaded and why.</param>
    /// <param name="path">The file concerned, when there is one.</param>
    /// <param name="innerException">The I/O or cryptographic exception.</param>
    public EtcdConfigurationException(string message, string? path = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
    }

    /// <summary>The file concerned, when there is one.</summary>
    public string? Path { get; }
}
