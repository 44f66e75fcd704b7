using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// Reads a snapshot file as a stream of chunks for an upload (for example Talos's <c>EtcdRecover</c> client stream),
/// optionally verifying the whole file first so that a damaged snapshot is never sent.
/// </summary>
/// <remarks>
/// A reader holds only its options: it is cheap and thread-safe. The method is virtual so that callers can fake it.
/// </remarks>
/// <example>
/// <code>
/// var reader = new SnapshotReader();
/// await foreach (ReadOnlyMemory&lt;byte&gt; chunk in reader.ReadChunksAsync("etcd.snapshot", cancellationToken: ct))
/// {
///     await call.RequestStream.WriteAsync(new Common.Data { Bytes = ByteString.CopyFrom(chunk.Span) }, ct);
/// }
/// </code>
/// </example>
public class SnapshotReader
{
    /// <summary>How much is read from the file at once; chunks are slices of that read.</summary>
    private const int ReadSize = 1 << 20;

    private readonly SnapshotReaderOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates a reader with default options (4 KiB chunks, verify before sending).</summary>
    public SnapshotReader()
        : this(new SnapshotReaderOptions())
    {
    }

    /// <summary>Creates a reader with the given options (copied; later changes to them have no effect).</summary>
    public SnapshotReader(SnapshotReaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Clone();
        _logger = _options.LoggerFactory.CreateLogger<SnapshotReader>();
    }

    /// <summary>
    /// Reads <paramref name="path"/> as chunks of <see cref="SnapshotReaderOptions.ChunkSize"/> bytes (the last may be
    /// shorter). With <see cref="SnapshotReaderOptions.VerifyBeforeSending"/> the whole file is verified when the
    /// enumeration starts, before the first chunk.
    /// </summary>
    /// <remarks>
    /// <para>
    /// <b>Buffer lifetime:</b> the chunks are slices of a pooled buffer. A chunk is valid only until the next call to
    /// <c>MoveNextAsync</c> (or <c>DisposeAsync</c>) on the enumerator; copy it (or finish sending it) before asking for
    /// the next one. Nothing is allocated per chunk.
    /// </para>
    /// <para>The file is read sequentially (<see cref="FileOptions.SequentialScan"/>), 1 MiB at a time.</para>
    /// </remarks>
    /// <param name="path">The snapshot file.</param>
    /// <param name="progress">Receives throttled progress reports (bytes handed out) and one at the end.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <exception cref="SnapshotIntegrityException">Verification found the file damaged (or without trailer, unless <see cref="SnapshotReaderOptions.SkipHashCheck"/>); no chunk was handed out.</exception>
    /// <exception cref="SnapshotFormatException">The file is missing, unreadable, not a bbolt database, or changed size while it was read.</exception>
    public virtual IAsyncEnumerable<ReadOnlyMemory<byte>> ReadChunksAsync(string path, IProgress<SnapshotProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return ReadChunksCoreAsync(Path.GetFullPath(path), progress, cancellationToken);
    }

    private async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadChunksCoreAsync(string path, IProgress<SnapshotProgress>? progress, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var time = _options.TimeProvider;
        var start = time.GetTimestamp();
        if (_options.VerifyBeforeSending)
        {
            await VerifyAsync(path, cancellationToken).ConfigureAwait(false);
        }

        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SnapshotFormatException($"open {path}: {ex.Message}", path, innerException: ex);
        }

        await using (file.ConfigureAwait(false))
        {
            var length = file.Length;
            var chunkSize = _options.ChunkSize;
            var throttle = new SnapshotProgressThrottle(progress, time, start, _options.ProgressInterval, length);
            SnapshotReaderLog.Sending(_logger, path, length, chunkSize);

            // A whole number of chunks per read, so that every chunk but the last is full.
            var readSize = chunkSize >= ReadSize ? chunkSize : ReadSize / chunkSize * chunkSize;
            var buffer = ArrayPool<byte>.Shared.Rent(readSize);
            try
            {
                long sent = 0;
                while (true)
                {
                    var filled = 0;
                    while (filled < readSize)
                    {
                        var read = await file.ReadAsync(buffer.AsMemory(filled, readSize - filled), cancellationToken).ConfigureAwait(false);
                        if (read == 0)
                        {
                            break;
                        }

                        filled += read;
                    }

                    if (filled == 0)
                    {
                        break;
                    }

                    for (var offset = 0; offset < filled; offset += chunkSize)
                    {
                        var count = Math.Min(chunkSize, filled - offset);
                        yield return buffer.AsMemory(offset, count);
                        sent += count;
                    }

                    throttle.Tick(sent);
                    if (filled < readSize)
                    {
                        break;
                    }
                }

                if (sent != length)
                {
                    throw new SnapshotFormatException(string.Create(CultureInfo.InvariantCulture, $"{path} changed while it was read: it was {length} bytes when opened, {sent} bytes were read"), path);
                }

                throttle.Final(sent);
                SnapshotReaderLog.Sent(_logger, path, sent, (long)time.GetElapsedTime(start).TotalMilliseconds);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private async Task VerifyAsync(string path, CancellationToken cancellationToken)
    {
        SnapshotReaderLog.Verifying(_logger, path);
        var options = new SnapshotVerifyOptions { SkipHashCheck = _options.SkipHashCheck };

        // Verification is CPU-bound over the whole file (through the page cache): keep it off the caller's thread.
        var result = await Task.Run(
            () =>
            {
                using var snapshot = SnapshotFile.Open(path);
                return snapshot.Verify(options, cancellationToken);
            },
            cancellationToken).ConfigureAwait(false);
        if (!result.IsValid)
        {
            var failure = SnapshotFile.IntegrityFailure(result);
            SnapshotReaderLog.Refused(_logger, path, failure.Message);
            throw failure;
        }
    }
}
