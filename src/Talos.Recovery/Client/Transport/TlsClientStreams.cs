using System.Net.Security;

namespace Talos.Recovery.Client.Transport;

/// <summary>
/// The plaintext <see cref="Stream"/> handed to <c>SocketsHttpHandler</c> for a BouncyCastle TLS connection: reads
/// decrypt on the caller's call (HTTP/2 has one reader), writes are encrypted and flushed by the engine.
/// Failures surface as <see cref="IOException"/> whose inner exception is the <see cref="TalosTlsException"/> when
/// TLS was the cause.
/// </summary>
internal sealed class BcTlsClientStream : Stream
{
    private readonly BcTlsEngine _engine;
    private readonly Stream _network;
    private int _disposed;

    public BcTlsClientStream(BcTlsEngine engine, Stream network)
    {
        _engine = engine;
        _network = network;
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // An empty buffer is a zero-byte read: it waits for data (HTTP/2 uses it to hold no buffer while idle).
        try
        {
            return await _engine.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (TalosTlsException ex)
        {
            throw new IOException(ex.Message, ex);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            await _engine.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (TalosTlsException ex)
        {
            throw new IOException(ex.Message, ex);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask; // every write is flushed

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _engine.DisposeAsync().ConfigureAwait(false);
            await _network.DisposeAsync().ConfigureAwait(false);
        }

        GC.SuppressFinalize(this);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// Wraps the <see cref="SslStream"/> of an ECDSA/RSA connection so that a TLS alert arriving after the handshake (a
/// refused client certificate under TLS 1.3) surfaces as <see cref="IOException"/> with a
/// <see cref="TalosTlsException"/> inside, as on the BouncyCastle path.
/// </summary>
internal sealed class SslTlsClientStream : Stream
{
    private readonly SslStream _inner;
    private readonly Func<Exception, Exception?> _mapAlert;

    // The first TLS failure seen: HTTP/2 reads and writes concurrently, and once the read that met the alert has
    // failed the connection is torn down, so the other side meets only ObjectDisposedException; it reports this.
    private volatile Exception? _failure;

    public SslTlsClientStream(SslStream inner, Func<Exception, Exception?> mapAlert)
    {
        _inner = inner;
        _mapAlert = mapAlert;
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException && Map(ex) is { } mapped)
        {
            throw new IOException(mapped.Message, mapped);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException && Map(ex) is { } mapped)
        {
            throw new IOException(mapped.Message, mapped);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    private Exception? Map(Exception exception)
    {
        if (_failure is { } known)
        {
            return known;
        }

        if (exception is IOException && _mapAlert(exception) is { } mapped)
        {
            _failure = mapped;
            return mapped;
        }

        return null;
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override void Flush() => _inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override ValueTask DisposeAsync() => _inner.DisposeAsync();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
