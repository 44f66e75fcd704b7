using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Talos.Recovery.Client;

/// <summary>
/// Log messages of <see cref="TalosClient"/>. Event ids 3400–3499 are reserved for it and stable.
/// Never log key material here.
/// </summary>
internal static partial class TalosClientLog
{
    [LoggerMessage(EventId = 3400, EventName = "EndpointFailed", Level = LogLevel.Warning,
        Message = "Talos endpoint {Endpoint} could not be reached for {Method} ({Detail}); trying the next endpoint")]
    public static partial void EndpointFailed(ILogger logger, string endpoint, string method, string detail);

    [LoggerMessage(EventId = 3401, EventName = "InsecureConnection", Level = LogLevel.Warning,
        Message = "INSECURE: connecting to Talos endpoint {Endpoint} WITHOUT verifying its certificate (InsecureSkipVerify); anyone on the path can impersonate the node")]
    public static partial void InsecureConnection(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 3402, EventName = "CallFailed", Level = LogLevel.Debug,
        Message = "{Method} on node {Node} failed: {StatusCode}: {Detail}")]
    public static partial void CallFailed(ILogger logger, string method, string node, StatusCode statusCode, string detail);

    [LoggerMessage(EventId = 3403, EventName = "RetryingFailedPrecondition", Level = LogLevel.Information,
        Message = "{Method} on node {Node}: not ready yet ({Detail}); retrying")]
    public static partial void RetryingFailedPrecondition(ILogger logger, string method, string node, string detail);

    [LoggerMessage(EventId = 3404, EventName = "StreamCompleted", Level = LogLevel.Information,
        Message = "{Method} from node {Node} completed: {Bytes} bytes in {ElapsedMilliseconds} ms")]
    public static partial void StreamCompleted(ILogger logger, string method, string node, long bytes, long elapsedMilliseconds);

    [LoggerMessage(EventId = 3405, EventName = "UploadCompleted", Level = LogLevel.Information,
        Message = "EtcdRecover to node {Node} completed: {Bytes} bytes uploaded")]
    public static partial void UploadCompleted(ILogger logger, string node, long bytes);

    [LoggerMessage(EventId = 3406, EventName = "SkippedArchiveEntry", Level = LogLevel.Warning,
        Message = "Copy from node {Node}: skipped archive entry {Name} ({EntryType})")]
    public static partial void SkippedArchiveEntry(ILogger logger, string node, string name, string entryType);
}
