using System.Buffers;
using System.Text;
using Google.Protobuf;
using Grpc.Core;

namespace Talos.Recovery.Client;

/// <summary>
/// One <c>common.Data</c> message, parsed by hand into a buffer reused for every message of one stream: no allocation
/// per chunk (the generated parser would allocate a message and a <c>ByteString</c> per ~1 KiB chunk).
/// <see cref="Bytes"/> is valid until the next message is parsed or the chunk is disposed.
/// </summary>
/// <remarks>
/// Wire layout: 1 metadata (common.Metadata: 1 hostname, 2 error, 3 status google.rpc.Status{1 code, 2 message}),
/// 2 bytes. Metadata is only present in one-to-many mode or on apid's error chunks; its strings are decoded only then.
/// Unknown fields are skipped by wire type; every length is checked against the payload.
/// </remarks>
internal sealed class TalosDataChunk : IDisposable
{
    private const string MessageName = "common.Data";

    private const int InitialBufferSize = 4 * 1024;

    private byte[]? _buffer;
    private int _length;
    private bool _sawBytes;

    /// <summary>The payload bytes of the last parsed message (empty when they went to <see cref="Sink"/>).</summary>
    public ReadOnlyMemory<byte> Bytes => _buffer is null || Sink is not null ? ReadOnlyMemory<byte>.Empty : new ReadOnlyMemory<byte>(_buffer, 0, _length);

    /// <summary>The number of payload bytes of the last parsed message (in <see cref="Bytes"/> or written to <see cref="Sink"/>).</summary>
    public int Length => _length;

    /// <summary>
    /// When set, payload bytes are copied straight from the gRPC receive buffer into this writer (advanced, not
    /// flushed) instead of into <see cref="Bytes"/>: one copy per message instead of two. The bytes of a message that
    /// also reports an error are written before the caller sees the error, so a caller using a sink must discard what
    /// it wrote when the stream fails.
    /// </summary>
    public IBufferWriter<byte>? Sink { get; set; }

    /// <summary><c>metadata.error</c> of the last parsed message, or <see langword="null"/>.</summary>
    public string? Error { get; private set; }

    /// <summary><c>metadata.status.code</c> of the last parsed message, if it carried a status.</summary>
    public int? StatusCode { get; private set; }

    /// <summary><c>metadata.status.message</c> of the last parsed message, or <see langword="null"/>.</summary>
    public string? StatusMessage { get; private set; }

    /// <summary><c>metadata.hostname</c> of the last parsed message that had an error, or <see langword="null"/>.</summary>
    public string? Hostname { get; private set; }

    /// <summary>Whether the last message reported an upstream error (one-to-many style).</summary>
    public bool HasError => !string.IsNullOrEmpty(Error) || StatusCode is > 0;

    /// <summary>A server-streaming method whose responses parse into this instance. Make one chunk per stream.</summary>
    public Method<TRequest, TalosDataChunk> CreateMethod<TRequest>(string name)
        where TRequest : class, IMessage<TRequest>, new()
        => new(
            MethodType.ServerStreaming,
            "machine.MachineService",
            name,
            RequestMarshaller<TRequest>.Instance,
            Marshallers.Create<TalosDataChunk>(
                static (_, _) => throw new NotSupportedException("Data messages are never sent on this method."),
                context =>
                {
                    Parse(context.PayloadAsReadOnlySequence());
                    return this;
                }));

    /// <summary>Parses one serialized <c>common.Data</c>.</summary>
    /// <exception cref="InvalidDataException">The payload is not a valid message.</exception>
    public void Parse(ReadOnlySequence<byte> payload)
    {
        _length = 0;
        _sawBytes = false;
        Error = null;
        StatusCode = null;
        StatusMessage = null;
        Hostname = null;
        var reader = new SequenceReader<byte>(payload);
        while (!reader.End)
        {
            (int field, int wireType) = ReadTag(ref reader);
            switch (field, wireType)
            {
                case (1, 2):
                    int metadataLength = ProtoWireReader.ReadLength(ref reader, MessageName);
                    ParseMetadata(reader.UnreadSequence.Slice(0, metadataLength), ref reader);
                    break;
                case (2, 2):
                    ReadBytes(ref reader);
                    break;
                default:
                    ProtoWireReader.SkipField(ref reader, wireType, MessageName);
                    break;
            }
        }
    }

    private void ParseMetadata(ReadOnlySequence<byte> metadata, ref SequenceReader<byte> outer)
    {
        outer.Advance(metadata.Length);
        var reader = new SequenceReader<byte>(metadata);
        string? hostname = null;
        while (!reader.End)
        {
            (int field, int wireType) = ReadTag(ref reader);
            switch (field, wireType)
            {
                case (1, 2):
                    hostname = ReadString(ref reader);
                    break;
                case (2, 2):
                    Error = ReadString(ref reader);
                    break;
                case (3, 2):
                    int statusLength = ProtoWireReader.ReadLength(ref reader, MessageName);
                    ParseStatus(reader.UnreadSequence.Slice(0, statusLength), ref reader);
                    break;
                default:
                    ProtoWireReader.SkipField(ref reader, wireType, MessageName);
                    break;
            }
        }

        Hostname = hostname;
    }

