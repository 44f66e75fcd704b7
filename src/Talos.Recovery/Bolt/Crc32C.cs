using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Talos.Recovery.Bolt;

/// <summary>
/// CRC-32C (Castagnoli; reflected polynomial 0x82F63B78, init and final XOR 0xFFFFFFFF), the hash of
/// <c>etcdctl snapshot status</c>. Uses the CPU's CRC32 instruction through <see cref="BitOperations.Crc32C(uint, ulong)"/>.
/// </summary>
internal struct Crc32C
{
    private uint _state;

    public Crc32C()
    {
        _state = uint.MaxValue;
    }

    public readonly uint Value => ~_state;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Append(ReadOnlySpan<byte> data) => _state = Update(_state, data);

    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(uint.MaxValue, data);

    private static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 32)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[8..]));
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[16..]));
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[24..]));
            data = data[32..];
        }

        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }
}
