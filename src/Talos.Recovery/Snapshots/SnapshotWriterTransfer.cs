using System.Globalization;
using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Talos.Recovery.Bolt;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// One transfer: a <see cref="Pipe"/> between the source (network) and the disk. The source writes into the pipe
/// through <see cref="Writer"/>; the disk side waits for at least <see cref="SnapshotWriterOptions.WriteSize"/>
/// bytes, starts one gathered write of everything buffered (pwritev of the pipe's segments, no copy), hashes the
/// same bytes while the write runs, and checks the meta pages as they pass. At the end: length and trailer checks,
/// fsync in parallel with the full structural check, then the rename and an fsync of the directory.
/// </summary>
internal sealed class SnapshotWriterTransfer : IAsyncDisposable
{
    private const int Running = 0;
    private const int Committing = 1;
    private const int Failed = 2;

    /// <summary>How often (in bytes written) the device is asked to start writing back, so that fsync at the end is short.</summary>
    private const long WritebackInterval = 8 << 20;

    private readonly SnapshotWriterOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Pipe _pipe;
    private readonly SnapshotWriterPipeWriter _writer;
    private readonly FileStream _file;
    private readonly SafeFileHandle _handle;
    private readonly CancellationTokenSource _abort = new();
    private readonly SnapshotWriterHasher _hasher = new();
    private readonly SnapshotWriterStreamCheck _check;
    private readonly SnapshotStreamScanner? _scanner;
    private readonly List<ReadOnlyMemory<byte>> _segments = new(16);
    private readonly Lock _gate = new();
    private readonly long _start;
    private readonly bool _keepInvalid;
    private readonly ITimer? _watchdog;
    private readonly Task<SnapshotInfo> _completion;
    private SnapshotProgressThrottle _progress;
    private SnapshotTransferException? _failure;
    private CancellationToken _cancellationToken;
    private int _state;
    private long _written;
    private long _writebackStart;
    private bool _writebackUnsupported;
    private long _lastSeenBytes;
    private long _lastActivity;

    private SnapshotWriterTransfer(string destination, string partPath, string invalidPath, FileStream file, SnapshotWriterOptions options, ILogger logger, IProgress<SnapshotProgress>? progress, long start)
    {
        DestinationPath = destination;
        PartPath = partPath;
        InvalidPath = invalidPath;
        _file = file;
        _handle = file.SafeFileHandle;
        _options = options;
        _logger = logger;
        _time = options.TimeProvider;
        _start = start;
        _keepInvalid = options.KeepInvalid || options.KeepInvalidAs is not null;
        _check = new SnapshotWriterStreamCheck(!options.SkipHashCheck, options.ExpectedLength, destination);

        // Leaf summaries for the final check; only for snapshot streams (a raw copy's pages may not match its metas).
        _scanner = options.SkipHashCheck ? null : new SnapshotStreamScanner(recordOps: options.CountLiveKeys);
        _progress = new SnapshotProgressThrottle(progress, _time, start, options.ProgressInterval, options.ExpectedLength);
        _pipe = new Pipe(new PipeOptions(
            pool: null,
            readerScheduler: PipeScheduler.ThreadPool,
            writerScheduler: PipeScheduler.ThreadPool,
            pauseWriterThreshold: options.PauseWriterThreshold,
            resumeWriterThreshold: options.ResumeWriterThreshold,
            minimumSegmentSize: Math.Min(options.WriteSize, 1 << 20),
            useSynchronizationContext: false));
        _writer = new SnapshotWriterPipeWriter(_pipe.Writer);
        _lastActivity = start;
        if (options.InactivityTimeout != Timeout.InfiniteTimeSpan)
        {
            var period = TimeSpan.FromTicks(Math.Clamp(options.InactivityTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond, TimeSpan.TicksPerSecond));
            _watchdog = _time.CreateTimer(static state => ((SnapshotWriterTransfer)state!).CheckActivity(), this, period, period);
        }

        _completion = RunAsync();
    }

