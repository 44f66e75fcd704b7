using Microsoft.Extensions.Logging;

namespace Talos.Recovery.Snapshots;

/// <summary>The reader's log messages. Event ids are stable; the reader never logs per chunk.</summary>
internal static partial class SnapshotReaderLog
{
    [LoggerMessage(EventId = 3200, Level = LogLevel.Debug, Message = "Verifying {Path} before sending it")]
    public static partial void Verifying(ILogger logger, string path);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Refusing to send {Path}: {Detail}")]
    public static partial void Refused(ILogger logger, string path, string detail);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Debug, Message = "Sending {Path}: {Length} bytes in chunks of {ChunkSize}")]
    public static partial void Sending(ILogger logger, string path, long length, int chunkSize);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Information, Message = "Sent {Path}: {Length} bytes in {ElapsedMilliseconds} ms")]
    public static partial void Sent(ILogger logger, string path, long length, long elapsedMilliseconds);
}
