using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Org.BouncyCastle.Tls;

namespace Talos.Recovery.Client.Transport;

/// <summary>
/// Drives a BouncyCastle <see cref="TlsProtocol"/> in non-blocking mode over a pipe of ciphertext (a socket, or
/// Kestrel's transport) and exposes the plaintext as a <see cref="PipeReader"/> plus <c>WriteAsync</c>.
/// </summary>
/// <remarks>
/// <para>
/// Why not BC's blocking <c>Stream</c>: HTTP/2 reads and writes the same connection concurrently from different
/// threads, which the blocking stream does not tolerate (a first call hangs). Here BC never touches I/O: it only
/// turns bytes into bytes under one short lock (<see cref="_sync"/>), and all I/O is asynchronous outside it:
/// </para>
/// <list type="bullet">
/// <item>One read loop owns the ciphertext input: it offers what arrives to BC and moves the decrypted application
/// data into <see cref="Input"/> (a <see cref="Pipe"/>, whose pause threshold gives back-pressure).</item>
/// <item>Writes are serialised by <see cref="_writeLock"/>: encrypt under the lock, then flush once. Everything BC
/// has queued (a whole handshake flight, or an alert) leaves in that one flush, in order.</item>
/// <item>The TLS alert that ended the connection (received or sent) is kept in <see cref="Alerts"/>, so the
/// failure a reader or writer sees names it (under TLS 1.3 a refused client certificate shows up only there, on the
/// first read after the handshake).</item>
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

    /// <summary>The decrypted data from the peer. Fails with the mapped exception when the connection fails.</summary>
    public PipeReader Input => _inbound.Reader;

    /// <summary>
    /// Runs the handshake: <paramref name="start"/> calls <c>Connect</c>/<c>Accept</c> on the protocol, then flights are
    /// exchanged until BC reports the handshake complete. Starts the read loop on success.
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

                try
                {
                    Offer(buffer);
                }
                finally
                {
                    _transport.Input.AdvanceTo(buffer.End);
                }

                await FlushOutputAsync(cancellationToken).ConfigureAwait(false);
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

        _readLoop = Task.Run(ReadLoopAsync, CancellationToken.None);
    }

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

            foreach (ReadOnlyMemory<byte> segment in data)
            {
                for (int offset = 0; offset < segment.Length; offset += WriteChunk)
                {
                    ReadOnlySpan<byte> chunk = segment.Span.Slice(offset, Math.Min(WriteChunk, segment.Length - offset));
                    lock (_sync)
                    {
                        _protocol.WriteApplicationData(chunk);
                        DrainOutputLocked();
                    }
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
        PipeReader input = _transport.Input;
        try
        {
            // Application data may have arrived with the last handshake flight.
            await DeliverApplicationDataAsync().ConfigureAwait(false);
            while (true)
            {
                ReadResult result = await input.ReadAsync(_readCancellation.Token).ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break;
                }

                ReadOnlySequence<byte> buffer = result.Buffer;
                bool outputPending;
                try
                {
                    if (!buffer.IsEmpty)
                    {
                        Offer(buffer);
                    }
                }
                finally
                {
                    input.AdvanceTo(buffer.End);
                }

                lock (_sync)
                {
                    outputPending = _protocol.GetAvailableOutputBytes() > 0;
                }

                if (outputPending)
                {
                    // An answer to the peer (close_notify): sent by whoever holds the write lock next, in order.
                    _ = TrySendQueuedOutputAsync();
                }

                if (!await DeliverApplicationDataAsync().ConfigureAwait(false))
                {
                    break; // The application stopped reading.
                }

                bool closed;
                lock (_sync)
                {
                    closed = _protocol.IsClosed;
                }

                if (closed || result.IsCompleted)
                {
                    // close_notify received, or the peer closed TCP: the end of the stream (HTTP/2 framing detects truncation).
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (_readCancellation.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is TlsException or IOException or InvalidOperationException)
        {
            failure = _mapFailure(ex);
            _failure = failure;
            _readEnded.TrySetResult();
            try
            {
                await DeliverApplicationDataAsync().ConfigureAwait(false);
            }
            catch (Exception deliverFailure) when (deliverFailure is IOException or InvalidOperationException or TlsException)
            {
                // The failure above is the one to report.
            }

            await TrySendQueuedOutputAsync().ConfigureAwait(false);
        }

        _readEnded.TrySetResult();
        await _inbound.Writer.CompleteAsync(failure).ConfigureAwait(false);
    }

    /// <summary>Offers ciphertext to BC; every complete record is processed.</summary>
    private void Offer(ReadOnlySequence<byte> buffer)
    {
        lock (_sync)
        {
            foreach (ReadOnlyMemory<byte> segment in buffer)
            {
                if (MemoryMarshal.TryGetArray(segment, out ArraySegment<byte> array))
                {
                    _protocol.OfferInput(array.Array!, array.Offset, array.Count);
                }
                else
                {
                    byte[] copy = ArrayPool<byte>.Shared.Rent(segment.Length);
                    try
                    {
                        segment.Span.CopyTo(copy);
                        _protocol.OfferInput(copy, 0, segment.Length);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(copy);
                    }
                }
            }
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
