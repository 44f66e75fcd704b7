using Microsoft.Extensions.Logging;

namespace Talos.Recovery.Testing.Tls;

/// <summary>Log messages of the Talos TLS server middleware (event ids 9100–9119). Never key material.</summary>
internal static partial class TlsServerLog
{
    [LoggerMessage(EventId = 9100, EventName = "ClientRefused", Level = LogLevel.Information,
        Message = "Refused TLS client {RemoteEndPoint} with alert {Alert}: {Reason}")]
    public static partial void ClientRefused(ILogger logger, string? remoteEndPoint, string alert, string reason);

    [LoggerMessage(EventId = 9101, EventName = "HandshakeFailed", Level = LogLevel.Debug,
        Message = "TLS handshake with {RemoteEndPoint} failed: {Reason}")]
    public static partial void HandshakeFailed(ILogger logger, string? remoteEndPoint, string reason);

    [LoggerMessage(EventId = 9102, EventName = "ClientAccepted", Level = LogLevel.Debug,
        Message = "TLS client {RemoteEndPoint} accepted ({Version}): {Subject}, roles [{Roles}]")]
    public static partial void ClientAccepted(ILogger logger, string? remoteEndPoint, string version, string subject, string roles);
}
