using System.Diagnostics;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Grpc.Core;
using Talos.Recovery.Api.Etcd;

namespace Talos.Recovery.Client.Etcd;

public partial class EtcdClient
{
    /// <summary>
    /// Streams a snapshot of the backend database of the first reachable member (<c>Maintenance.Snapshot</c>).
    /// The concatenation of the chunks is exactly the file <c>etcdctl snapshot save</c> writes: the bbolt database
    /// followed by the 32-byte SHA-256 of it, which etcd sends as the last chunk.
    /// </summary>
    /// <param name="cancellationToken">Cancels the stream.</param>
    /// <returns>
    /// The chunks, in order (32 KiB each from etcd, then the 32-byte digest). <b>Each chunk is only valid until the
    /// enumerator moves on</b>: the client reuses one buffer for the whole stream, so there is no allocation per
    /// chunk. Copy a chunk (or write it out) before asking for the next one.
    /// </returns>
    /// <remarks>
    /// <para>
    /// The stream has no deadline (a large database takes as long as it takes); stop waiting by cancelling.
    /// Before the first chunk is delivered the client fails over to the next endpoint like any other call;
    /// afterwards a broken stream throws <see cref="EtcdClientException"/> and is never silently restarted or ended.
    /// A stream that ends without etcd's closing digest message, or whose <c>remaining_bytes</c> do not add up,
    /// throws <see cref="EtcdClientException"/> with <see cref="StatusCode.DataLoss"/>.
    /// </para>
    /// <para>
    /// The client does not check the SHA-256 itself; <c>SnapshotWriter</c> and <c>SnapshotFile</c> verify it.
    /// With authentication enabled, etcd only lets users with the <c>root</c> role take snapshots.
    /// </para>
    /// </remarks>
    /// <exception cref="EtcdClientException">No endpoint answered, etcd refused the snapshot, or the stream broke.</exception>
    public virtual async IAsyncEnumerable<ReadOnlyMemory<byte>> SnapshotAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        SnapshotStream stream = await OpenSnapshotAsync(cancellationToken).ConfigureAwait(false);
        bool ended = false;
        try
        {
            do
            {
                yield return stream.Current;
            }
            while (await stream.MoveNextAsync().ConfigureAwait(false));

            ended = true;
        }
        finally
        {
            if (!ended && !stream.Failed && !cancellationToken.IsCancellationRequested)
            {
                EtcdClientLog.SnapshotAbandoned(_logger, stream.Connection.Endpoint, stream.BytesDelivered);
            }

            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Streams a snapshot (see <see cref="SnapshotAsync(CancellationToken)"/>) into <paramref name="destination"/>:
    /// the exact bytes <c>etcdctl snapshot save</c> writes. The stream is neither flushed to disk nor closed.
    /// </summary>
    /// <param name="destination">A writable stream.</param>
    /// <param name="cancellationToken">Cancels the transfer.</param>
    /// <returns>The number of bytes written, including the 32-byte SHA-256 trailer.</returns>
    /// <exception cref="EtcdClientException">No endpoint answered, etcd refused the snapshot, or the stream broke.</exception>
    public virtual async Task<long> WriteSnapshotAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (!destination.CanWrite)
        {
            throw new ArgumentException("The stream is not writable.", nameof(destination));
        }

        long written = 0;
        await foreach (ReadOnlyMemory<byte> chunk in SnapshotAsync(cancellationToken).ConfigureAwait(false))
        {
            await destination.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
            written += chunk.Length;
        }

        return written;
    }

    /// <summary>
    /// Streams a snapshot (see <see cref="SnapshotAsync(CancellationToken)"/>) into <paramref name="destination"/>,
    /// flushing after each chunk so the pipe's back-pressure paces the network. The writer is not completed.
    /// If the pipe's reader completes early, the transfer stops and the bytes written so far are returned.
    /// </summary>
    /// <param name="destination">The pipe to write into.</param>
    /// <param name="cancellationToken">Cancels the transfer.</param>
    /// <returns>The number of bytes written, including the 32-byte SHA-256 trailer when the transfer finished.</returns>
    /// <exception cref="EtcdClientException">No endpoint answered, etcd refused the snapshot, or the stream broke.</exception>
    /// <exception cref="OperationCanceledException">Cancelled, or the pipe's pending flush was cancelled.</exception>
    public virtual async Task<long> WriteSnapshotAsync(PipeWriter destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        long written = 0;
        await foreach (ReadOnlyMemory<byte> chunk in SnapshotAsync(cancellationToken).ConfigureAwait(false))
        {
            FlushResult result = await destination.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
            written += chunk.Length;
            if (result.IsCanceled)
            {
                throw new OperationCanceledException("The pipe's pending flush was cancelled.");
            }

            if (result.IsCompleted)
            {
                break;
            }
        }

        return written;
    }

