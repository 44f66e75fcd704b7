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

    /// <summary>
    /// Appends bytes whose register was computed separately from a zero start (<see cref="Update"/> with 0): the CRC
    /// register is linear, so the state after them is this state shifted over <paramref name="length"/> zero bytes
    /// (multiplied by x^(8·length) mod P) XOR that register. The result equals appending the bytes themselves.
    /// </summary>
    public void Append(uint registerFromZero, long length) => _state = Shift(_state, length) ^ registerFromZero;

    /// <summary>The raw register after <paramref name="data"/> from state <paramref name="crc"/> (no pre- or post-inversion).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
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

    /// <summary>x^(8·n) mod P for n below <see cref="ShiftTableLength"/>, in the reflected form the register uses (x^0 is bit 31).</summary>
    private const int ShiftTableLength = 1 << 16;

    private static readonly Lazy<uint[]> ShiftTable = new(BuildShiftTable);

    /// <summary>x^(8·2^k·ShiftTableLength) mod P, for the part of a length at or above <see cref="ShiftTableLength"/>.</summary>
    private static readonly Lazy<uint[]> LargeShifts = new(BuildLargeShifts);

    /// <summary>The register <paramref name="crc"/> carried over <paramref name="length"/> zero bytes.</summary>
    internal static uint Shift(uint crc, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0 || crc == 0)
        {
            return crc;
        }

        crc = MultiplyModP(ShiftTable.Value[(int)(length & (ShiftTableLength - 1))], crc);
        var high = (ulong)length >> 16;
        for (var k = 0; high != 0; k++, high >>= 1)
        {
            if ((high & 1) != 0)
            {
                crc = MultiplyModP(LargeShifts.Value[k], crc);
            }
        }

        return crc;
    }

    /// <summary>a·b mod P for reflected polynomials (bit 31 holds the coefficient of x^0).</summary>
    private static uint MultiplyModP(uint a, uint b)
    {
        const uint Polynomial = 0x82F63B78;
        uint product = 0;
        for (var bit = 1u << 31; a != 0; bit >>= 1)
        {
            if ((a & bit) != 0)
            {
                product ^= b;
                a &= ~bit;
            }

            // b·x: a shift towards the high powers, reducing by P when x^31's coefficient falls out.
            b = (b & 1) != 0 ? (b >> 1) ^ Polynomial : b >> 1;
        }

        return product;
    }

    private static uint[] BuildShiftTable()
    {
        var table = new uint[ShiftTableLength];
        var power = 1u << 31;
        for (var n = 0; n < table.Length; n++)
        {
            table[n] = power;

            // One zero byte through the register multiplies it by x^8.
            power = BitOperations.Crc32C(power, (byte)0);
        }

        return table;
    }

    private static uint[] BuildLargeShifts()
    {
        var shifts = new uint[48];

        // x^(8·65536): the table's last entry, x^(8·65535), times x^8 (one more zero byte); then squares.
        var power = BitOperations.Crc32C(ShiftTable.Value[ShiftTableLength - 1], (byte)0);
        for (var k = 0; k < shifts.Length; k++)
        {
            shifts[k] = power;
            power = MultiplyModP(power, power);
        }

        return shifts;
    }
}
