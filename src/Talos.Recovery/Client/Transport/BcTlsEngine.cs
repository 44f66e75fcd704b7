using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Org.BouncyCastle.Tls;

namespace Talos.Recovery.Client.Transport;

/// <summary>
/// Drives a BouncyCastle <see cref="TlsProtocol"/> in non-blocking mode over a pipe of ciphertext (a socket, or
/// Kestrel's transport): plaintext comes out through <c>ReadAsync</c> (pull) or the <see cref="Input"/> pipe (push),
/// and goes in through <c>WriteAsync</c>.
/// </summary>
/// <remarks>
/// <para>
/// Why not BC's blocking <c>Stream</c>: HTTP/2 reads and writes the same connection concurrently from different
/// threads, which the blocking stream does not tolerate (a first call hangs). Here BC never touches I/O: it only
/// turns bytes into bytes under one short lock (<see cref="_sync"/>), and all I/O is asynchronous outside it:
/// </para>
/// <list type="bullet">
/// <item>One reader owns the ciphertext input and offers what arrives to BC: the consumer's own <c>ReadAsync</c>
/// call (the client: HTTP/2 has exactly one reader, so no thread hop per read), or a read loop that moves the
/// decrypted data into <see cref="Input"/>, a <see cref="Pipe"/> whose pause threshold gives back-pressure
/// (Kestrel, which wants a <see cref="PipeReader"/>).</item>
/// <item>Writes are serialised by <see cref="_writeLock"/>: encrypt under the lock, then flush once. Everything BC
/// has queued (a whole handshake flight, or an alert) leaves in that one flush, in order.</item>
/// <item>The TLS alert that ended the connection (received or sent) is kept in <see cref="Alerts"/>, so the
/// failure a reader or writer sees names it (under TLS 1.3 a refused client certificate shows up only there, on the
/// first read after the handshake). A write that fails first waits briefly for the reader's verdict.</item>
/// </list>
/// Compiled into Talos.Recovery and Talos.Recovery.Testing (shared source).
/// </remarks>
internal sealed class BcTlsEngine : IAsyncDisposable
{
    // BC encrypts at most one record (16 KiB of plaintext) at a time; locking per chunk lets reads interleave.
    private const int WriteChunk = 16 * 1024;

    private readonly TlsProtocol _protocol;
    private readonly IDuplexPipe _transport;
    private readonly Func<Exception, Exception> _mapFailure;
    private readonly Lock _sync = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Pipe _inbound = new(new PipeOptions(pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false));
    private readonly CancellationTokenSource _readCancellation = new();
    private readonly TaskCompletionSource _readEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _readLoop = Task.CompletedTask;
    private bool _readCompleted;
    private volatile Exception? _failure;
    private int _disposed;

    /// <summary>Creates the engine; nothing is sent until <see cref="HandshakeAsync"/>.</summary>
    /// <param name="protocol">A non-blocking <see cref="TlsClientProtocol"/> or <see cref="TlsServerProtocol"/>.</param>
    /// <param name="transport">The ciphertext pipe. The engine completes both ends on disposal.</param>
    /// <param name="alerts">The alert record shared with the BC peer (client or server) object.</param>
    /// <param name="mapFailure">Turns a TLS or I/O failure into what readers and writers should see.</param>
    public BcTlsEngine(TlsProtocol protocol, IDuplexPipe transport, TlsConnectionRecord alerts, Func<Exception, Exception> mapFailure)
    {
        _protocol = protocol;
        _transport = transport;
        Alerts = alerts;
        _mapFailure = mapFailure;
    }

    /// <summary>The alerts received and sent on this connection.</summary>
    public TlsConnectionRecord Alerts { get; }

    /// <summary>The decrypted data from the peer in push mode (<see cref="StartReadLoop"/>). Fails with the mapped exception when the connection fails.</summary>
    public PipeReader Input => _inbound.Reader;

