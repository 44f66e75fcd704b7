using System.Buffers;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using Talos.Recovery.Api.Machine;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Client;

public partial class TalosClient
{
    /// <summary>Where Talos keeps etcd's live database.</summary>
    public const string EtcdDatabasePath = "/var/lib/etcd/member/snap/db";

    private const int UploadChunkSize = 4096;
    private const int FlushSize = 64 * 1024;

    /// <summary><c>EtcdSnapshot</c> from one node into <paramref name="destinationPath"/> through the <see cref="SnapshotWriter"/>:
    /// written as <c>.part</c> (0600), verified (trailer required), renamed atomically.</summary>
    /// <remarks>
    /// The data messages are parsed without allocation per message. The stream fails after
    /// <see cref="TalosClientOptions.StreamInactivityTimeout"/> without data (Talos itself never times out).
    /// When <paramref name="options"/> is <see langword="null"/>, the writer's own inactivity check is left to the client's.
    /// </remarks>
    /// <exception cref="TalosNodeException">The node refused (not a control plane, no permission), could not be reached, stalled or failed mid-stream; nothing is left at the destination.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    /// <exception cref="SnapshotTransferException">The bytes are not a complete, valid snapshot (for example a stream the node ended "successfully" but early: <see cref="SnapshotTransferFailure.MissingTrailer"/> or <see cref="SnapshotTransferFailure.Truncated"/>), the destination exists, or the disk failed; nothing is left at the destination.</exception>
    public virtual async Task<SnapshotInfo> EtcdSnapshotAsync(string destinationPath, string? node = null, SnapshotWriterOptions? options = null, IProgress<SnapshotProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(destinationPath);
        ThrowIfUnusable();
        var writer = new SnapshotWriter(CreateWriterOptions(options, skipHashCheck: false, expectedLength: null));
        SnapshotWriteSession session = await writer.CreateAsync(destinationPath, progress, cancellationToken).ConfigureAwait(false);
        await using (session.ConfigureAwait(false))
        {
            DataStream stream = await DataStream.OpenAsync(this, "EtcdSnapshot", new EtcdSnapshotRequest(), node, session.Aborted, cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                PipeWriter output = session.Writer;
                try
                {
                    if (stream.HasData)
                    {
                        // The first chunk was parsed into the chunk's buffer; from here on the parser copies each
                        // message's bytes straight from gRPC's receive buffer into the writer's pipe.
                        output.Write(stream.Current.Span);
                        stream.Sink = output;
                        do
                        {
                            if (output.UnflushedBytes >= FlushSize)
                            {
                                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                            }
                        }
                        while (await stream.MoveNextAsync().ConfigureAwait(false));
                    }
                }
                catch (OperationCanceledException) when (session.Aborted.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    // The writer failed on its own (stalled, invalid content, disk full): its error says why.
                    return await session.CompleteAsync(CancellationToken.None).ConfigureAwait(false);
                }

                stream.LogCompleted();
            }

            return await session.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Copies a node's live etcd database file (<c>/var/lib/etcd/member/snap/db</c>, via <c>Copy</c>'s gzip tar)
    /// into <paramref name="destinationPath"/> as a raw, trailer-less snapshot (0600, atomic, structurally checked).</summary>
    /// <remarks>
    /// The archive is unpacked as it arrives (gzip, then tar); only the bytes of its <c>db</c> entry reach the
    /// <see cref="SnapshotWriter"/>, which runs with <see cref="SnapshotWriterOptions.SkipHashCheck"/> (a raw copy has no
    /// SHA-256 trailer) and the entry's size as <see cref="SnapshotWriterOptions.ExpectedLength"/>. Restoring such a copy
    /// needs <c>recoverSkipHashCheck</c>. The copy is of a live file, so it may be torn; the structural check reports it.
    /// </remarks>
    /// <exception cref="TalosNodeException">The node refused (needs <c>os:admin</c>), has no such file, could not be reached, stalled, or sent an archive without a <c>db</c> file.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    /// <exception cref="SnapshotTransferException">The database is truncated or invalid, the destination exists, or the disk failed; nothing is left at the destination.</exception>
    public virtual async Task<SnapshotInfo> CopyEtcdDatabaseAsync(string destinationPath, string? node = null, SnapshotWriterOptions? options = null, IProgress<SnapshotProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(destinationPath);
        ThrowIfUnusable();
        const string Method = MachineService + "/Copy";
        return await WithArchiveAsync(node, EtcdDatabasePath, async (tar, connection, token) =>
        {
            TarEntry? entry;
            while ((entry = await tar.GetNextEntryAsync(copyData: false, token).ConfigureAwait(false)) is not null)
            {
                if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile && entry.Name.TrimStart('.', '/') == "db")
                {
                    break;
                }
            }

            if (entry is null)
            {
                throw CreateNodeException(Method, node, connection, StatusCode.DataLoss, $"the archive of {EtcdDatabasePath} holds no 'db' file", null);
            }

            var writer = new SnapshotWriter(CreateWriterOptions(options, skipHashCheck: true, expectedLength: entry.Length));
            SnapshotWriteSession session = await writer.CreateAsync(destinationPath, progress, token).ConfigureAwait(false);
            await using (session.ConfigureAwait(false))
            {
                if (entry.DataStream is { } data)
                {
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, session.Aborted);
                    try
                    {
                        await data.CopyToAsync(session.Writer, linked.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (session.Aborted.IsCancellationRequested && !token.IsCancellationRequested)
                    {
                        return await session.CompleteAsync(CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (EndOfStreamException)
                    {
                        // The archive ended inside the entry: the writer reports the short file as truncated.
                    }
                }

                return await session.CompleteAsync(token).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>Copy</c>: extracts the node's <paramref name="remotePath"/> (file or directory) into <paramref name="localDirectory"/> like <c>talosctl cp</c>.</summary>
    /// <remarks>
    /// <paramref name="localDirectory"/> is created if missing. A file that already exists locally is an error (as
    /// talosctl's <c>O_EXCL</c>); each file is written to a temporary name and renamed into place only when complete, so
    /// nothing is left half-written. File modes are kept (directories get at least <c>0700</c>), ownership is not.
    /// Symbolic links and special files are skipped with a warning; entries that would land outside the directory are skipped.
    /// </remarks>
    /// <exception cref="TalosNodeException">The node refused (needs <c>os:admin</c>), has no such path, could not be reached or stalled.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    /// <exception cref="IOException">A local file already exists, <paramref name="localDirectory"/> is a file, or writing failed.</exception>
    public virtual Task CopyAsync(string remotePath, string localDirectory, string? node = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(remotePath);
        ArgumentException.ThrowIfNullOrEmpty(localDirectory);
        ThrowIfUnusable();
        string root = Path.GetFullPath(localDirectory);
        if (File.Exists(root))
        {
            throw new IOException($"The local target '{root}' exists and is not a directory.");
        }

        return WithArchiveAsync<bool>(node, remotePath, async (tar, connection, token) =>
        {
            Directory.CreateDirectory(root);
            TarEntry? entry;
            while ((entry = await tar.GetNextEntryAsync(copyData: false, token).ConfigureAwait(false)) is not null)
            {
                await ExtractAsync(entry, root, node, token).ConfigureAwait(false);
            }

            return true;
        }, cancellationToken);
    }

    /// <summary><c>Read</c>: the raw bytes of one regular file on the node into <paramref name="destination"/>.</summary>
    /// <returns>The number of bytes written. <paramref name="destination"/> is neither flushed nor closed.</returns>
    /// <exception cref="TalosNodeException">The node refused (needs <c>os:admin</c>), has no such file, could not be reached or stalled.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task<long> ReadAsync(string remotePath, Stream destination, string? node = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(remotePath);
        ArgumentNullException.ThrowIfNull(destination);
        ThrowIfUnusable();
        DataStream stream = await DataStream.OpenAsync(this, "Read", new ReadRequest { Path = remotePath }, node, CancellationToken.None, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            long written = 0;
            if (stream.HasData)
            {
                do
                {
                    await destination.WriteAsync(stream.Current, cancellationToken).ConfigureAwait(false);
                    written += stream.Current.Length;
                }
                while (await stream.MoveNextAsync().ConfigureAwait(false));
            }

            stream.LogCompleted();
            return written;
        }
    }

    /// <summary><c>EtcdRecover</c>: uploads a snapshot through the <see cref="SnapshotReader"/> (verified before the first byte unless
    /// <see cref="SnapshotReaderOptions.VerifyBeforeSending"/> is off). Retried on <c>FailedPrecondition</c> only.</summary>
    /// <remarks>
    /// The file is sent as <c>common.Data</c> messages of at most 4096 bytes (as talosctl), serialized straight from the
    /// reader's buffer. A retry re-opens the file (without verifying it again). With <paramref name="node"/>
    /// <see langword="null"/> the upload goes to the first endpoint only (another endpoint would be another node).
    /// </remarks>
    /// <exception cref="SnapshotIntegrityException">Verification found the file damaged (or without trailer, unless <see cref="SnapshotReaderOptions.SkipHashCheck"/>); nothing was sent.</exception>
    /// <exception cref="SnapshotFormatException">The file is missing, unreadable or not a bbolt database.</exception>
    /// <exception cref="TalosNodeException">The node refused (needs <c>os:admin</c>; not a control plane; <c>FailedPrecondition</c> for longer than <see cref="TalosClientOptions.FailedPreconditionRetryTimeout"/>) or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual Task EtcdRecoverAsync(string snapshotPath, string? node = null, SnapshotReaderOptions? options = null, IProgress<SnapshotProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(snapshotPath);
        ThrowIfUnusable();
        const string Method = MachineService + "/EtcdRecover";
        SnapshotReaderOptions readerOptions = options?.Clone() ?? new SnapshotReaderOptions { LoggerFactory = Options.LoggerFactory };
        if (readerOptions.ChunkSize > UploadChunkSize)
        {
            readerOptions.ChunkSize = UploadChunkSize;
        }

        return RetryOnFailedPreconditionAsync(Method, node, async () =>
        {
            var reader = new SnapshotReader(readerOptions);
            bool verified = await UploadAsync(Method, reader, snapshotPath, node, progress, cancellationToken).ConfigureAwait(false);
            if (verified)
            {
                readerOptions.VerifyBeforeSending = false;
            }
        }, cancellationToken);
    }

    private async Task<bool> UploadAsync(string method, SnapshotReader reader, string path, string? node, IProgress<SnapshotProgress>? progress, CancellationToken cancellationToken)
    {
        (int start, int attempts) = Targets(node, mutating: true);
        List<Exception>? failures = null;
        bool verified = false;
        for (int i = 0; i < attempts; i++)
        {
            int index = (start + i) % _connections.Length;
            TalosConnection connection = _connections[index];
            long sent = 0;
            try
            {
                var message = new TalosDataUpload.UploadChunk();
                IAsyncEnumerator<ReadOnlyMemory<byte>> chunks = reader.ReadChunksAsync(path, progress, cancellationToken).GetAsyncEnumerator(cancellationToken);
                await using (chunks.ConfigureAwait(false))
                {
                    // The reader verifies the file before its first chunk: open the call only after that, so a damaged
                    // file never reaches the node, not even as an opened (then cancelled) upload.
                    bool more = await chunks.MoveNextAsync().ConfigureAwait(false);
                    using AsyncClientStreamingCall<TalosDataUpload.UploadChunk, EtcdRecoverResponse> call = connection.Invoker.AsyncClientStreamingCall(
                        TalosDataUpload.EtcdRecover, null, new CallOptions(NodeHeaders(node), cancellationToken: cancellationToken));
                    while (more)
                    {
                        verified = true;
                        message.Bytes = chunks.Current;
                        await call.RequestStream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
                        sent += chunks.Current.Length;
                        more = await chunks.MoveNextAsync().ConfigureAwait(false);
                    }

                    await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                    EtcdRecoverResponse response = await call.ResponseAsync.ConfigureAwait(false);
                    Single(method, node, connection, response.Messages, static m => m.Metadata);
                    Volatile.Write(ref _preferred, index);
                    TalosClientLog.UploadCompleted(_logger, Describe(node, connection), sent);
                    return verified;
                }
            }
            catch (RpcException ex)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!IsConnectionFailure(ex))
                {
                    throw MapException(method, node, connection, ex);
                }

                Exception failure = MapConnectionFailure(method, node, connection, ex);
                TalosClientLog.EndpointFailed(_logger, connection.Endpoint.ToString(), method, failure.Message);
                (failures ??= []).Add(failure);
            }
        }

        throw AllEndpointsFailed(failures!);
    }

    /// <summary><c>Events</c>: the node's event stream (with up to <paramref name="tailEvents"/> past events first), optionally only one actor's.</summary>
    /// <remarks>The stream has no inactivity timeout (events may be rare); stop it by cancelling or by leaving the loop.</remarks>
    /// <exception cref="TalosNodeException">The node refused or could not be reached, or the stream broke.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async IAsyncEnumerable<TalosEvent> EventsAsync(string? node = null, int tailEvents = 0, string? actorId = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tailEvents);
        ThrowIfUnusable();
        const string Method = MachineService + "/Events";
        var request = new EventsRequest { TailEvents = tailEvents, WithActorId = actorId ?? string.Empty };
        (int start, int attempts) = Targets(node, mutating: false);
        List<Exception>? failures = null;
        for (int i = 0; i < attempts; i++)
        {
            int index = (start + i) % _connections.Length;
            TalosConnection connection = _connections[index];
            using AsyncServerStreamingCall<Event> call = connection.Machine.Events(request, new CallOptions(NodeHeaders(node), cancellationToken: cancellationToken));
            bool delivered = false;
            while (true)
            {
                Event e;
                try
                {
                    if (!await call.ResponseStream.MoveNext(CancellationToken.None).ConfigureAwait(false))
                    {
                        yield break;
                    }

                    e = call.ResponseStream.Current;
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
                {
                    throw new OperationCanceledException("The event stream was cancelled.", ex, cancellationToken);
                }
                catch (RpcException ex) when (!delivered && IsConnectionFailure(ex))
                {
                    Exception failure = MapConnectionFailure(Method, node, connection, ex);
                    TalosClientLog.EndpointFailed(_logger, connection.Endpoint.ToString(), Method, failure.Message);
                    (failures ??= []).Add(failure);
                    break;
                }
                catch (RpcException ex)
                {
                    throw MapException(Method, node, connection, ex);
                }

                if (!delivered)
                {
                    delivered = true;
                    Volatile.Write(ref _preferred, index);
                }

                CheckMetadata(Method, node, connection, e.Metadata);
                if (actorId is not null && e.ActorId != actorId)
                {
                    continue;
                }

                yield return new TalosEvent(Describe(node, connection), e.Id, e.ActorId, e.Data?.TypeUrl ?? string.Empty, Summarize(e.Data));
            }
        }

        throw AllEndpointsFailed(failures!);
    }

    /// <summary>A one-line description of an event payload.</summary>
    internal static string Summarize(Google.Protobuf.WellKnownTypes.Any? data)
    {
        if (data is null)
        {
            return "(no data)";
        }

        string type = data.TypeUrl[(data.TypeUrl.LastIndexOf('/') + 1)..];
        try
        {
            switch (type)
            {
                case "machine.SequenceEvent":
                    var sequence = SequenceEvent.Parser.ParseFrom(data.Value);
                    return $"sequence {sequence.Sequence}: {sequence.Action.ToString().ToLowerInvariant()}"
                        + (sequence.Error is { } error && !string.IsNullOrEmpty(error.Message) ? $" (error: {error.Message})" : string.Empty);
                case "machine.PhaseEvent":
                    var phase = PhaseEvent.Parser.ParseFrom(data.Value);
                    return $"phase {phase.Phase}: {phase.Action.ToString().ToLowerInvariant()}";
                case "machine.TaskEvent":
                    var task = TaskEvent.Parser.ParseFrom(data.Value);
                    return $"task {task.Task}: {task.Action.ToString().ToLowerInvariant()}";
                case "machine.ServiceStateEvent":
                    var service = ServiceStateEvent.Parser.ParseFrom(data.Value);
                    return $"service {service.Service}: {ServiceStateName(service.Action)}" + (string.IsNullOrEmpty(service.Message) ? string.Empty : $": {service.Message}");
                case "machine.MachineStatusEvent":
                    var status = MachineStatusEvent.Parser.ParseFrom(data.Value);
                    return $"machine {status.Stage.ToString().ToLowerInvariant()}, ready: {status.Status?.Ready ?? false}";
                case "machine.AddressEvent":
                    var address = AddressEvent.Parser.ParseFrom(data.Value);
                    return $"addresses {address.Hostname}: {string.Join(", ", address.Addresses)}";
                case "machine.ConfigLoadErrorEvent":
                    return $"config load error: {ConfigLoadErrorEvent.Parser.ParseFrom(data.Value).Error}";
                case "machine.ConfigValidationErrorEvent":
                    return $"config validation error: {ConfigValidationErrorEvent.Parser.ParseFrom(data.Value).Error}";
                case "machine.RestartEvent":
                    return "restart";
                default:
                    return type;
            }
        }
        catch (InvalidProtocolBufferException)
        {
            return $"{type} (unreadable)";
        }
    }

    private static string ServiceStateName(ServiceStateEvent.Types.Action action) => action switch
    {
        ServiceStateEvent.Types.Action.Initialized => "Initialized",
        ServiceStateEvent.Types.Action.Preparing => "Preparing",
        ServiceStateEvent.Types.Action.Waiting => "Waiting",
        ServiceStateEvent.Types.Action.Running => "Running",
        ServiceStateEvent.Types.Action.Stopping => "Stopping",
        ServiceStateEvent.Types.Action.Finished => "Finished",
        ServiceStateEvent.Types.Action.Failed => "Failed",
        ServiceStateEvent.Types.Action.Skipped => "Skipped",
        ServiceStateEvent.Types.Action.Starting => "Starting",
        _ => action.ToString(),
    };

    /// <summary>Which endpoints a call may use: all, from the preferred one; or, for a state-changing call on the endpoint node itself, only the first.</summary>
    private (int Start, int Attempts) Targets(string? node, bool mutating)
        => mutating && node is null ? (0, 1) : (Volatile.Read(ref _preferred), _connections.Length);

    private SnapshotWriterOptions CreateWriterOptions(SnapshotWriterOptions? options, bool skipHashCheck, long? expectedLength)
    {
        SnapshotWriterOptions result = options?.Clone() ?? new SnapshotWriterOptions
        {
            LoggerFactory = Options.LoggerFactory,
            InactivityTimeout = Timeout.InfiniteTimeSpan,
        };
        if (skipHashCheck)
        {
            result.SkipHashCheck = true;
        }

        if (expectedLength is not null)
        {
            result.ExpectedLength = expectedLength;
        }

        return result;
    }

    /// <summary>Runs <c>Copy</c> of <paramref name="remotePath"/> and hands <paramref name="consume"/> a tar reader over the gunzipped stream.</summary>
    private async Task<T> WithArchiveAsync<T>(string? node, string remotePath, Func<TarReader, TalosConnection, CancellationToken, Task<T>> consume, CancellationToken cancellationToken)
    {
        using var stop = new CancellationTokenSource();
        DataStream stream = await DataStream.OpenAsync(this, "Copy", new CopyRequest { RootPath = remotePath }, node, stop.Token, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 256 * 1024, resumeWriterThreshold: 128 * 1024, useSynchronizationContext: false));
            Task producer = ProduceAsync(stream, pipe.Writer, cancellationToken);
            try
            {
                Stream compressed = pipe.Reader.AsStream();
                await using (compressed.ConfigureAwait(false))
                {
                    var gunzip = new GZipStream(compressed, CompressionMode.Decompress);
                    await using (gunzip.ConfigureAwait(false))
                    {
                        var tar = new TarReader(gunzip);
                        await using (tar.ConfigureAwait(false))
                        {
                            try
                            {
                                return await consume(tar, stream.Connection, cancellationToken).ConfigureAwait(false);
                            }
                            catch (Exception ex) when (ex is InvalidDataException or FormatException or EndOfStreamException)
                            {
                                if (producer.IsFaulted)
                                {
                                    await producer.ConfigureAwait(false);
                                }

                                throw CreateNodeException(MachineService + "/Copy", node, stream.Connection, StatusCode.DataLoss, $"the archive of {remotePath} is damaged: {ex.Message}", ex);
                            }
                        }
                    }
                }
            }
            finally
            {
                await stop.CancelAsync().ConfigureAwait(false);
                try
                {
                    await producer.ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException or TalosRecoveryException)
                {
                    // Reported through the consumer already, or the consumer finished first.
                }
            }
        }
    }

    private static async Task ProduceAsync(DataStream stream, PipeWriter writer, CancellationToken cancellationToken)
    {
        await Task.Yield();
        Exception? error = null;
        try
        {
            if (stream.HasData)
            {
                do
                {
                    FlushResult result = await writer.WriteAsync(stream.Current, cancellationToken).ConfigureAwait(false);
                    if (result.IsCompleted)
                    {
                        return;
                    }
                }
                while (await stream.MoveNextAsync().ConfigureAwait(false));
            }

            stream.LogCompleted();
        }
        catch (Exception ex)
        {
            error = ex;
            throw;
        }
        finally
        {
            await writer.CompleteAsync(error).ConfigureAwait(false);
        }
    }

    private async Task ExtractAsync(TarEntry entry, string root, string? node, CancellationToken cancellationToken)
    {
        string name = entry.Name.Replace('\\', '/').TrimStart('/');
        while (name.StartsWith("./", StringComparison.Ordinal))
        {
            name = name[2..];
        }

        string target = Path.GetFullPath(Path.Combine(root, name));
        bool inside = target == root || target.StartsWith(root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        if (name.Length == 0 || !inside)
        {
            if (name.Length != 0)
            {
                TalosClientLog.SkippedArchiveEntry(_logger, node ?? "(endpoint)", entry.Name, "outside the target directory");
            }

            return;
        }

        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                Directory.CreateDirectory(target);
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(target, entry.Mode | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }

                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                await ExtractFileAsync(entry, target, cancellationToken).ConfigureAwait(false);
                break;
            default:
                TalosClientLog.SkippedArchiveEntry(_logger, node ?? "(endpoint)", entry.Name, entry.EntryType.ToString());
                break;
        }
    }

    private static async Task ExtractFileAsync(TarEntry entry, string target, CancellationToken cancellationToken)
    {
        if (File.Exists(target) || Directory.Exists(target))
        {
            throw new IOException($"error creating file {target}: file exists");
        }

        string directory = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(directory);
        string temporary = Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.part");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.Asynchronous };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            var file = new FileStream(temporary, options);
            await using (file.ConfigureAwait(false))
            {
                if (entry.DataStream is { } data)
                {
                    await data.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                }

                if (file.Length != entry.Length)
                {
                    throw new EndOfStreamException($"the archive ended inside {entry.Name} ({file.Length} of {entry.Length} bytes)");
                }

                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }

            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, entry.Mode & (UnixFileMode)0x1FF);
            }

