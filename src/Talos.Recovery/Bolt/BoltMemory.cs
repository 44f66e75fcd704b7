using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Talos.Recovery.Bolt;

/// <summary>
/// A read-only window on a bbolt file at a stable address (a memory map or pinned memory). Every accessor is
/// bounds-checked against <see cref="Length"/>; callers check offsets read from the file before they ask.
/// </summary>
internal readonly unsafe struct BoltMemory
{
    private readonly byte* _pointer;

    public BoltMemory(byte* pointer, long length)
    {
        _pointer = pointer;
        Length = length;
    }

    public long Length { get; }

    public bool Contains(long offset, long length) => offset >= 0 && length >= 0 && offset <= Length && length <= Length - offset;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        if (!Contains(offset, length))
        {
            ThrowOutOfRange(offset, length);
        }

        return new ReadOnlySpan<byte>(_pointer + offset, length);
    }

    public ulong UInt64(long offset) => BinaryPrimitives.ReadUInt64LittleEndian(Span(offset, 8));

    public uint UInt32(long offset) => BinaryPrimitives.ReadUInt32LittleEndian(Span(offset, 4));

    public ushort UInt16(long offset) => BinaryPrimitives.ReadUInt16LittleEndian(Span(offset, 2));

    private static void ThrowOutOfRange(long offset, long length)
        => throw new InvalidOperationException($"internal error: read of {length} bytes at {offset} outside the file");
}