    public string DestinationPath { get; }

    public string PartPath { get; }

    public string InvalidPath { get; }

    public PipeWriter Writer => _writer;

    public CancellationToken Aborted => _abort.Token;

    public long BytesReceived => _writer.BytesReceived;

    /// <summary>Completes when the file is in place (or the transfer failed and was cleaned up).</summary>
    public Task<SnapshotInfo> Completion => _completion;

    /// <summary>
    /// Checks the destination and creates <c>DESTINATION.part</c> (0600); throws
    /// <see cref="SnapshotTransferException"/> (nothing written) when that is not possible.
    /// </summary>
    public static SnapshotWriterTransfer Start(string destinationPath, SnapshotWriterOptions options, ILogger logger, IProgress<SnapshotProgress>? progress)
    {
        var start = options.TimeProvider.GetTimestamp();
        var destination = Path.GetFullPath(destinationPath);
        var partPath = destination + ".part";
        var invalidPath = options.KeepInvalidAs is { } keepAs ? Path.GetFullPath(keepAs) : destination + ".invalid";
        if (SamePath(invalidPath, destination) || SamePath(invalidPath, partPath))
        {
            throw new ArgumentException($"{nameof(SnapshotWriterOptions.KeepInvalidAs)} must not be the destination or its .part file: {invalidPath}", nameof(options));
        }

        if (Directory.Exists(destination))
        {
            throw PreflightFailure(SnapshotTransferFailure.DestinationExists, destination, $"{destination} is a directory");
        }

        if (!options.Overwrite && (File.Exists(destination) || new FileInfo(destination).LinkTarget is not null))
        {
            throw PreflightFailure(SnapshotTransferFailure.DestinationExists, destination, $"{destination} already exists (set {nameof(SnapshotWriterOptions.Overwrite)} to replace it with a verified snapshot)");
        }

        var file = CreatePartFile(destination, partPath, options.ExpectedLength ?? 0, logger);
        try
        {
            SnapshotWriterLog.Started(logger, destination, partPath, options.ExpectedLength);
            return new SnapshotWriterTransfer(destination, partPath, invalidPath, file, options, logger, progress, start);
        }
        catch
        {
            file.Dispose();
            File.Delete(partPath);
            throw;
        }
    }

    /// <summary>Cancels the transfer on behalf of the caller (a no-op once it has succeeded or failed).</summary>
    public void Cancel(CancellationToken cancellationToken, string why)
    {
        var received = BytesReceived;
        TryFail(new SnapshotTransferException(F($"the snapshot transfer to {DestinationPath} was cancelled after {received} bytes ({why})"), SnapshotTransferFailure.Cancelled, received) { DestinationPath = DestinationPath }, cancellationToken);
    }

    /// <summary>Ends the source's side (all bytes written) and waits for the snapshot to be in place.</summary>
    public async Task<SnapshotInfo> CompleteAsync(CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.UnsafeRegister(static (state, token) => ((SnapshotWriterTransfer)state!).Cancel(token, "cancellation requested"), this);
        if (!_writer.IsCompleted)
        {
            await _writer.CompleteAsync().ConfigureAwait(false);
        }

        return await _completion.ConfigureAwait(false);
    }

    /// <summary>Aborts an unfinished transfer (the .part file is removed) and releases everything.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_completion.IsCompleted)
        {
            Cancel(CancellationToken.None, "the session was disposed before it completed");
            if (!_writer.IsCompleted)
            {
                _writer.Complete();
            }
        }

        try
        {
            await _completion.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SnapshotTransferException or OperationCanceledException)
        {
            // Already reported to whoever awaited the completion; disposal only cleans up.
        }

        if (_watchdog is not null)
        {
            await _watchdog.DisposeAsync().ConfigureAwait(false);
        }