            // No-replace move: a file that appeared meanwhile is not overwritten.
            File.Move(temporary, target, overwrite: false);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>
    /// One server stream of <c>common.Data</c> positioned on a non-empty chunk, opened with endpoint fail-over (only
    /// before the first message). Each read must deliver within <see cref="TalosClientOptions.StreamInactivityTimeout"/>.
    /// </summary>
    private sealed class DataStream : IAsyncDisposable
    {
        private readonly TalosClient _client;
        private readonly TalosDataChunk _chunk;
        private readonly AsyncServerStreamingCall<TalosDataChunk> _call;
        private readonly CancellationTokenSource _cancel;
        private readonly CancellationToken _caller;
        private readonly CancellationToken _aborted;
        private readonly string _method;
        private readonly string? _node;
        private readonly Stopwatch _stopwatch = Stopwatch.StartNew();

        private DataStream(TalosClient client, TalosConnection connection, string method, string? node, TalosDataChunk chunk, AsyncServerStreamingCall<TalosDataChunk> call, CancellationTokenSource cancel, CancellationToken aborted, CancellationToken caller)
        {
            _client = client;
            Connection = connection;
            _method = method;
            _node = node;
            _chunk = chunk;
            _call = call;
            _cancel = cancel;
            _aborted = aborted;
            _caller = caller;
        }

