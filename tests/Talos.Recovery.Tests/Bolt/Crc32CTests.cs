using System.Text;
using Talos.Recovery.Bolt;

namespace Talos.Recovery.Tests.Bolt;

public class Crc32CTests
{
    [Test]
    public void Check_value_of_123456789_is_the_Castagnoli_one()
        => Assert.That(Crc32C.Compute("123456789"u8), Is.EqualTo(0xE3069283u));

    [Test]
    public void Incremental_appends_in_any_split_equal_one_shot()
    {
        var data = new byte[1000];
        new Random(7).NextBytes(data);
        var whole = Crc32C.Compute(data);
        foreach (var split in new[] { 0, 1, 7, 8, 31, 32, 33, 500, 999, 1000 })
        {
            var crc = new Crc32C();
            crc.Append(data.AsSpan(0, split));
            crc.Append(data.AsSpan(split));
            Assert.That(crc.Value, Is.EqualTo(whole), $"split at {split}");
        }
    }

    [TestCase(0, 0)]
    [TestCase(17, 0)]
    [TestCase(0, 17)]
    [TestCase(100, 1)]
    [TestCase(3, 4079)]
    [TestCase(1000, 65535)]
    [TestCase(1000, 65536)]
    [TestCase(5, 65537)]
    [TestCase(9, 200_001)]
    [TestCase(1, 1 << 21)]
    public void Appending_a_register_computed_from_zero_equals_appending_the_bytes(int prefixLength, int length)
    {
        var random = new Random(prefixLength + length);
        var prefix = new byte[prefixLength];
        var data = new byte[length];
        random.NextBytes(prefix);
        random.NextBytes(data);

        var direct = new Crc32C();
        direct.Append(prefix);
        direct.Append(data);

        var combined = new Crc32C();
        combined.Append(prefix);
        combined.Append(Crc32C.Update(0, data), data.Length);

        Assert.That(combined.Value, Is.EqualTo(direct.Value));
    }

    [Test]
    public void Shift_over_zero_bytes_equals_hashing_zero_bytes()
    {
        foreach (var length in new[] { 1, 2, 255, 4096, 65535, 65536, 65537, 131_072, 1_000_003 })
        {
            Assert.That(Crc32C.Shift(0xDEADBEEF, length), Is.EqualTo(Crc32C.Update(0xDEADBEEF, new byte[length])), $"length {length}");
        }
    }

    [Test]
    public void Matches_a_bitwise_reference_implementation()
    {
        var random = new Random(11);
        for (var length = 0; length < 100; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            Assert.That(Crc32C.Compute(data), Is.EqualTo(Reference(data)), $"length {length}");
        }
    }

    [Test]
    public void Meta_checksum_is_FNV1a_64()
        => Assert.That(BoltMeta.Fnv1a64(Encoding.ASCII.GetBytes("a")), Is.EqualTo(0xaf63dc4c8601ec8cUL));

    private static uint Reference(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }

        return ~crc;
    }
}
