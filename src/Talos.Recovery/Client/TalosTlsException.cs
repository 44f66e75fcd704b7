using Talos.Recovery.Client.Transport;

namespace Talos.Recovery.Client;

/// <summary>What went wrong in a TLS handshake with a Talos endpoint (apid).</summary>
public enum TalosTlsFailure
{
    /// <summary>
    /// The handshake failed for a reason not listed here: no common protocol version, cipher suite, key-exchange group
    /// or application protocol, a peer that does not speak TLS, or a connection that closed during the handshake.
    /// </summary>
    HandshakeFailed,

    /// <summary>
    /// The server's certificate does not chain to the configured CA (or, without one, to the system's trust store), or
    /// is expired, not yet valid or not meant for servers. The message has the details.
    /// </summary>
    UntrustedServerCertificate,

    /// <summary>The server's certificate is trusted but names neither the endpoint's IP address nor its host name.</summary>
    ServerNameMismatch,

    /// <summary>
    /// The server refused the client certificate (or its absence) with a TLS alert such as <c>bad_certificate</c>,
    /// <c>certificate_required</c>, <c>unknown_ca</c> or <c>certificate_expired</c>: not signed by a CA the node accepts,
    /// expired, or with an extended key usage other than exactly client authentication. <see cref="TalosTlsException.Alert"/>
    /// names the alert.
    /// </summary>
    ClientCertificateRejected,
}

/// <summary>
/// A TLS alert (RFC 8446 §6, RFC 5246 §7.2); the values are the protocol's codes. Only the ones a Talos endpoint
/// or this SDK sends are named; any other code still round-trips as its number.
/// </summary>
public enum TlsAlert
{
    /// <summary><c>close_notify</c> (0).</summary>
    CloseNotify = 0,

    /// <summary><c>unexpected_message</c> (10).</summary>
    UnexpectedMessage = 10,

    /// <summary><c>bad_record_mac</c> (20).</summary>
    BadRecordMac = 20,

    /// <summary><c>record_overflow</c> (22).</summary>
    RecordOverflow = 22,

    /// <summary><c>handshake_failure</c> (40): no acceptable set of security parameters.</summary>
    HandshakeFailure = 40,

    /// <summary><c>bad_certificate</c> (42): a certificate was corrupt or failed verification (Go's answer to most client certificate problems).</summary>
    BadCertificate = 42,

    /// <summary><c>unsupported_certificate</c> (43).</summary>
    UnsupportedCertificate = 43,

    /// <summary><c>certificate_revoked</c> (44).</summary>
    CertificateRevoked = 44,

    /// <summary><c>certificate_expired</c> (45): a certificate has expired or is not yet valid.</summary>
    CertificateExpired = 45,

    /// <summary><c>certificate_unknown</c> (46).</summary>
    CertificateUnknown = 46,

    /// <summary><c>illegal_parameter</c> (47).</summary>
    IllegalParameter = 47,

    /// <summary><c>unknown_ca</c> (48): the certificate chain does not lead to a trusted CA.</summary>
    UnknownCA = 48,

    /// <summary><c>access_denied</c> (49).</summary>
    AccessDenied = 49,

    /// <summary><c>decode_error</c> (50).</summary>
    DecodeError = 50,

    /// <summary><c>decrypt_error</c> (51): a signature or Finished message did not verify.</summary>
    DecryptError = 51,

    /// <summary><c>protocol_version</c> (70): no common protocol version.</summary>
    ProtocolVersion = 70,

    /// <summary><c>insufficient_security</c> (71).</summary>
    InsufficientSecurity = 71,

    /// <summary><c>internal_error</c> (80).</summary>
    InternalError = 80,

    /// <summary><c>user_canceled</c> (90).</summary>
    UserCanceled = 90,

    /// <summary><c>missing_extension</c> (109).</summary>
    MissingExtension = 109,

    /// <summary><c>unsupported_extension</c> (110).</summary>
    UnsupportedExtension = 110,

    /// <summary><c>unrecognized_name</c> (112).</summary>
    UnrecognizedName = 112,

    /// <summary><c>certificate_required</c> (116): the server requires a client certificate and none was sent (TLS 1.3).</summary>
    CertificateRequired = 116,

    /// <summary><c>no_application_protocol</c> (120): no common ALPN protocol.</summary>
    NoApplicationProtocol = 120,
}

/// <summary>
/// The TLS handshake with a Talos endpoint failed, or the endpoint refused the client certificate with a TLS alert
/// (under TLS 1.3 that alert arrives only on the first read after the handshake, and is reported here all the same).
/// <see cref="Failure"/> says what failed, <see cref="Alert"/> which TLS alert was sent or received, and the message
/// gives the details (certificate subject, chain errors, expected name). Retrying the same endpoint with the same
/// configuration does not help; another endpoint may behave differently.
/// </summary>
public class TalosTlsException : TalosRecoveryException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed and why, naming the endpoint.</param>
    /// <param name="endpoint">The endpoint concerned (<c>host:port</c>); <see langword="null"/> when unknown.</param>
    /// <param name="failure">What failed.</param>
    /// <param name="alert">The TLS alert received from the peer or sent to it; <see langword="null"/> when there was none.</param>
    /// <param name="alertReceived">Whether <paramref name="alert"/> came from the peer (<see langword="true"/>) or was sent by this client.</param>
    /// <param name="innerException">The TLS stack's exception, when there is one.</param>
    public TalosTlsException(string message, string? endpoint, TalosTlsFailure failure, TlsAlert? alert = null, bool alertReceived = false, Exception? innerException = null)
        : base(message, innerException)
    {
        Endpoint = endpoint;
        Failure = failure;
        Alert = alert;
        AlertReceived = alert is not null && alertReceived;
    }

    /// <summary>The endpoint concerned (<c>host:port</c>); <see langword="null"/> when unknown.</summary>
    public string? Endpoint { get; }

    /// <summary>What failed.</summary>
    public TalosTlsFailure Failure { get; }

    /// <summary>
    /// The TLS alert that ended the connection: received from the server (<see cref="AlertReceived"/>), or sent by this
    /// client when it refused the server. <see langword="null"/> when no alert was exchanged (for example the server
    /// closed the connection without one).
    /// </summary>
    public TlsAlert? Alert { get; }

    /// <summary>Whether <see cref="Alert"/> was received from the server rather than sent by this client.</summary>
    public bool AlertReceived { get; }

    /// <summary>The RFC name of <see cref="Alert"/> (<c>bad_certificate</c>, <c>unknown_ca</c>, …); <see langword="null"/> without an alert.</summary>
    public string? AlertName => Alert is { } alert ? TlsAlertNames.GetName(alert) : null;

    /// <summary>
    /// Finds the <see cref="TalosTlsException"/> in <paramref name="exception"/> or among its inner exceptions (as
    /// wrapped by <c>HttpRequestException</c> or gRPC's <c>RpcException</c>).
    /// </summary>
    /// <param name="exception">The exception to search, for example what a gRPC call threw.</param>
    /// <returns>The TLS failure, or <see langword="null"/> when the exception was not caused by one.</returns>
    public static TalosTlsException? Find(Exception? exception)
    {
        for (int depth = 0; exception is not null && depth < 16; depth++)
        {
            switch (exception)
            {
                case TalosTlsException tls:
                    return tls;
                case AggregateException aggregate:
                    foreach (Exception inner in aggregate.InnerExceptions)
                    {
                        if (Find(inner) is { } found)
                        {
                            return found;
                        }
                    }

                    return null;
            }

            exception = exception.InnerException;
        }

        return null;
    }
}