    private void ParseStatus(ReadOnlySequence<byte> status, ref SequenceReader<byte> outer)
    {
        outer.Advance(status.Length);
        var reader = new SequenceReader<byte>(status);
        StatusCode = 0;
        while (!reader.End)
        {
            (int field, int wireType) = ReadTag(ref reader);
            switch (field, wireType)
            {
                case (1, 0):
                    StatusCode = unchecked((int)ProtoWireReader.ReadVarint(ref reader, MessageName));
                    break;
                case (2, 2):
                    StatusMessage = ReadString(ref reader);
                    break;
                default:
                    ProtoWireReader.SkipField(ref reader, wireType, MessageName);
                    break;
            }
        }
    }

    private void ReadBytes(ref SequenceReader<byte> reader)
    {
        int length = ProtoWireReader.ReadLength(ref reader, MessageName);
        Span<byte> destination = Sink is { } sink ? SinkSpan(sink, length) : BufferSpan(length);
        reader.TryCopyTo(destination);
        reader.Advance(length);
        Sink?.Advance(length);
        _length = length;
    }

    private Span<byte> SinkSpan(IBufferWriter<byte> sink, int length)
    {
        if (_sawBytes)
        {
            // Protobuf keeps the last of repeated occurrences, but the first is already in the sink. No protobuf
            // encoder writes a singular field twice; refuse rather than write bytes that do not count.
            throw new InvalidDataException("common.Data has its bytes field more than once.");
        }

        _sawBytes = true;
        return length == 0 ? Span<byte>.Empty : sink.GetSpan(length)[..length];
    }

    private Span<byte> BufferSpan(int length)
    {
        if (_buffer is null || _buffer.Length < length)
        {
            byte[]? old = _buffer;
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, InitialBufferSize));
            if (old is not null)
            {
                ArrayPool<byte>.Shared.Return(old);
            }
        }

        return _buffer.AsSpan(0, length);
    }

    private static string ReadString(ref SequenceReader<byte> reader)
    {
        int length = ProtoWireReader.ReadLength(ref reader, MessageName);
        string value = Encoding.UTF8.GetString(reader.UnreadSequence.Slice(0, length));
        reader.Advance(length);
        return value;
    }

    private static (int Field, int WireType) ReadTag(ref SequenceReader<byte> reader)
    {
        ulong tag = ProtoWireReader.ReadVarint(ref reader, MessageName);
        ulong field = tag >> 3;
        if (field == 0 || field > int.MaxValue)
        {
            throw new InvalidDataException("common.Data has an invalid field number.");
        }

        return ((int)field, (int)(tag & 7));
    }



    /// <summary>Returns the buffer to the pool; <see cref="Bytes"/> must not be used afterwards.</summary>
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

    /// <summary>Marshals a generated request message (small, once per call).</summary>
    internal static class RequestMarshaller<T>
        where T : class, IMessage<T>, new()
    {
        public static readonly Marshaller<T> Instance = Marshallers.Create<T>(
            static message => message.ToByteArray(),
            static data => new MessageParser<T>(static () => new T()).ParseFrom(data));
    }
}

/// <summary>
/// Serializes upload chunks as <c>common.Data{bytes}</c> straight from the caller's buffer (no <c>ByteString</c> copy).
/// </summary>
internal static class TalosDataUpload
{
    /// <summary>The <c>EtcdRecover</c> client-streaming method with a copy-free request marshaller.</summary>
    public static readonly Method<UploadChunk, Api.Machine.EtcdRecoverResponse> EtcdRecover = new(
        MethodType.ClientStreaming,
        "machine.MachineService",
        "EtcdRecover",
        Marshallers.Create<UploadChunk>(
            static (message, context) =>
            {
                ReadOnlyMemory<byte> chunk = message.Bytes;
                int length = chunk.Length;
                int header = 1 + VarintSize((uint)length);
                context.SetPayloadLength(length == 0 ? 0 : header + length);
                if (length != 0)
                {
                    IBufferWriter<byte> writer = context.GetBufferWriter();
                    Span<byte> span = writer.GetSpan(header);
                    span[0] = 0x12; // field 2, length-delimited
                    int written = 1;
                    uint value = (uint)length;
                    while (value >= 0x80)
                    {
                        span[written++] = (byte)(value | 0x80);
                        value >>= 7;
                    }

                    span[written++] = (byte)value;
                    writer.Advance(written);
                    writer.Write(chunk.Span);
                }

                context.Complete();
            },
            static _ => throw new NotSupportedException("Upload chunks are never received.")),
        Marshallers.Create<Api.Machine.EtcdRecoverResponse>(
            static message => message.ToByteArray(),
            static data => Api.Machine.EtcdRecoverResponse.Parser.ParseFrom(data)));

    /// <summary>One upload message: the bytes to send (reused for every message of a call; serialized before the write completes).</summary>
    internal sealed class UploadChunk
    {
        public ReadOnlyMemory<byte> Bytes { get; set; }
    }

    private static int VarintSize(uint value)
    {
        int size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }

        return size;
    }
}
