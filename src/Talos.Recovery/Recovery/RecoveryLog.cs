using Microsoft.Extensions.Logging;

namespace Talos.Recovery.Recovery;

internal static partial class RecoveryLog
{
    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "Assessed {NodeCount} control-plane nodes: {Verdict} ({Healthy} of {Members} members healthy, quorum {Quorum})")]
    public static partial void Assessed(ILogger logger, int nodeCount, ClusterVerdict verdict, int healthy, int members, int quorum);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Snapshot from {Node} failed: {Reason}")]
    public static partial void SnapshotAttemptFailed(ILogger logger, string node, string reason);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Backup set {Directory} written: {Method} from {Node}, {Length} bytes, revision {Revision}")]
    public static partial void BackupWritten(ILogger logger, string directory, BackupSnapshotMethod method, string node, long length, long revision);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "Machine configuration of {Node} not backed up: {Reason}")]
    public static partial void MachineConfigFailed(ILogger logger, string node, string reason);

    [LoggerMessage(EventId = 5010, Level = LogLevel.Information, Message = "Step {Number}/{Count} {Kind} {Node}: {Stage} {Message}")]
    public static partial void Step(ILogger logger, int number, int count, RecoveryStepKind kind, string? node, RecoveryProgressStage stage, string message);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Error, Message = "Step {Number} {Kind} failed on {Node}: {Message}")]
    public static partial void StepFailed(ILogger logger, int number, RecoveryStepKind kind, string? node, string message);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Information, Message = "Recovery plan finished in {ElapsedMilliseconds} ms; restored revision {Revision}")]
    public static partial void Finished(ILogger logger, long elapsedMilliseconds, long? revision);
}
