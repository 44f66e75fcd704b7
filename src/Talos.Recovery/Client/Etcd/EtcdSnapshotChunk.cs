using System.Buffers;
using System.Text;
using Grpc.Core;
using Talos.Recovery.Api.Etcd;

namespace Talos.Recovery.Client.Etcd;

/// <summary>
/// One <c>etcdserverpb.SnapshotResponse</c>, parsed by hand into a buffer that is reused for every message of one
/// snapshot stream: no allocation per chunk (the generated parser would allocate a message, a ByteString and a
/// 32 KiB array per chunk). <see cref="Blob"/> is valid until the next message is parsed or the chunk is disposed.
/// </summary>
/// <remarks>
/// Wire layout (proto3): 1 header (message, skipped), 2 remaining_bytes (uint64), 3 blob (bytes), 4 version (string,
/// etcd 3.6+). Unknown fields are skipped by wire type; every length is checked against the payload.
/// </remarks>
internal sealed class EtcdSnapshotChunk : IDisposable
{
    private const string MessageName = "SnapshotResponse";

    private const int InitialBufferSize = 32 * 1024;

    private byte[]? _buffer;
    private int _length;

    /// <summary>The blob of the last parsed message.</summary>
    public ReadOnlyMemory<byte> Blob => _buffer is null ? ReadOnlyMemory<byte>.Empty : new ReadOnlyMemory<byte>(_buffer, 0, _length);

    /// <summary>remaining_bytes of the last parsed message.</summary>
    public ulong RemainingBytes { get; private set; }

    /// <summary>The server's storage version (etcd 3.6+), from the first message that carried one.</summary>
    public string? Version { get; private set; }

    /// <summary>
    /// A marshaller whose deserializer parses every message into this instance and returns it. Make one per stream.
    /// </summary>
    public Marshaller<EtcdSnapshotChunk> CreateMarshaller()
        => Marshallers.Create<EtcdSnapshotChunk>(
            static (_, _) => throw new NotSupportedException("Snapshot responses are never sent by the client."),
            context =>
            {
                Parse(context.PayloadAsReadOnlySequence());
                return this;
            });

    /// <summary>The snapshot method bound to this chunk's marshaller.</summary>
    public Method<SnapshotRequest, EtcdSnapshotChunk> CreateMethod()
        => new(MethodType.ServerStreaming, "etcdserverpb.Maintenance", "Snapshot", SnapshotRequestMarshaller, CreateMarshaller());

    // SnapshotRequest has no fields: its serialized form is always empty.
    private static readonly Marshaller<SnapshotRequest> SnapshotRequestMarshaller = Marshallers.Create<SnapshotRequest>(
        static _ => [],
        static _ => new SnapshotRequest());

    /// <summary>Parses one serialized SnapshotResponse.</summary>
    /// <exception cref="InvalidDataException">The payload is not a valid SnapshotResponse.</exception>
    public void Parse(ReadOnlySequence<byte> payload)
    {
        _length = 0;
        RemainingBytes = 0;
        var reader = new SequenceReader<byte>(payload);
        while (!reader.End)
        {
            ulong tag = ProtoWireReader.ReadVarint(ref reader, MessageName);
            ulong field = tag >> 3;
            int wireType = (int)(tag & 7);
            if (field == 0)
            {
                throw new InvalidDataException("SnapshotResponse has a field number 0.");
            }

            switch (field, wireType)
            {
                case (2, 0):
                    RemainingBytes = ProtoWireReader.ReadVarint(ref reader, MessageName);
                    break;
                case (3, 2):
                    ReadBlob(ref reader);
                    break;
                case (4, 2):
                    ReadVersion(ref reader);
                    break;
                default:
                    ProtoWireReader.SkipField(ref reader, wireType, MessageName);
                    break;
            }
        }
    }

    private void ReadBlob(ref SequenceReader<byte> reader)
    {
        int length = ProtoWireReader.ReadLength(ref reader, MessageName);
        if (_buffer is null || _buffer.Length < length)
        {
            byte[]? old = _buffer;
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, InitialBufferSize));
            if (old is not null)
            {
                ArrayPool<byte>.Shared.Return(old);
            }
        }

        if (!reader.TryCopyTo(_buffer.AsSpan(0, length)))
        {
            throw new InvalidDataException("SnapshotResponse blob runs past the end of the message.");
        }

        reader.Advance(length);
        _length = length;
    }

    private void ReadVersion(ref SequenceReader<byte> reader)
    {
        int length = ProtoWireReader.ReadLength(ref reader, MessageName);
        if (Version is null && length > 0)
        {
            // Once per stream at most.
            byte[] bytes = new byte[length];
            reader.TryCopyTo(bytes);
            Version = Encoding.UTF8.GetString(bytes);
        }

        reader.Advance(length);
    }



    /// <summary>Returns the buffer to the pool; <see cref="Blob"/> must not be used afterwards.</summary>
    public void Dispose()
    {
        byte[]? buffer = _buffer;
        _buffer = null;
        _length = 0;
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