    /// <summary>
    /// Runs the handshake: <paramref name="start"/> calls <c>Connect</c>/<c>Accept</c> on the protocol, then flights are
    /// exchanged until BC reports the handshake complete.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="Exception">Whatever the failure mapper makes of a TLS or I/O failure.</exception>
    public async Task HandshakeAsync(Action<TlsProtocol> start, CancellationToken cancellationToken)
    {
        try
        {
            lock (_sync)
            {
                start(_protocol);
            }

            await FlushOutputAsync(cancellationToken).ConfigureAwait(false);
            while (true)
            {
                lock (_sync)
                {
                    if (!_protocol.IsHandshaking)
                    {
                        break;
                    }
                }

                ReadResult result = await _transport.Input.ReadAsync(cancellationToken).ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                if (buffer.IsEmpty && result.IsCompleted)
                {
                    _transport.Input.AdvanceTo(buffer.End);
                    throw new EndOfStreamException("The peer closed the connection during the TLS handshake.");
                }

                SequencePosition consumed = buffer.Start;
                try
                {
                    consumed = Offer(buffer);
                }
                finally
                {
                    _transport.Input.AdvanceTo(consumed, buffer.End);
                }

                await FlushOutputAsync(cancellationToken).ConfigureAwait(false);
                if (result.IsCompleted)
                {
                    lock (_sync)
                    {
                        if (_protocol.IsHandshaking)
                        {
                            throw new EndOfStreamException("The peer closed the connection during the TLS handshake.");
                        }
                    }
                }
            }

            lock (_sync)
            {
                if (_protocol.IsClosed)
                {
                    throw new EndOfStreamException("The TLS connection closed during the handshake.");
                }

            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is TlsException or IOException or InvalidOperationException)
        {
            // BC has queued the fatal alert it raised (if any): let the peer see it before the connection closes.
            await TrySendQueuedOutputAsync().ConfigureAwait(false);
            throw _mapFailure(ex);
        }
    }

    /// <summary>
    /// Reads decrypted data into <paramref name="destination"/> (pull mode, for a single reader such as HTTP/2's read
    /// loop): BC decrypts on the reader's own call, with no thread hop. Returns 0 at the end of the stream, or at once
    /// for an empty <paramref name="destination"/> once data is available. Do not mix with <see cref="StartReadLoop"/>.
    /// </summary>
    public async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TryReadAvailable(destination, out int read))
            {
                return read;
            }

            if (_failure is { } failure)
            {
                throw failure;
            }

