using System.IO.Pipelines;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// A snapshot transfer the caller feeds through a <see cref="PipeWriter"/> (see
/// <see cref="SnapshotWriter.CreateAsync"/>): write the bytes to <see cref="Writer"/> (its <c>FlushAsync</c> applies
/// back-pressure and throws the transfer's failure, if any), then call <see cref="CompleteAsync"/>. Disposing a
/// session that was not completed aborts it: the <c>.part</c> file is removed and the destination is untouched.
/// </summary>
/// <example>
/// <code>
/// await using var session = await writer.CreateAsync("etcd.snapshot", progress, ct);
/// using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, session.Aborted);
/// await foreach (var message in call.ResponseStream.ReadAllAsync(linked.Token))
/// {
///     session.Writer.Write(message.Blob.Span);
///     await session.Writer.FlushAsync(linked.Token);
/// }
/// SnapshotInfo info = await session.CompleteAsync(ct);
/// </code>
/// </example>
public sealed class SnapshotWriteSession : IAsyncDisposable
{
    private readonly SnapshotWriterTransfer _transfer;

    internal SnapshotWriteSession(SnapshotWriterTransfer transfer) => _transfer = transfer;

    /// <summary>The full path the snapshot will have once verified.</summary>
    public string DestinationPath => _transfer.DestinationPath;

    /// <summary>The file the bytes go to until then (<c>DESTINATION.part</c>, mode 0600).</summary>
    public string PartPath => _transfer.PartPath;

    /// <summary>
    /// Where the bytes go. Write, advance and flush as with any <see cref="PipeWriter"/>; <c>FlushAsync</c> waits while
    /// too many bytes wait for the disk (<see cref="SnapshotWriterOptions.PauseWriterThreshold"/>) and throws the
    /// transfer's <see cref="SnapshotTransferException"/> once it has failed (for example on garbage instead of a meta
    /// page). To report that the source failed, call <c>Complete(exception)</c>: the transfer then fails with
    /// <see cref="SnapshotTransferFailure.SourceFailed"/> (or, for an <see cref="OperationCanceledException"/>,
    /// <see cref="SnapshotTransferFailure.Cancelled"/>). Use it from one thread at a time.
    /// </summary>
    public PipeWriter Writer => _transfer.Writer;

    /// <summary>
    /// Cancelled when the transfer fails on its own (stalled, invalid content, disk full) or is cancelled: link it
    /// into the source's read so that a failed transfer also stops the download.
    /// </summary>
    public CancellationToken Aborted => _transfer.Aborted;

    /// <summary>Bytes written to <see cref="Writer"/> so far.</summary>
    public long BytesReceived => _transfer.BytesReceived;

    /// <summary>
    /// Marks the end of the stream (completes <see cref="Writer"/> if the caller has not), then waits while the length,
    /// the trailer and the structure are checked, the file is flushed to disk and renamed over the destination.
    /// </summary>
    /// <param name="cancellationToken">Cancels the transfer: the <c>.part</c> file is removed.</param>
    /// <returns>The verified snapshot, in place.</returns>
    /// <exception cref="SnapshotTransferException">The transfer failed; see <see cref="SnapshotTransferException.Reason"/>.</exception>
    /// <exception cref="OperationCanceledException">The transfer was cancelled; the inner exception is a <see cref="SnapshotTransferException"/> with the bytes received.</exception>
    public Task<SnapshotInfo> CompleteAsync(CancellationToken cancellationToken = default) => _transfer.CompleteAsync(cancellationToken);

    /// <summary>Aborts the transfer unless it completed, and waits until the <c>.part</c> file is gone.</summary>
    public ValueTask DisposeAsync() => _transfer.DisposeAsync();
}
