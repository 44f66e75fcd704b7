using System.Buffers;
using Google.Protobuf;
using Talos.Recovery.Api.Etcd;
using Talos.Recovery.Client.Etcd;

namespace Talos.Recovery.Tests.Client.Etcd;

/// <summary>The hand-written SnapshotResponse parser against protobuf's own encoding of the generated message.</summary>
public class EtcdSnapshotChunkTests
{
    [Test]
    public void Parses_what_protobuf_serializes_including_header_and_version()
    {
        byte[] blob = Enumerable.Range(0, 32 * 1024).Select(i => (byte)i).ToArray();
        var message = new SnapshotResponse
        {
            Header = new ResponseHeader { ClusterId = 1, MemberId = 2, Revision = 3, RaftTerm = 4 },
            RemainingBytes = 123456789012,
            Blob = ByteString.CopyFrom(blob),
            Version = "3.6.0",
        };

        using var chunk = new EtcdSnapshotChunk();
        chunk.Parse(new ReadOnlySequence<byte>(message.ToByteArray()));

        Assert.Multiple(() =>
        {
            Assert.That(chunk.Blob.ToArray(), Is.EqualTo(blob));
            Assert.That(chunk.RemainingBytes, Is.EqualTo(123456789012UL));
            Assert.That(chunk.Version, Is.EqualTo("3.6.0"));
        });
    }

    [Test]
    public void Parses_a_payload_split_across_segments_and_reuses_one_buffer()
    {
        byte[] first = new SnapshotResponse { RemainingBytes = 32, Blob = ByteString.CopyFrom(new byte[1000]) }.ToByteArray();
        byte[] second = new SnapshotResponse { Blob = ByteString.CopyFrom(Enumerable.Repeat((byte)7, 32).ToArray()) }.ToByteArray();

        using var chunk = new EtcdSnapshotChunk();
        chunk.Parse(Split(first, 3));
        ReadOnlyMemory<byte> firstBlob = chunk.Blob;
        chunk.Parse(Split(second, 5));

        Assert.Multiple(() =>
        {
            Assert.That(chunk.Blob.ToArray(), Is.EqualTo(Enumerable.Repeat((byte)7, 32).ToArray()));
            Assert.That(chunk.RemainingBytes, Is.Zero, "fields absent from a message are reset");
            Assert.That(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(firstBlob, out ArraySegment<byte> a)
                        && System.Runtime.InteropServices.MemoryMarshal.TryGetArray(chunk.Blob, out ArraySegment<byte> b)
                        && ReferenceEquals(a.Array, b.Array), Is.True, "one buffer for the whole stream");
        });
    }

    [Test]
    public void Skips_unknown_fields_of_every_wire_type()
    {
        var output = new MemoryStream();
        var writer = new CodedOutputStream(output);
        writer.WriteTag(9, WireFormat.WireType.Varint);
        writer.WriteUInt64(ulong.MaxValue);
        writer.WriteTag(10, WireFormat.WireType.Fixed64);
        writer.WriteFixed64(1);
        writer.WriteTag(11, WireFormat.WireType.Fixed32);
        writer.WriteFixed32(1);
        writer.WriteTag(12, WireFormat.WireType.LengthDelimited);
        writer.WriteBytes(ByteString.CopyFromUtf8("ignored"));
        writer.WriteTag(3, WireFormat.WireType.LengthDelimited);
        writer.WriteBytes(ByteString.CopyFromUtf8("blob"));
        writer.Flush();

        using var chunk = new EtcdSnapshotChunk();
        chunk.Parse(new ReadOnlySequence<byte>(output.ToArray()));
        Assert.That(chunk.Blob.ToArray(), Is.EqualTo("blob"u8.ToArray()));
    }

    [TestCase(new byte[] { 0x1A, 0x05, 1, 2 }, TestName = "Blob length past the end")]
    [TestCase(new byte[] { 0x10, 0x80 }, TestName = "Truncated varint")]
    [TestCase(new byte[] { 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F }, TestName = "Varint over 64 bits")]
    [TestCase(new byte[] { 0x1B }, TestName = "Group wire type")]
    [TestCase(new byte[] { 0x00 }, TestName = "Field number 0")]
    [TestCase(new byte[] { 0x51, 1, 2 }, TestName = "Fixed64 past the end")]
    public void Rejects_malformed_messages(byte[] payload)
    {
        using var chunk = new EtcdSnapshotChunk();
        Assert.Throws<InvalidDataException>(() => chunk.Parse(new ReadOnlySequence<byte>(payload)));
    }

    private static ReadOnlySequence<byte> Split(byte[] bytes, int parts)
    {
        int size = (bytes.Length + parts - 1) / parts;
        Segment? first = null;
        Segment? last = null;
        for (int offset = 0; offset < bytes.Length; offset += size)
        {
            var memory = new ReadOnlyMemory<byte>(bytes, offset, Math.Min(size, bytes.Length - offset));
            if (first is null)
            {
                first = last = new Segment(memory, 0);
            }
            else
            {
                last = last!.Append(memory);
            }
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