        public TalosConnection Connection { get; }

        public bool HasData { get; private set; }

        public ReadOnlyMemory<byte> Current => _chunk.Bytes;

        /// <summary>Where later chunks' bytes go instead of <see cref="Current"/> (see <see cref="TalosDataChunk.Sink"/>).</summary>
        public IBufferWriter<byte>? Sink
        {
            get => _chunk.Sink;
            set => _chunk.Sink = value;
        }

        public long BytesDelivered { get; private set; }

        public static async Task<DataStream> OpenAsync<TRequest>(TalosClient client, string name, TRequest request, string? node, CancellationToken aborted, CancellationToken cancellationToken)
            where TRequest : class, IMessage<TRequest>, new()
        {
            string method = MachineService + "/" + name;
            (int start, int attempts) = client.Targets(node, mutating: false);
            List<Exception>? failures = null;
            for (int i = 0; i < attempts; i++)
            {
                int index = (start + i) % client._connections.Length;
                TalosConnection connection = client._connections[index];
                var chunk = new TalosDataChunk();
                var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, aborted);
                AsyncServerStreamingCall<TalosDataChunk>? call = null;
                try
                {
                    call = connection.Invoker.AsyncServerStreamingCall(chunk.CreateMethod<TRequest>(name), null, new CallOptions(NodeHeaders(node), cancellationToken: cancel.Token), request);
                    var stream = new DataStream(client, connection, method, node, chunk, call, cancel, aborted, cancellationToken);
                    try
                    {
                        stream.HasData = await stream.ReadAsync(first: true).ConfigureAwait(false);
                    }
                    catch (RpcException ex) when (IsConnectionFailure(ex))
                    {
                        Exception failure = MapConnectionFailure(method, node, connection, ex);
                        TalosClientLog.EndpointFailed(client._logger, connection.Endpoint.ToString(), method, failure.Message);
                        (failures ??= []).Add(failure);
                        await stream.DisposeAsync().ConfigureAwait(false);
                        continue;
                    }

                    Volatile.Write(ref client._preferred, index);
                    return stream;
                }
                catch
                {
                    call?.Dispose();
                    chunk.Dispose();
                    cancel.Dispose();
                    throw;
                }
            }

