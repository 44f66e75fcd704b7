using System.Buffers;
using Microsoft.Extensions.Logging;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// Receives an etcd snapshot stream into a file safely: the bytes go to <c>DESTINATION.part</c> (mode 0600 from the
/// first byte) through a bounded pipe that separates the network from the disk; SHA-256 and the meta-page checks run
/// while the bytes arrive; at the end the trailer, the length and the whole structure are checked (without a second
/// SHA-256 pass), the file and its directory are flushed to disk and the file is renamed over the destination.
/// A failed transfer leaves no <c>.part</c> file and never touches the destination.
/// </summary>
/// <remarks>
/// A writer holds only its options: it is cheap, thread-safe, and may run any number of transfers at once (to
/// different destinations). The methods are virtual so that callers can fake the writer in their tests.
/// </remarks>
/// <example>
/// <code>
/// var writer = new SnapshotWriter(new SnapshotWriterOptions { Overwrite = true });
/// SnapshotInfo info = await writer.WriteAsync("etcd.snapshot", etcdClient.SnapshotAsync(ct), progress, ct);
/// Console.WriteLine(info.Status); // hash 1a2b3c4d, revision 42, total keys 1234, total size 2097152
/// </code>
/// </example>
public class SnapshotWriter
{
    /// <summary>How many unflushed bytes the chunk pump gathers before it flushes the pipe.</summary>
    internal const int PumpFlushSize = 64 << 10;

    private readonly SnapshotWriterOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates a writer with default options.</summary>
    public SnapshotWriter()
        : this(new SnapshotWriterOptions())
    {
    }

    /// <summary>Creates a writer with the given options (copied; later changes to them have no effect).</summary>
    /// <exception cref="ArgumentException">The options contradict each other (for example a write size above the pause threshold).</exception>
    public SnapshotWriter(SnapshotWriterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options.Clone();
        _logger = _options.LoggerFactory.CreateLogger<SnapshotWriter>();
    }

    /// <summary>
    /// Writes a snapshot from a stream of chunks (for example etcd's <c>Maintenance.Snapshot</c> blobs or Talos's
    /// <c>EtcdSnapshot</c> data messages) to <paramref name="destinationPath"/>. Each chunk is copied into the pipe
    /// before the next is requested, so the source may reuse its buffers.
    /// </summary>
    /// <param name="destinationPath">The snapshot file to create (or replace, with <see cref="SnapshotWriterOptions.Overwrite"/>).</param>
    /// <param name="chunks">The bytes of the snapshot, in order. It is enumerated with a token that is cancelled when the transfer fails or is cancelled.</param>
    /// <param name="progress">Receives throttled progress reports and one at the end; called on a thread-pool thread.</param>
    /// <param name="cancellationToken">Cancels the transfer.</param>
    /// <returns>The verified snapshot, in place.</returns>
    /// <exception cref="SnapshotTransferException">The transfer failed (see <see cref="SnapshotTransferException.Reason"/>); no <c>.part</c> file is left and the destination is untouched.</exception>
    /// <exception cref="OperationCanceledException">The transfer was cancelled through <paramref name="cancellationToken"/>; when it had started, the inner exception is a <see cref="SnapshotTransferException"/> with <see cref="SnapshotTransferFailure.Cancelled"/> and the bytes received.</exception>
    public virtual async Task<SnapshotInfo> WriteAsync(string destinationPath, IAsyncEnumerable<ReadOnlyMemory<byte>> chunks, IProgress<SnapshotProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(destinationPath);
        ArgumentNullException.ThrowIfNull(chunks);
        cancellationToken.ThrowIfCancellationRequested();
        var transfer = SnapshotWriterTransfer.Start(destinationPath, _options, _logger, progress);
        await using (transfer.ConfigureAwait(false))
        {
            using var registration = cancellationToken.UnsafeRegister(static (state, token) => ((SnapshotWriterTransfer)state!).Cancel(token, "cancellation requested"), transfer);
            var pump = PumpAsync(chunks, transfer);

            // A source that ignores cancellation must not hold up a transfer that has already failed (stalled,
            // invalid content): the pump is then left to finish on its own.
            if (await Task.WhenAny(pump, transfer.Completion).ConfigureAwait(false) == pump)
            {
                return await transfer.CompleteAsync(CancellationToken.None).ConfigureAwait(false);
            }

            return await transfer.Completion.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Starts a transfer that the caller feeds through a <see cref="System.IO.Pipelines.PipeWriter"/>: checks the
    /// destination and creates the <c>.part</c> file. See <see cref="SnapshotWriteSession"/>.
    /// </summary>
    /// <param name="destinationPath">The snapshot file to create (or replace, with <see cref="SnapshotWriterOptions.Overwrite"/>).</param>
    /// <param name="progress">Receives throttled progress reports and one at the end; called on a thread-pool thread.</param>
    /// <param name="cancellationToken">Cancels the start only; cancel the transfer through <see cref="SnapshotWriteSession.CompleteAsync"/> or by disposing the session.</param>
    /// <returns>The session; dispose it.</returns>
    /// <exception cref="SnapshotTransferException">The destination exists (without overwrite), is busy, or the <c>.part</c> file cannot be created; nothing was written.</exception>
    public virtual Task<SnapshotWriteSession> CreateAsync(string destinationPath, IProgress<SnapshotProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(destinationPath);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<SnapshotWriteSession>(cancellationToken);
        }

        try
        {
            return Task.FromResult(new SnapshotWriteSession(SnapshotWriterTransfer.Start(destinationPath, _options, _logger, progress)));
        }
        catch (SnapshotTransferException ex)
        {
            return Task.FromException<SnapshotWriteSession>(ex);
        }
    }

    private static async Task PumpAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> chunks, SnapshotWriterTransfer transfer)
    {
        var writer = transfer.Writer;
        Exception? error = null;
        try
        {
            await foreach (var chunk in chunks.WithCancellation(transfer.Aborted).ConfigureAwait(false))
            {
                writer.Write(chunk.Span);
                if (writer.UnflushedBytes >= PumpFlushSize)
                {
                    var flushed = await writer.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                    if (flushed.IsCompleted)
                    {
                        break;
                    }
                }
            }
        }
        catch (Exception ex)
        {
            // Ends the pipe with the source's exception: the disk side turns it into SourceFailed (or Cancelled),
            // unless the transfer had already failed for another reason, which then wins.
            error = ex;
        }

        try
        {
            await writer.CompleteAsync(error).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SnapshotTransferException or OperationCanceledException or InvalidOperationException)
        {
            // The transfer has failed already; its completion carries the reason.
        }
    }
}
