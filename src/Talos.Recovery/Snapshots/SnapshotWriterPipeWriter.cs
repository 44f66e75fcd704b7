using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// The <see cref="PipeWriter"/> a transfer's source writes to: the pipe's own writer, plus a count of the bytes
/// received (for progress, errors and the inactivity check) and a flag telling the inactivity check that the source
/// is paused by back-pressure rather than stalled. Nothing is allocated per write.
/// </summary>
internal sealed class SnapshotWriterPipeWriter : PipeWriter
{
    private readonly PipeWriter _inner;
    private long _received;
    private long _unflushed;
    private volatile bool _paused;
    private volatile bool _completed;

    public SnapshotWriterPipeWriter(PipeWriter inner) => _inner = inner;

    /// <summary>Bytes the source has committed with <see cref="Advance"/>; safe to read from any thread.</summary>
    public long BytesReceived => Volatile.Read(ref _received);

    /// <summary>True while a flush waits for the disk side to drain the pipe.</summary>
    public bool IsPaused => _paused;

    /// <summary>True once the source has completed the writer.</summary>
    public bool IsCompleted => _completed;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _unflushed;

    public override void Advance(int bytes)
    {
        _inner.Advance(bytes);
        _unflushed += bytes;
        Volatile.Write(ref _received, _received + bytes);
    }

    public override Memory<byte> GetMemory(int sizeHint = 0) => _inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => _inner.GetSpan(sizeHint);

    public override void CancelPendingFlush() => _inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null)
    {
        _completed = true;
        _inner.Complete(exception);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        _unflushed = 0;
        var flush = _inner.FlushAsync(cancellationToken);
        return flush.IsCompleted ? flush : AwaitPausedAsync(flush);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> AwaitPausedAsync(ValueTask<FlushResult> flush)
    {
        _paused = true;
        try
        {
            return await flush.ConfigureAwait(false);
        }
        finally
        {
            _paused = false;
        }
    }
}
