using System.Globalization;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Tests.Cli;

namespace Talos.Recovery.Tests.Snapshots.Formatting;

// Expected strings are what go-humanize 1.0.0 (as linked into Debian's etcdctl 3.4.23, go1.19.8 amd64) prints.
public class HumanizeBytesTests
{
    [TestCase(0L, "0 B")]
    [TestCase(1L, "1 B")]
    [TestCase(9L, "9 B")]
    [TestCase(10L, "10 B")]
    [TestCase(11L, "11 B")]
    [TestCase(99L, "99 B")]
    [TestCase(100L, "100 B")]
    [TestCase(999L, "999 B")]
    [TestCase(1000L, "1.0 kB")]
    [TestCase(1049L, "1.0 kB")]
    [TestCase(1050L, "1.1 kB")]
    [TestCase(1051L, "1.1 kB")]
    [TestCase(1149L, "1.1 kB")]
    [TestCase(1150L, "1.2 kB")]
    [TestCase(1151L, "1.2 kB")]
    [TestCase(1250L, "1.3 kB")]
    [TestCase(1350L, "1.4 kB")]
    [TestCase(2500L, "2.5 kB")]
    [TestCase(8192L, "8.2 kB")]
    [TestCase(9949L, "9.9 kB")]
    [TestCase(9950L, "10 kB")]
    [TestCase(9999L, "10 kB")]
    [TestCase(10000L, "10 kB")]
    [TestCase(10499L, "10 kB")]
    [TestCase(12450L, "12 kB")]
    [TestCase(24576L, "25 kB")]
    [TestCase(99499L, "100 kB")]
    [TestCase(99500L, "100 kB")]
    [TestCase(100499L, "100 kB")]
    [TestCase(999499L, "1000 kB")]
    [TestCase(999500L, "1000 kB")]
    [TestCase(999999L, "1000 kB")]
    [TestCase(1000000L, "1.0 MB")]
    [TestCase(1048576L, "1.0 MB")]
    [TestCase(1073741824L, "1.1 GB")]
    [TestCase(4294967296L, "4.3 GB")]
    [TestCase(999999999999L, "1000 GB")]
    [TestCase(1000000000000L, "1.0 TB")]
    [TestCase(9223372036854775807L, "9.2 EB")]
    public void Bytes_are_humanized_as_go_humanize_does(long bytes, string expected)
    {
        Assert.That(SnapshotStatusFormatter.HumanizeBytes(bytes), Is.EqualTo(expected));
    }

    // %.0f rounds the exact binary value half to even: x.5 goes to the even neighbour, unlike .NET's Math.Round default
    // of old and unlike "round half up".
    [TestCase(10500L, "10 kB")]
    [TestCase(11500L, "12 kB")]
    [TestCase(12500L, "12 kB")]
    [TestCase(13500L, "14 kB")]
    [TestCase(100500L, "100 kB")]
    [TestCase(101500L, "102 kB")]
    public void Whole_units_round_ties_to_even(long bytes, string expected)
    {
        Assert.That(SnapshotStatusFormatter.HumanizeBytes(bytes), Is.EqualTo(expected));
    }

    // Go picks the unit with floor(math.Log(s) / math.Log(1000)), whose rounding reaches the next unit a few bytes early
    // just below 1e15 and 1e18.
    [TestCase(999999999999995L, "1000 TB")]
    [TestCase(999999999999996L, "1.0 PB")]
    [TestCase(1000000000000000L, "1.0 PB")]
    [TestCase(999999999999995071L, "1000 PB")]
    [TestCase(999999999999995072L, "1.0 EB")]
    [TestCase(1000000000000000000L, "1.0 EB")]
    public void The_unit_changes_where_gos_logarithm_changes_it(long bytes, string expected)
    {
        Assert.That(SnapshotStatusFormatter.HumanizeBytes(bytes), Is.EqualTo(expected));
    }

    [Test]
    public void Every_go_vector_is_reproduced()
    {
        var lines = File.ReadAllLines(TestFiles.Path("Snapshots", "Formatting", "TestData", "humanize-bytes-go.tsv"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .ToList();
        var mismatches = new List<string>();
        foreach (var line in lines)
        {
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            var size = ulong.Parse(line.AsSpan(0, tab), CultureInfo.InvariantCulture);
            var expected = line[(tab + 1)..];
            var actual = SnapshotStatusFormatter.HumanizeUnsigned(size);
            if (size <= long.MaxValue && SnapshotStatusFormatter.HumanizeBytes((long)size) != actual)
            {
                mismatches.Add($"{size}: public and unsigned forms differ");
            }

            if (actual != expected)
            {
                mismatches.Add($"{size}: expected \"{expected}\", got \"{actual}\"");
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Count.GreaterThan(10_000), "the vector file was read");
            Assert.That(mismatches.Take(20), Is.Empty, $"{mismatches.Count} of {lines.Count} sizes differ from Go");
        });
    }

    [Test]
    public void Sizes_beyond_a_long_are_humanized_like_gos_uint64()
    {
        Assert.Multiple(() =>
        {
            Assert.That(SnapshotStatusFormatter.HumanizeUnsigned(9223372036854775808UL), Is.EqualTo("9.2 EB"));
            Assert.That(SnapshotStatusFormatter.HumanizeUnsigned(ulong.MaxValue), Is.EqualTo("18 EB"));
        });
    }

    [Test]
    public void A_negative_size_is_rejected()
    {
        Assert.That(() => SnapshotStatusFormatter.HumanizeBytes(-1), Throws.TypeOf<ArgumentOutOfRangeException>());
    }
}
