using System.Buffers.Binary;
using Grpc.Core;

namespace Talos.Recovery.Tests.Client.Transport;

/// <summary>The raw-bytes gRPC methods served by <c>TlsTestServer</c> (no generated code on either side).</summary>
internal static class RawGrpc
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(bytes => bytes, bytes => bytes);

    public static Method<byte[], byte[]> Unary { get; } = new(MethodType.Unary, "test.Echo", "Unary", Bytes, Bytes);

    public static Method<byte[], byte[]> Stream { get; } = new(MethodType.ServerStreaming, "test.Echo", "Stream", Bytes, Bytes);

    public static byte[] StreamRequest(int count, int size)
    {
        byte[] request = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(request, count);
        BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(4), size);
        return request;
    }
}