        // _abort is not disposed: it holds no timer, and a late cancellation callback (the caller's token) may
        // still touch it; callers may also still hold registrations on Aborted.
    }

    private static FileStream CreatePartFile(string destination, string partPath, long preallocation, ILogger logger)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return SnapshotWriterFileSystem.CreatePrivate(partPath, preallocation);
            }
            catch (IOException ex) when (attempt == 0 && SnapshotWriterFileSystem.IsAlreadyExists(ex))
            {
                // A .part file is there: either a transfer in progress (it holds a lock) or the leftover of one that
                // crashed. Never write through it (it could be a planted link): remove it and create a fresh one.
                if (SnapshotWriterFileSystem.IsInUse(partPath))
                {
                    throw PreflightFailure(SnapshotTransferFailure.DestinationBusy, destination, $"another transfer to {destination} is in progress ({partPath} is locked)", ex);
                }

                try
                {
                    File.Delete(partPath);
                }
                catch (Exception deleteError) when (deleteError is IOException or UnauthorizedAccessException)
                {
                    throw PreflightFailure(SnapshotTransferFailure.IOError, destination, $"cannot remove the leftover {partPath}: {deleteError.Message}", deleteError);
                }

                SnapshotWriterLog.RemovedStalePart(logger, partPath);
            }
            catch (IOException ex) when (SnapshotWriterFileSystem.IsAlreadyExists(ex))
            {
                throw PreflightFailure(SnapshotTransferFailure.DestinationBusy, destination, $"another transfer to {destination} started at the same time ({partPath} exists)", ex);
            }
            catch (IOException ex) when (SnapshotWriterFileSystem.IsDiskFull(ex) || (preallocation > 0 && SnapshotWriterFileSystem.IsPreallocationFailure(ex)))
            {
                throw PreflightFailure(SnapshotTransferFailure.DiskFull, destination, $"no room for {preallocation} bytes at {partPath}: {ex.Message}", ex);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw PreflightFailure(SnapshotTransferFailure.IOError, destination, $"cannot create {partPath}: {ex.Message}", ex);
            }
        }
    }

    private async Task<SnapshotInfo> RunAsync()
    {
        try
        {
            await ReceiveAsync().ConfigureAwait(false);
            return await FinishAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            SnapshotTransferException? failure;
            lock (_gate)
            {
                _failure ??= Classify(ex);
                _state = Failed;
                failure = _failure;
            }

            Exception thrown = failure is null ? ex
                : failure.Reason == SnapshotTransferFailure.Cancelled ? new OperationCanceledException(failure.Message, failure, _cancellationToken)
                : failure;

            // Stop the source: its pending or next FlushAsync throws what the caller sees here.
            try
            {
                await _abort.CancelAsync().ConfigureAwait(false);
            }
            catch (AggregateException callbackError)
            {
                SnapshotWriterLog.AbortCallbackFailed(_logger, DestinationPath, callbackError);
            }

            await _pipe.Reader.CompleteAsync(thrown).ConfigureAwait(false);
            await CleanUpAsync(failure).ConfigureAwait(false);
            LogFailure(failure, ex);
            if (thrown == ex)
            {
                ExceptionDispatchInfo.Throw(ex);
            }

            throw thrown;
        }
        finally
        {
            _hasher.Dispose();
            _scanner?.Dispose();
        }
    }

    private async Task ReceiveAsync()
    {
        var reader = _pipe.Reader;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await reader.ReadAtLeastAsync(_options.WriteSize, _abort.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_abort.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                // The source completed the pipe with this exception.
                throw SourceFailure(ex);
            }

            var buffer = result.Buffer;
            if (!buffer.IsEmpty)
            {
                await WriteBatchAsync(buffer).ConfigureAwait(false);
            }

            reader.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    private async ValueTask WriteBatchAsync(System.Buffers.ReadOnlySequence<byte> buffer)
    {
        var offset = _written;
        _segments.Clear();
        foreach (var segment in buffer)
        {
            _segments.Add(segment);
        }

        if (_options.TestHooks?.BeforeDiskWrite is { } hook)
        {
            await hook(offset, buffer.Length).ConfigureAwait(false);
        }

        // The write runs on the thread pool while this thread hashes the same bytes, and (once the meta pages told
        // the geometry) a third task summarizes the leaf pages for the final check.
        var write = SnapshotWriterFileSystem.WriteAsync(_handle, _segments, offset, _abort.Token);
        var scan = _scanner?.Summaries is not null ? Task.Run(() => Scan(buffer, offset)) : null;
        try
        {
            _hasher.Append(buffer);
        }
        finally
        {
            try
            {
                await write.ConfigureAwait(false);
            }
            finally
            {
                if (scan is not null)
                {
                    await scan.ConfigureAwait(false);
                }
            }
        }

        _written = offset + buffer.Length;
        _options.TestHooks?.AfterDiskWrite?.Invoke(offset, buffer.Length);
        if (!_writebackUnsupported && _written - _writebackStart >= WritebackInterval)
        {
            _writebackUnsupported = !SnapshotWriterFileSystem.StartWriteback(_handle, _writebackStart, _written - _writebackStart);
            _writebackStart = _written;
        }

        _check.Observe(buffer, offset);
        if (scan is null && _scanner is not null && _check.DatabaseLength is { } database)
        {
            // The batch that brought the meta pages (or the first one after them) is summarized here.
            _scanner.Start(_check.PageSize, database);
            Scan(buffer, offset);
        }

        _progress.Tick(_written);
    }

    /// <summary>Feeds the scanner; a failure there only costs the summaries (the final check then reads every page).</summary>
    private void Scan(System.Buffers.ReadOnlySequence<byte> buffer, long offset)
    {
        try
        {
            _scanner!.Observe(buffer, offset);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _scanner!.Abandon();
            SnapshotWriterLog.ScanFailed(_logger, DestinationPath, ex);
        }
    }

    private async Task<SnapshotInfo> FinishAsync()
    {
        var length = _written;
        _progress.Final(length);
        if (_check.AtEnd(length) is { } early)
        {
            throw early;
        }

        var hasTrailer = SnapshotFile.HasTrailerByLength(length);
        var digest = _hasher.Finish(includeTail: !hasTrailer);
        if (hasTrailer && !_options.SkipHashCheck && !_hasher.Tail.SequenceEqual(digest))
        {
            var message = F($"SHA-256 trailer mismatch: the stream ends in {Convert.ToHexStringLower(_hasher.Tail)} but its first {length - SnapshotFile.TrailerLength} bytes hash to {Convert.ToHexStringLower(digest)}");
            throw new SnapshotTransferException(message, SnapshotTransferFailure.TrailerMismatch, length)
            {
                DestinationPath = DestinationPath,
                Problems = [new BoltProblem(BoltProblemCode.TrailerMismatch, BoltProblemSeverity.Error, null, length - SnapshotFile.TrailerLength, message)],
            };
        }

        if (RandomAccess.GetLength(_handle) != length)
        {
            RandomAccess.SetLength(_handle, length);
        }

        // fsync and the structural check (through the page cache) are independent: run them at the same time.
        var flush = Task.Run(() => RandomAccess.FlushToDisk(_handle));
        SnapshotFile? snapshot = null;
        SnapshotVerification? verification = null;
        Exception? error = null;
        try
        {
            snapshot = SnapshotFile.Open(PartPath);
            verification = snapshot.VerifyWithKnownDigest(digest, new SnapshotVerifyOptions { SkipHashCheck = _options.SkipHashCheck, CountLiveKeys = _options.CountLiveKeys }, _abort.Token, _scanner?.Summaries);
        }
        catch (Exception ex)
        {
            error = ex;
        }

        try
        {
            await flush.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            error ??= ex;
        }

        using (snapshot)
        {
            if (error is SnapshotFormatException format)
            {
                throw new SnapshotTransferException($"the received bytes are not an etcd snapshot: {format.Message}", SnapshotTransferFailure.InvalidSnapshot, length, format)
                {
                    DestinationPath = DestinationPath,
                    Problems = format.Code is { } code ? [new BoltProblem(code, BoltProblemSeverity.Error, format.PageId, format.Offset, format.Message)] : [],
                };
            }

            if (error is not null)
            {
                ExceptionDispatchInfo.Throw(error);
            }

            if (!verification!.IsValid)
            {
                throw InvalidContent(verification, length);
            }

            lock (_gate)
            {
                if (_state != Running)
                {
                    throw _failure!;
                }

                _state = Committing;
            }

            _options.TestHooks?.BeforeRename?.Invoke();
            try
            {
                // overwrite: false is a no-replace move (link + unlink on Unix): a file that appeared at the
                // destination during the transfer is not replaced either.
                File.Move(PartPath, DestinationPath, overwrite: _options.Overwrite);
            }
            catch (IOException ex) when (SnapshotWriterFileSystem.IsAlreadyExists(ex))
            {
                throw new SnapshotTransferException(F($"{DestinationPath} appeared during the transfer and {nameof(SnapshotWriterOptions.Overwrite)} is false; it was left untouched"), SnapshotTransferFailure.DestinationExists, length, ex) { DestinationPath = DestinationPath };
            }
        }

        await _file.DisposeAsync().ConfigureAwait(false);
        try
        {
            SnapshotWriterFileSystem.FlushDirectory(Path.GetDirectoryName(DestinationPath)!);
        }
        catch (IOException ex)
        {
            SnapshotWriterLog.DirectoryFlushFailed(_logger, DestinationPath, ex);
        }

        if (_watchdog is not null)
        {
            await _watchdog.DisposeAsync().ConfigureAwait(false);
        }

        var duration = _time.GetElapsedTime(_start);
        var warnings = verification.Problems.Where(p => p.Severity == BoltProblemSeverity.Warning).ToList();
        var info = new SnapshotInfo(DestinationPath, length, digest, verification.Trailer, verification.Status!, duration, warnings);
        SnapshotWriterLog.Saved(_logger, DestinationPath, length, (long)duration.TotalMilliseconds, info.BytesPerSecond / 1e6, info.Sha256Hex, info.Status);
        return info;
    }

    private SnapshotTransferException InvalidContent(SnapshotVerification verification, long length)
    {
        var errors = verification.Problems.Where(p => p.Severity == BoltProblemSeverity.Error).ToList();
        var reason = errors.Any(p => p.Code == BoltProblemCode.TrailerMismatch) ? SnapshotTransferFailure.TrailerMismatch
            : errors.Any(p => p.Code == BoltProblemCode.TrailerMissing) ? SnapshotTransferFailure.MissingTrailer
            : errors.Any(p => p.Code == BoltProblemCode.FileTruncated) ? SnapshotTransferFailure.Truncated
            : SnapshotTransferFailure.InvalidSnapshot;
        var count = errors.Count + verification.ProblemsNotRecorded;
        var first = errors.Count > 0 ? ": " + errors[0].Message : string.Empty;
        return new SnapshotTransferException(F($"the received snapshot failed verification ({count} errors){first}"), reason, length)
        {
            DestinationPath = DestinationPath,
            Verification = verification,
            Problems = verification.Problems,
        };
    }

    private SnapshotTransferException SourceFailure(Exception exception)
    {
        var received = BytesReceived;
        if (exception is OperationCanceledException canceled)
        {
            lock (_gate)
            {
                _cancellationToken = canceled.CancellationToken;
            }

            return new SnapshotTransferException(F($"the source cancelled the snapshot transfer to {DestinationPath} after {received} bytes"), SnapshotTransferFailure.Cancelled, received, exception) { DestinationPath = DestinationPath };
        }

        return new SnapshotTransferException(F($"the snapshot source failed after {received} bytes: {exception.Message}"), SnapshotTransferFailure.SourceFailed, received, exception) { DestinationPath = DestinationPath };
    }

    private SnapshotTransferException? Classify(Exception exception)
    {
        var received = BytesReceived;
        return exception switch
        {
            SnapshotTransferException transfer => transfer,
            OperationCanceledException => new SnapshotTransferException(F($"the snapshot transfer to {DestinationPath} was cancelled after {received} bytes"), SnapshotTransferFailure.Cancelled, received, exception) { DestinationPath = DestinationPath },
            IOException when SnapshotWriterFileSystem.IsDiskFull(exception) => new SnapshotTransferException(F($"the disk is full: {exception.Message} (after {received} bytes of the snapshot)"), SnapshotTransferFailure.DiskFull, received, exception) { DestinationPath = DestinationPath },
            IOException or UnauthorizedAccessException => new SnapshotTransferException(F($"writing {PartPath} failed after {received} bytes: {exception.Message}"), SnapshotTransferFailure.IOError, received, exception) { DestinationPath = DestinationPath },
            _ => null,
        };
    }

    private bool TryFail(SnapshotTransferException failure, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_state != Running)
            {
                return false;
            }

            _state = Failed;
            _failure = failure;
            _cancellationToken = cancellationToken;
        }

        // Wakes the disk side (pending read, write or verification) and the source (Aborted). This may run on a
        // timer thread: a throwing callback registered on Aborted must not take the process down.
        try
        {
            _abort.Cancel();
        }
        catch (AggregateException ex)
        {
            SnapshotWriterLog.AbortCallbackFailed(_logger, DestinationPath, ex);
        }

        return true;
    }

    private void CheckActivity()
    {
        if (_writer.IsCompleted || Volatile.Read(ref _state) != Running)
        {
            return;
        }

        var now = _time.GetTimestamp();
        var received = _writer.BytesReceived;
        if (received != Volatile.Read(ref _lastSeenBytes) || _writer.IsPaused)
        {
            Volatile.Write(ref _lastSeenBytes, received);
            Volatile.Write(ref _lastActivity, now);
            return;
        }

        var idle = _time.GetElapsedTime(Volatile.Read(ref _lastActivity), now);
        if (idle >= _options.InactivityTimeout)
        {
            TryFail(new SnapshotTransferException(F($"the snapshot source delivered no byte for {idle.TotalSeconds:F1} s (inactivity timeout {_options.InactivityTimeout.TotalSeconds:F1} s) after {received} bytes"), SnapshotTransferFailure.Stalled, received) { DestinationPath = DestinationPath });
        }
    }

    private async ValueTask CleanUpAsync(SnapshotTransferException? failure)
    {
        if (_watchdog is not null)
        {
            await _watchdog.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            await _file.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            SnapshotWriterLog.CleanupFailed(_logger, PartPath, ex);
        }

        if (_keepInvalid && failure is { IsContentFailure: true } && File.Exists(PartPath))
        {
            try
            {
                File.Move(PartPath, InvalidPath, overwrite: true);
                failure.InvalidSnapshotPath = InvalidPath;
                SnapshotWriterLog.KeptInvalid(_logger, InvalidPath);
                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                SnapshotWriterLog.CleanupFailed(_logger, InvalidPath, ex);
            }
        }

        try
        {
            File.Delete(PartPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SnapshotWriterLog.CleanupFailed(_logger, PartPath, ex);
        }
    }

    private void LogFailure(SnapshotTransferException? failure, Exception original)
    {
        if (failure is { Reason: SnapshotTransferFailure.Cancelled })
        {
            SnapshotWriterLog.Cancelled(_logger, DestinationPath, failure.BytesReceived);
        }
        else if (failure is not null)
        {
            SnapshotWriterLog.Failed(_logger, DestinationPath, failure.BytesReceived, failure.Reason, failure.Message, failure.InnerException);
        }
        else
        {
            SnapshotWriterLog.FailedUnexpectedly(_logger, DestinationPath, BytesReceived, original);
        }
    }

    private static SnapshotTransferException PreflightFailure(SnapshotTransferFailure reason, string destination, string message, Exception? inner = null)
        => new(message, reason, 0, inner) { DestinationPath = destination };

    private static bool SamePath(string a, string b) => string.Equals(a, b, OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