            if (_readCompleted || !await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                _readCompleted = true;
                return TryReadAvailable(destination, out read) ? read : 0;
            }
        }
    }

    /// <summary>
    /// Starts the push-mode read loop that fills <see cref="Input"/> (for consumers that want a <see cref="PipeReader"/>,
    /// such as Kestrel). Do not mix with <see cref="ReadAsync"/>.
    /// </summary>
    public void StartReadLoop() => _readLoop = Task.Run(ReadLoopAsync, CancellationToken.None);

    /// <summary>Encrypts and sends <paramref name="data"/>; one flush for the whole call.</summary>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        => WriteAsync(new ReadOnlySequence<byte>(data), cancellationToken);

    /// <summary>Encrypts and sends <paramref name="data"/>; one flush for the whole call.</summary>
    public async ValueTask WriteAsync(ReadOnlySequence<byte> data, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_failure is { } failure)
            {
                throw failure;
            }

            // Records of WriteChunk bytes from the start of the data, the last one shorter. Pipe segments are often
            // 4 KiB: a record that spans segments is gathered first (a quarter of the records, so a quarter of the
            // per-record encryption and allocation cost, for one extra copy of the plaintext).
            byte[]? staging = null;
            try
            {
                while (!data.IsEmpty)
                {
                    ReadOnlySequence<byte> record = data.Slice(0, Math.Min(WriteChunk, data.Length));
                    ReadOnlySpan<byte> plaintext;
                    if (record.IsSingleSegment)
                    {
                        plaintext = record.FirstSpan;
                    }
                    else
                    {
                        staging ??= ArrayPool<byte>.Shared.Rent(WriteChunk);
                        record.CopyTo(staging);
                        plaintext = staging.AsSpan(0, (int)record.Length);
                    }

                    // One lock per record, so reads interleave.
                    lock (_sync)
                    {
                        _protocol.WriteApplicationData(plaintext);
                        DrainOutputLocked();
                    }

                    data = data.Slice(record.End);
                }
            }
            finally
            {
                if (staging is not null)
                {
                    ArrayPool<byte>.Shared.Return(staging);
                }
            }

            FlushResult result = await _transport.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCompleted)
            {
                throw new IOException("The connection is closed.");
            }
        }
        catch (Exception ex) when (ex is TlsException or IOException or InvalidOperationException && ex != _failure)
        {
            throw await WriteFailureAsync(ex).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Sends close_notify (best effort), stops the read loop and completes the transport.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_failure is null)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await _writeLock.WaitAsync(timeout.Token).ConfigureAwait(false);
                try
                {
                    lock (_sync)
                    {
                        if (!_protocol.IsClosed)
                        {
                            _protocol.Close();
                        }

                        DrainOutputLocked();
                    }

                    await _transport.Output.FlushAsync(timeout.Token).ConfigureAwait(false);
                }
                finally
                {
                    _writeLock.Release();
                }
            }
            catch (Exception ex) when (ex is IOException or TlsException or OperationCanceledException or InvalidOperationException)
            {
                // The connection is going away anyway.
            }
        }

        await _readCancellation.CancelAsync().ConfigureAwait(false);
        _transport.Input.CancelPendingRead();
        try
        {
            await _readLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        // Completing a stream-backed writer flushes what is still buffered (an alert that could not be sent), which
        // throws on a dead socket: disposal never throws, so the caller's real failure is the one reported.
        await CompleteQuietlyAsync(() => _transport.Output.CompleteAsync()).ConfigureAwait(false);
        await CompleteQuietlyAsync(() => _transport.Input.CompleteAsync()).ConfigureAwait(false);
        await CompleteQuietlyAsync(() => _inbound.Writer.CompleteAsync()).ConfigureAwait(false);
        _readCancellation.Dispose();
    }

    private static async ValueTask CompleteQuietlyAsync(Func<ValueTask> complete)
    {
        try
        {
            await complete().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // The connection is gone; nothing more to tell anyone.
        }
    }

    private async Task ReadLoopAsync()
    {
        Exception? failure = null;
        try
        {
            // Application data may have arrived with the last handshake flight.
            while (await DeliverApplicationDataAsync().ConfigureAwait(false) && await FillAsync(_readCancellation.Token).ConfigureAwait(false))
            {
            }

            await DeliverApplicationDataAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_readCancellation.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex == _failure)
        {
            failure = ex;
            try
            {
                await DeliverApplicationDataAsync().ConfigureAwait(false);
            }
            catch (Exception deliverFailure) when (deliverFailure is IOException or InvalidOperationException or TlsException)
            {
                // The failure above is the one to report.
            }
        }

        _readEnded.TrySetResult();
        await _inbound.Writer.CompleteAsync(failure).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads one chunk of ciphertext and offers it to BC. <see langword="false"/> at the end of the stream (close_notify,
    /// the peer closed TCP, or disposal). A TLS or I/O failure is mapped, recorded (for writers) and thrown.
    /// </summary>
    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        PipeReader input = _transport.Input;
        try
        {
            ReadResult result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCanceled)
            {
                return false;
            }

            ReadOnlySequence<byte> buffer = result.Buffer;
            SequencePosition consumed = buffer.Start;
            try
            {
                consumed = Offer(buffer);
            }
            finally
            {
                input.AdvanceTo(consumed, buffer.End);
            }

            if (result.IsCompleted && !buffer.Slice(consumed).IsEmpty)
            {
                throw new EndOfStreamException("The peer closed the connection in the middle of a TLS record.");
            }

            bool outputPending;
            bool closed;
            lock (_sync)
            {
                outputPending = _protocol.GetAvailableOutputBytes() > 0;
                closed = _protocol.IsClosed;
            }

            if (outputPending)
            {
                // An answer to the peer (close_notify): sent by whoever holds the write lock next, in order.
                _ = TrySendQueuedOutputAsync();
            }

            // close_notify received, or the peer closed TCP: the end of the stream (HTTP/2 framing detects truncation).
            return !closed && !result.IsCompleted;
        }
        catch (Exception ex) when (ex is TlsException or IOException or InvalidOperationException)
        {
            Exception failure = _mapFailure(ex);
            _failure = failure;
            _readEnded.TrySetResult();
            await TrySendQueuedOutputAsync().ConfigureAwait(false);
            throw failure;
        }
    }

    /// <summary>Copies decrypted data BC already holds into <paramref name="destination"/>.</summary>
    private bool TryReadAvailable(Memory<byte> destination, out int read)
    {
        lock (_sync)
        {
            int available = _protocol.GetAvailableInputBytes();
            if (available == 0)
            {
                read = 0;
                return false;
            }

            if (destination.IsEmpty)
            {
                read = 0;
                return true;
            }

            int count = Math.Min(available, destination.Length);
            if (MemoryMarshal.TryGetArray<byte>(destination, out ArraySegment<byte> array))
            {
                read = _protocol.ReadInput(array.Array!, array.Offset, count);
            }
            else
            {
                byte[] temporary = ArrayPool<byte>.Shared.Rent(count);
                read = _protocol.ReadInput(temporary, 0, count);
                temporary.AsSpan(0, read).CopyTo(destination.Span);
                ArrayPool<byte>.Shared.Return(temporary);
            }

            return true;
        }
    }

    /// <summary>
    /// Offers the complete TLS records of <paramref name="buffer"/> to BC, one record per call (BC's fast path: a whole
    /// record is decrypted straight from our buffer, not queued and re-copied). Returns where the incomplete tail
    /// starts; it stays in the transport pipe until the rest arrives.
    /// </summary>
    private SequencePosition Offer(ReadOnlySequence<byte> buffer)
    {
        const int HeaderLength = 5;
        Span<byte> header = stackalloc byte[HeaderLength];
        lock (_sync)
        {
            while (buffer.Length >= HeaderLength)
            {
                int length;
                ReadOnlySpan<byte> first = buffer.FirstSpan;
                if (first.Length >= HeaderLength)
                {
                    length = (first[3] << 8) | first[4];
                }
                else
                {
                    buffer.Slice(0, HeaderLength).CopyTo(header);
                    length = (header[3] << 8) | header[4];
                }

                int recordLength = HeaderLength + length;
                if (buffer.Length < recordLength)
                {
                    break;
                }

                ReadOnlySequence<byte> record = buffer.Slice(0, recordLength);
                if (record.IsSingleSegment && MemoryMarshal.TryGetArray(record.First, out ArraySegment<byte> array))
                {
                    _protocol.OfferInput(array.Array!, array.Offset, array.Count);
                }
                else
                {
                    byte[] copy = ArrayPool<byte>.Shared.Rent(recordLength);
                    try
                    {
                        record.CopyTo(copy);
                        _protocol.OfferInput(copy, 0, recordLength);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(copy);
                    }
                }

                buffer = buffer.Slice(recordLength);
                if (_protocol.IsClosed)
                {
                    return buffer.End; // close_notify: nothing after it counts
                }
            }

            return buffer.Start;
        }
    }

    /// <summary>Moves decrypted data into <see cref="Input"/>; <see langword="false"/> when its reader has gone.</summary>
    private async ValueTask<bool> DeliverApplicationDataAsync()
    {
        PipeWriter writer = _inbound.Writer;
        bool any = false;
        while (true)
        {
            int copied;
            lock (_sync)
            {
                int available = _protocol.GetAvailableInputBytes();
                if (available == 0)
                {
                    break;
                }

                Memory<byte> memory = writer.GetMemory(Math.Min(available, 64 * 1024));
                if (MemoryMarshal.TryGetArray<byte>(memory, out ArraySegment<byte> array))
                {
                    copied = _protocol.ReadInput(array.Array!, array.Offset, Math.Min(available, array.Count));
                }
                else
                {
                    byte[] temporary = new byte[Math.Min(available, memory.Length)];
                    copied = _protocol.ReadInput(temporary, 0, temporary.Length);
                    temporary.AsSpan(0, copied).CopyTo(memory.Span);
                }
            }

            writer.Advance(copied);
            any = true;
        }

        if (!any)
        {
            return true;
        }

        FlushResult result = await writer.FlushAsync().ConfigureAwait(false);
        return !result.IsCompleted;
    }

    /// <summary>Sends whatever BC has queued (handshake flight, alert), under the write lock.</summary>
    private async ValueTask FlushOutputAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_sync)
            {
                DrainOutputLocked();
            }

            await _transport.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task TrySendQueuedOutputAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await FlushOutputAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException or ObjectDisposedException)
        {
            // Best effort: the peer may already be gone.
        }
    }

    /// <summary>Moves BC's queued ciphertext into the transport writer; call under <see cref="_sync"/> and the write lock.</summary>
    private void DrainOutputLocked()
    {
        PipeWriter output = _transport.Output;
        int available;
        while ((available = _protocol.GetAvailableOutputBytes()) > 0)
        {
            Memory<byte> memory = output.GetMemory(available);
            int copied;
            if (MemoryMarshal.TryGetArray<byte>(memory, out ArraySegment<byte> array))
            {
                copied = _protocol.ReadOutput(array.Array!, array.Offset, Math.Min(available, array.Count));
            }
            else
            {
                byte[] temporary = new byte[Math.Min(available, memory.Length)];
                copied = _protocol.ReadOutput(temporary, 0, temporary.Length);
                temporary.AsSpan(0, copied).CopyTo(memory.Span);
            }

            output.Advance(copied);
        }
    }

    /// <summary>
    /// A write failed. If the connection broke because the peer sent an alert (the usual case when a server refuses a
    /// client certificate under TLS 1.3 and then resets the connection), report the read loop's finding instead.
    /// </summary>
    private async Task<Exception> WriteFailureAsync(Exception writeFailure)
    {
        if (_failure is null)
        {
            // The alert is usually already in the socket's receive buffer; give the read loop a moment to find it.
            await Task.WhenAny(_readEnded.Task, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        }

        if (_failure is { } failure)
        {
            return failure;
        }

        Exception mapped = _mapFailure(writeFailure);
        _failure = mapped;
        return mapped;
    }
}

