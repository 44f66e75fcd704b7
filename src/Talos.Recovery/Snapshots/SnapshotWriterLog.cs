using Microsoft.Extensions.Logging;

namespace Talos.Recovery.Snapshots;

/// <summary>The writer's log messages. Event ids are stable; the writer never logs per chunk.</summary>
internal static partial class SnapshotWriterLog
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Debug, Message = "Receiving a snapshot for {Destination} into {PartPath} (expected length {ExpectedLength})")]
    public static partial void Started(ILogger logger, string destination, string partPath, long? expectedLength);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Snapshot saved at {Destination}: {Length} bytes in {ElapsedMilliseconds} ms ({MegabytesPerSecond:F1} MB/s), sha256 {Sha256}, {Status}")]
    public static partial void Saved(ILogger logger, string destination, long length, long elapsedMilliseconds, double megabytesPerSecond, string sha256, SnapshotStatus status);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Snapshot transfer to {Destination} failed after {BytesReceived} bytes: {Reason}: {Detail}")]
    public static partial void Failed(ILogger logger, string destination, long bytesReceived, SnapshotTransferFailure reason, string detail, Exception? exception);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "Snapshot transfer to {Destination} cancelled after {BytesReceived} bytes")]
    public static partial void Cancelled(ILogger logger, string destination, long bytesReceived);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "Kept the invalid snapshot for forensics at {InvalidPath}")]
    public static partial void KeptInvalid(ILogger logger, string invalidPath);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Information, Message = "Removed {PartPath}, left behind by an earlier transfer that did not finish")]
    public static partial void RemovedStalePart(ILogger logger, string partPath);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Warning, Message = "Could not clean up {Path} after a failed transfer")]
    public static partial void CleanupFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Warning, Message = "Snapshot moved to {Destination}, but fsync of its directory failed; the rename may not survive a crash")]
    public static partial void DirectoryFlushFailed(ILogger logger, string destination, Exception exception);

    [LoggerMessage(EventId = 3108, Level = LogLevel.Warning, Message = "A callback registered on the Aborted token of the transfer to {Destination} threw")]
    public static partial void AbortCallbackFailed(ILogger logger, string destination, Exception exception);

    [LoggerMessage(EventId = 3109, Level = LogLevel.Error, Message = "Snapshot transfer to {Destination} failed unexpectedly after {BytesReceived} bytes")]
    public static partial void FailedUnexpectedly(ILogger logger, string destination, long bytesReceived, Exception exception);

    [LoggerMessage(EventId = 3110, Level = LogLevel.Error, Message = "Summarizing the pages of the snapshot for {Destination} failed (an internal error); the final check reads every page instead")]
    public static partial void ScanFailed(ILogger logger, string destination, Exception exception);
}
