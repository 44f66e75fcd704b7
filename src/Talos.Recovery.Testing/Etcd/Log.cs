using Microsoft.Extensions.Logging;

namespace Talos.Recovery.Testing.Etcd;

/// <summary>The harness's log messages. Event ids 9000–9099 belong to Talos.Recovery.Testing.Etcd.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 9000, Level = LogLevel.Information, Message = "Started etcd member {Name} (pid {ProcessId}) on {ClientUrl}, peer {PeerUrl}")]
    internal static partial void StartedMember(ILogger logger, string name, int processId, Uri clientUrl, Uri peerUrl);

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "Stopping etcd member {Name} (pid {ProcessId})")]
    internal static partial void StoppingMember(ILogger logger, string name, int processId);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Debug, Message = "etcd member {Name} exited with code {ExitCode}")]
    internal static partial void MemberExited(ILogger logger, string name, int exitCode);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Warning, Message = "A port chosen for the etcd cluster was taken by another process (attempt {Attempt} of {Attempts}); retrying with new ports")]
    internal static partial void PortCollision(ILogger logger, int attempt, int attempts);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Information, Message = "etcd cluster of {MemberCount} member(s) healthy in {ElapsedMilliseconds} ms at {Endpoints}")]
    internal static partial void ClusterHealthy(ILogger logger, int memberCount, long elapsedMilliseconds, string endpoints);

    [LoggerMessage(EventId = 9005, Level = LogLevel.Information, Message = "Enabled authentication on the etcd cluster (user root)")]
    internal static partial void AuthEnabled(ILogger logger);

    [LoggerMessage(EventId = 9006, Level = LogLevel.Debug, Message = "Retrying a gateway request after a transient error: {Error}")]
    internal static partial void GatewayRetry(ILogger logger, string error);
}
