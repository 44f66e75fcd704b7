using Microsoft.Extensions.Logging;

namespace Talos.Recovery.Testing.Simulator;

/// <summary>The simulator's log messages. Event ids 9300–9399 belong to Talos.Recovery.Testing.Simulator.</summary>
internal static partial class SimulatorLog
{
    [LoggerMessage(EventId = 9300, Level = LogLevel.Information, Message = "Talos simulator of {NodeCount} node(s) started in {ElapsedMilliseconds} ms in {Directory}")]
    internal static partial void Started(ILogger logger, int nodeCount, long elapsedMilliseconds, string directory);

    [LoggerMessage(EventId = 9301, Level = LogLevel.Information, Message = "Node {Node}: etcd {State}: {Message}")]
    internal static partial void EtcdState(ILogger logger, string node, string state, string message);

    [LoggerMessage(EventId = 9302, Level = LogLevel.Debug, Message = "Node {Node}: etcd join attempt failed: {Error}")]
    internal static partial void JoinFailed(ILogger logger, string node, string error);

    [LoggerMessage(EventId = 9303, Level = LogLevel.Information, Message = "Node {Node}: {Action}")]
    internal static partial void NodeAction(ILogger logger, string node, string action);

    [LoggerMessage(EventId = 9304, Level = LogLevel.Warning, Message = "Node {Node}: background task failed")]
    internal static partial void BackgroundFailed(ILogger logger, string node, Exception exception);
}
