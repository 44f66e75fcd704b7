using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Talos.Recovery.Client.Etcd;

/// <summary>
/// Log messages of <see cref="EtcdClient"/>. Event ids 3100–3199 are reserved for it and stable.
/// Never log passwords, tokens or key material here.
/// </summary>
internal static partial class EtcdClientLog
{
    [LoggerMessage(EventId = 3500, EventName = "EndpointFailed", Level = LogLevel.Warning,
        Message = "etcd endpoint {Endpoint} failed during {Operation} ({StatusCode}: {Detail}); trying the next endpoint")]
    public static partial void EndpointFailed(ILogger logger, Uri endpoint, string operation, StatusCode statusCode, string detail);

    [LoggerMessage(EventId = 3501, EventName = "Authenticated", Level = LogLevel.Debug,
        Message = "Authenticated to etcd at {Endpoint} as {Username}")]
    public static partial void Authenticated(ILogger logger, Uri endpoint, string username);

    [LoggerMessage(EventId = 3502, EventName = "TokenRefresh", Level = LogLevel.Information,
        Message = "etcd at {Endpoint} rejected the auth token ({Detail}); authenticating again")]
    public static partial void TokenRefresh(ILogger logger, Uri endpoint, string detail);

    [LoggerMessage(EventId = 3503, EventName = "AuthenticationNotEnabled", Level = LogLevel.Information,
        Message = "etcd at {Endpoint} has authentication disabled; calls are made without a token")]
    public static partial void AuthenticationNotEnabled(ILogger logger, Uri endpoint);

    [LoggerMessage(EventId = 3504, EventName = "ServerCertificateRejected", Level = LogLevel.Warning,
        Message = "Rejected the TLS certificate of etcd at {Endpoint}: {Reason}")]
    public static partial void ServerCertificateRejected(ILogger logger, Uri endpoint, string reason);

    [LoggerMessage(EventId = 3510, EventName = "SnapshotStarted", Level = LogLevel.Information,
        Message = "Streaming an etcd snapshot from {Endpoint}")]
    public static partial void SnapshotStarted(ILogger logger, Uri endpoint);

    [LoggerMessage(EventId = 3511, EventName = "SnapshotCompleted", Level = LogLevel.Information,
        Message = "Streamed an etcd snapshot from {Endpoint}: {Bytes} bytes in {ElapsedMilliseconds} ms")]
    public static partial void SnapshotCompleted(ILogger logger, Uri endpoint, long bytes, long elapsedMilliseconds);

    [LoggerMessage(EventId = 3512, EventName = "SnapshotFailed", Level = LogLevel.Error,
        Message = "The etcd snapshot stream from {Endpoint} failed after {Bytes} bytes ({StatusCode})")]
    public static partial void SnapshotFailed(ILogger logger, Uri endpoint, long bytes, StatusCode statusCode);

    [LoggerMessage(EventId = 3513, EventName = "SnapshotAbandoned", Level = LogLevel.Information,
        Message = "The etcd snapshot stream from {Endpoint} was stopped by its consumer after {Bytes} bytes")]
    public static partial void SnapshotAbandoned(ILogger logger, Uri endpoint, long bytes);

    [LoggerMessage(EventId = 3520, EventName = "TlsSettingsUnused", Level = LogLevel.Warning,
        Message = "TLS settings are configured but no etcd endpoint uses https; they are ignored")]
    public static partial void TlsSettingsUnused(ILogger logger);
}
