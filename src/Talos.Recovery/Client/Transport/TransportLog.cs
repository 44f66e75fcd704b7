using Microsoft.Extensions.Logging;

namespace Talos.Recovery.Client.Transport;

/// <summary>Log messages of the Talos TLS transport (event ids 3300–3319). Never key material.</summary>
internal static partial class TransportLog
{
    [LoggerMessage(EventId = 3300, EventName = "VerificationDisabled", Level = LogLevel.Warning,
        Message = "TLS server certificate verification is DISABLED (InsecureSkipVerify): any server can impersonate a Talos node and receive its secrets and etcd data. Use only for tests.")]
    public static partial void VerificationDisabled(ILogger logger);

    [LoggerMessage(EventId = 3301, EventName = "UnverifiedConnection", Level = LogLevel.Warning,
        Message = "Connected to {Endpoint} WITHOUT verifying its TLS certificate (InsecureSkipVerify)")]
    public static partial void UnverifiedConnection(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 3302, EventName = "HandshakeCompleted", Level = LogLevel.Debug,
        Message = "TLS handshake with {Endpoint} completed: {Version} via {Stack}, client certificate {ClientCertificate}")]
    public static partial void HandshakeCompleted(ILogger logger, string endpoint, string? version, TlsStack stack, string clientCertificate);

    [LoggerMessage(EventId = 3303, EventName = "HandshakeFailed", Level = LogLevel.Debug,
        Message = "TLS handshake with {Endpoint} failed ({Failure}, alert {Alert}): {Reason}")]
    public static partial void HandshakeFailed(ILogger logger, string endpoint, TalosTlsFailure failure, string alert, string reason);

    [LoggerMessage(EventId = 3304, EventName = "ConnectionFailed", Level = LogLevel.Debug,
        Message = "TLS connection to {Endpoint} ended with alert {Alert}: {Reason}")]
    public static partial void ConnectionFailed(ILogger logger, string endpoint, string alert, string reason);

    [LoggerMessage(EventId = 3305, EventName = "TransportCreated", Level = LogLevel.Debug,
        Message = "Talos TLS transport created: {Stack}, trust {Trust}, client certificate {ClientCertificate}")]
    public static partial void Created(ILogger logger, TlsStack stack, string trust, string clientCertificate);
}
