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

    [LoggerMessage(EventId = 5020, Level = LogLevel.Information, Message = "Scheduled backup written to {Directory} (revision {Revision}); {Removed} older sets removed; next at {NextAttemptAt:O}")]
    public static partial void ScheduledBackupWritten(ILogger logger, string directory, long revision, int removed, DateTimeOffset nextAttemptAt);

    [LoggerMessage(EventId = 5021, Level = LogLevel.Error, Message = "Scheduled backup failed: {Message}; older sets are kept")]
    public static partial void ScheduledBackupFailed(ILogger logger, string message, Exception exception);

    [LoggerMessage(EventId = 5022, Level = LogLevel.Information, Message = "Retention removed the backup set {Directory} taken at {CreatedAt:O}")]
    public static partial void ScheduledBackupRemoved(ILogger logger, string directory, DateTimeOffset createdAt);

    [LoggerMessage(EventId = 5023, Level = LogLevel.Warning, Message = "Retention could not remove the backup set {Directory}: {Message}")]
    public static partial void ScheduledBackupRemoveFailed(ILogger logger, string directory, string message);

    [LoggerMessage(EventId = 5024, Level = LogLevel.Warning, Message = "The backup set {Directory} failed verification and is skipped: {Message}")]
    public static partial void ScheduledBackupUnusable(ILogger logger, string directory, string message);
}