    /// <summary>Starts the snapshot on the first endpoint that delivers a first chunk.</summary>
    private async Task<SnapshotStream> OpenSnapshotAsync(CancellationToken cancellationToken)
    {
        ThrowIfUnusable();
        const string Operation = "Snapshot";
        int start = Volatile.Read(ref _preferred);
        List<EtcdClientException>? failures = null;
        for (int i = 0; i < _connections.Length; i++)
        {
            int index = (start + i) % _connections.Length;
            EtcdConnection connection = _connections[index];
            try
            {
                SnapshotStream stream = await StartSnapshotWithTokenAsync(connection, cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _preferred, index);
                EtcdClientLog.SnapshotStarted(_logger, connection.Endpoint);
                return stream;
            }
            catch (RpcException ex)
            {
                ThrowIfCancelled(ex, cancellationToken);
                EtcdClientException failure = MapException(connection, Operation, ex);
                if (!CanFailOver(ex, failure, idempotent: true))
                {
                    throw failure;
                }

                EtcdClientLog.EndpointFailed(_logger, connection.Endpoint, Operation, ex.StatusCode, FirstLine(failure.Message));
                (failures ??= []).Add(failure);
            }
        }

        throw AllEndpointsFailed(Operation, failures!);
    }

    private async Task<SnapshotStream> StartSnapshotWithTokenAsync(EtcdConnection connection, CancellationToken cancellationToken)
    {
        string? token = await GetTokenAsync(connection, cancellationToken).ConfigureAwait(false);
        try
        {
            return await SnapshotStream.StartAsync(this, connection, token, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex) when (IsTokenProblem(ex))
        {
            EtcdClientLog.TokenRefresh(_logger, connection.Endpoint, ex.Status.Detail);
            token = await RefreshTokenAsync(connection, token, cancellationToken).ConfigureAwait(false);
            return await SnapshotStream.StartAsync(this, connection, token, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One snapshot call positioned on a chunk. Before the first chunk it throws raw <see cref="RpcException"/>s
    /// (so the caller can fail over); afterwards <see cref="MoveNextAsync"/> throws <see cref="EtcdClientException"/>.
    /// </summary>
    private sealed class SnapshotStream : IAsyncDisposable
    {
        private readonly EtcdClient _client;
        private readonly EtcdSnapshotChunk _chunk;
        private readonly AsyncServerStreamingCall<EtcdSnapshotChunk> _call;
        private readonly CancellationTokenSource _timeout;
        private readonly CancellationToken _cancellationToken;
        private readonly Stopwatch _stopwatch = Stopwatch.StartNew();

        // remaining_bytes bookkeeping: the database size announced by the first chunk, database bytes seen so far,
        // and whether the closing digest message has arrived.
        private ulong _databaseSize;
        private ulong _databaseBytes;
        private bool _digestSeen;

        private SnapshotStream(EtcdClient client, EtcdConnection connection, EtcdSnapshotChunk chunk, AsyncServerStreamingCall<EtcdSnapshotChunk> call, CancellationTokenSource timeout, CancellationToken cancellationToken)
        {
            _client = client;
            Connection = connection;
            _chunk = chunk;
            _call = call;
            _timeout = timeout;
            _cancellationToken = cancellationToken;
        }

        public EtcdConnection Connection { get; }

        public ReadOnlyMemory<byte> Current => _chunk.Blob;

        public long BytesDelivered { get; private set; }

        public bool Failed { get; private set; }

        public static async Task<SnapshotStream> StartAsync(EtcdClient client, EtcdConnection connection, string? token, CancellationToken cancellationToken)
        {
            var chunk = new EtcdSnapshotChunk();
            // No deadline on the stream, but the first chunk must come within the call timeout (a server that
            // accepts the connection and never answers must not hang the fail-over).
            var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (client._callTimeout != Timeout.InfiniteTimeSpan)
            {
                timeout.CancelAfter(client._callTimeout);
            }

            AsyncServerStreamingCall<EtcdSnapshotChunk>? call = null;
            try
            {
                call = connection.Invoker.AsyncServerStreamingCall(
                    chunk.CreateMethod(), null, client.CreateCallOptions(token, deadline: false, timeout.Token), new SnapshotRequest());
                var stream = new SnapshotStream(client, connection, chunk, call, timeout, cancellationToken);
                await stream.ReadFirstAsync().ConfigureAwait(false);
                return stream;
            }
            catch
            {
                call?.Dispose();
                chunk.Dispose();
                timeout.Dispose();
                throw;
            }
        }

        private async Task ReadFirstAsync()
        {
            bool any;
            try
            {
                any = await ReadNonEmptyAsync().ConfigureAwait(false);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && !_cancellationToken.IsCancellationRequested && _timeout.IsCancellationRequested)
            {
                throw new RpcException(new Status(
                    StatusCode.DeadlineExceeded, $"no snapshot data within {_client._callTimeout.TotalSeconds:0.#} s"));
            }

            // The first chunk is here: from now on the stream has no time limit.
            _timeout.CancelAfter(Timeout.InfiniteTimeSpan);
            if (!any)
            {
                throw new RpcException(new Status(StatusCode.DataLoss, "the snapshot stream ended without any data"));
            }

            Account();
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        public async ValueTask<bool> MoveNextAsync()
        {
            BytesDelivered += _chunk.Blob.Length;
            bool any;
            try
            {
                any = await ReadNonEmptyAsync().ConfigureAwait(false);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && _cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The snapshot stream was cancelled.", ex, _cancellationToken);
            }
            catch (RpcException ex)
            {
                // (A Cancelled status without the caller's cancellation is the first-chunk timer firing in the
                // instant the first chunk arrived: a failure like any other.)
                throw Fail(ex.StatusCode, DescribeCause(ex), ex);
            }

            if (!any)
            {
                if (!_digestSeen)
                {
                    throw Fail(StatusCode.DataLoss, $"the stream ended without etcd's closing SHA-256 message ({_databaseBytes} of {_databaseSize} database bytes)", null);
                }

                EtcdClientLog.SnapshotCompleted(_client._logger, Connection.Endpoint, BytesDelivered, _stopwatch.ElapsedMilliseconds);
                return false;
            }

            Account();
            return true;
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<bool> ReadNonEmptyAsync()
        {
            while (await _call.ResponseStream.MoveNext(CancellationToken.None).ConfigureAwait(false))
            {
                if (_chunk.Blob.Length != 0)
                {
                    return true;
                }
            }

            return false;
        }

        // Checks a chunk against remaining_bytes: database chunks count down to 0, then one 32-byte digest, then the end.
        private void Account()
        {
            ulong length = (ulong)_chunk.Blob.Length;
            ulong remaining = _chunk.RemainingBytes;
            if (_digestSeen)
            {
                throw Fail(StatusCode.DataLoss, "etcd sent data after the closing SHA-256 message", null);
            }

            if (_databaseBytes == 0 && _databaseSize == 0)
            {
                _databaseSize = length + remaining;
                _databaseBytes = length;
                return;
            }

            if (_databaseBytes == _databaseSize)
            {
                if (length != 32 || remaining != 0)
                {
                    throw Fail(StatusCode.DataLoss, $"expected etcd's closing 32-byte SHA-256 message, got {length} bytes with remaining_bytes {remaining}", null);
                }

                _digestSeen = true;
                return;
            }

            _databaseBytes += length;
            if (_databaseBytes > _databaseSize || remaining != _databaseSize - _databaseBytes)
            {
                throw Fail(StatusCode.DataLoss, $"remaining_bytes {remaining} does not match {_databaseBytes} of {_databaseSize} database bytes received", null);
            }
        }

        private EtcdClientException Fail(StatusCode statusCode, string cause, Exception? inner)
        {
            Failed = true;
            long bytes = BytesDelivered;
            EtcdClientLog.SnapshotFailed(_client._logger, Connection.Endpoint, bytes, statusCode);
            return new EtcdClientException(
                $"The etcd snapshot stream from {Connection.Endpoint} failed after {bytes} bytes: {statusCode}: {cause}",
                Connection.Endpoint,
                statusCode,
                inner);
        }

        public ValueTask DisposeAsync()
        {
            // Disposing an unfinished call cancels it on the server.
            _call.Dispose();
            _chunk.Dispose();
            _timeout.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