/// <summary>
/// What the BC peer object (client or server) saw on one connection: the fatal alert received or raised (from
/// <c>NotifyAlertReceived</c>/<c>NotifyAlertRaised</c>, read when mapping a failure) and the negotiated version.
/// </summary>
internal sealed class TlsConnectionRecord
{
    /// <summary>The negotiated protocol version (e.g. <c>TLS 1.3</c>), set when the handshake completes.</summary>
    public string? NegotiatedVersion { get; set; }

    private StrongBox<(TlsAlert Alert, bool Received, string? Message)>? _fatal;

    /// <summary>The fatal alert that ended the connection: its code, whether it was received, and BC's message for a raised one.</summary>
    public (TlsAlert Alert, bool Received, string? Message)? Fatal => Volatile.Read(ref _fatal)?.Value;

    /// <summary>Records a fatal alert received from the peer (the first fatal alert wins).</summary>
    public void OnReceived(short level, short description)
    {
        if (level == AlertLevel.fatal)
        {
            Interlocked.CompareExchange(ref _fatal, new StrongBox<(TlsAlert, bool, string?)>(((TlsAlert)description, true, null)), null);
        }
    }

    /// <summary>Records a fatal alert raised locally (the first fatal alert wins).</summary>
    public void OnRaised(short level, short description, string? message)
    {
        if (level == AlertLevel.fatal)
        {
            Interlocked.CompareExchange(ref _fatal, new StrongBox<(TlsAlert, bool, string?)>(((TlsAlert)description, false, message)), null);
        }
    }
}