            throw AllEndpointsFailed(failures!);
        }

        public ValueTask<bool> MoveNextAsync()
        {
            BytesDelivered += _chunk.Length;
            return ReadAsync(first: false);
        }

        /// <summary>Reads up to the next non-empty chunk; false at the end. Connection failures on the first read stay raw for fail-over.</summary>
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<bool> ReadAsync(bool first)
        {
            TimeSpan inactivity = _client.Options.StreamInactivityTimeout;
            try
            {
                while (true)
                {
                    // Most reads complete at once from data already received: arm the inactivity timer (two timer
                    // queue updates) only for a read that has to wait.
                    Task<bool> next = _call.ResponseStream.MoveNext(CancellationToken.None);
                    bool more;
                    if (next.IsCompletedSuccessfully)
                    {
                        more = next.Result;
                    }
                    else
                    {
                        _cancel.CancelAfter(inactivity);
                        more = await next.ConfigureAwait(false);
                        _cancel.CancelAfter(Timeout.InfiniteTimeSpan);
                    }
                    if (!more)
                    {
                        return false;
                    }

                    if (_chunk.HasError)
                    {
                        throw _client.MetadataError(_method, _chunk.Hostname ?? _node, Connection, _chunk.StatusCode, _chunk.StatusMessage, _chunk.Error);
                    }

                    if (_chunk.Length != 0)
                    {
                        return true;
                    }
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled || _cancel.IsCancellationRequested)
            {
                if (_caller.IsCancellationRequested)
                {
                    throw new OperationCanceledException($"{_method} was cancelled.", ex, _caller);
                }

                if (_aborted.IsCancellationRequested)
                {
                    throw new OperationCanceledException($"{_method} was stopped because the transfer failed.", ex, _aborted);
                }

                TalosClientLog.CallFailed(_client._logger, _method, Describe(_node, Connection), StatusCode.DeadlineExceeded, "stalled");
                throw new TalosNodeException(
                    $"{_method} on {Describe(_node, Connection)} stalled: no data for {inactivity.TotalSeconds:0.#} s after {BytesDelivered} bytes (Talos never times out a stream itself). Retry, or pick another node.",
                    _node,
                    _method,
                    StatusCode.DeadlineExceeded,
                    $"no data for {inactivity.TotalSeconds:0.#} s",
                    ex);
            }
            catch (RpcException ex) when (!(first && IsConnectionFailure(ex)))
            {
                throw _client.MapException(_method, _node, Connection, ex);
            }
        }

        public void LogCompleted()
            => TalosClientLog.StreamCompleted(_client._logger, _method, Describe(_node, Connection), BytesDelivered, _stopwatch.ElapsedMilliseconds);

        public ValueTask DisposeAsync()
        {
            _call.Dispose();
            _chunk.Dispose();
            _cancel.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
