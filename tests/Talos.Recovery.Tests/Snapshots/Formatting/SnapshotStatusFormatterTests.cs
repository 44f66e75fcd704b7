using System.Globalization;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Tests.Cli;

namespace Talos.Recovery.Tests.Snapshots.Formatting;

public class SnapshotStatusFormatterTests
{
    // The example of spec §3.9, taken with etcdctl 3.4.23.
    private static readonly SnapshotStatus Example = new(0x128905bf, 6, 10, 24576, 5, string.Empty);

    [Test]
    public void Simple_is_hash_revision_keys_and_humanized_size()
    {
        Assert.That(SnapshotStatusFormatter.Format(Example, SnapshotStatusFormat.Simple), Is.EqualTo("128905bf, 6, 10, 25 kB"));
    }

    [Test]
    public void Json_is_one_compact_line_in_etcdctl_field_order()
    {
        Assert.That(
            SnapshotStatusFormatter.Format(Example, SnapshotStatusFormat.Json),
            Is.EqualTo("""{"hash":310969791,"revision":6,"totalKey":10,"totalSize":24576}"""));
    }

    [Test]
    public void Table_is_tablewriter_with_centered_headers_and_right_aligned_cells()
    {
        const string expected = """
            +----------+----------+------------+------------+
            |   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |
            +----------+----------+------------+------------+
            | 128905bf |        6 |         10 |      25 kB |
            +----------+----------+------------+------------+
            """;
        Assert.That(SnapshotStatusFormatter.Format(Example, SnapshotStatusFormat.Table), Is.EqualTo(expected.ReplaceLineEndings("\n")));
    }

    [Test]
    public void Fields_are_four_quoted_name_value_lines_with_raw_numbers()
    {
        Assert.That(
            SnapshotStatusFormatter.Format(Example, SnapshotStatusFormat.Fields),
            Is.EqualTo("\"Hash\" : 310969791\n\"Revision\" : 6\n\"Keys\" : 10\n\"Size\" : 24576"));
    }

    [Test]
    public void The_hash_is_lowercase_hex_without_zero_padding()
    {
        var status = Example with { Hash = 0x0000ABCD };
        Assert.That(SnapshotStatusFormatter.Format(status, SnapshotStatusFormat.Simple), Does.StartWith("abcd, "));
    }

    [Test]
    public void Multi_line_formats_use_lf_and_end_without_a_line_break()
    {
        foreach (var format in Enum.GetValues<SnapshotStatusFormat>())
        {
            var text = SnapshotStatusFormatter.Format(Example, format);
            Assert.That(text, Does.Not.Contain('\r').And.Not.EndWith("\n"), format.ToString());
        }
    }

    [Test]
    public void A_negative_total_size_is_humanized_as_etcdctls_uint64_conversion()
    {
        var status = Example with { TotalSize = -1 };
        Assert.Multiple(() =>
        {
            Assert.That(SnapshotStatusFormatter.Format(status, SnapshotStatusFormat.Simple), Is.EqualTo("128905bf, 6, 10, 18 EB"));
            Assert.That(SnapshotStatusFormatter.Format(status, SnapshotStatusFormat.Json), Does.EndWith("\"totalSize\":-1}"));
        });
    }

    [Test]
    public void Talosctl_form_pads_the_hash_to_eight_digits_and_prints_raw_numbers()
    {
        var status = Example with { Hash = 0xABCD };
        Assert.Multiple(() =>
        {
            Assert.That(SnapshotStatusFormatter.FormatTalosctl(status), Is.EqualTo("hash 0000abcd, revision 6, total keys 10, total size 24576"));
            Assert.That(status.ToString(), Is.EqualTo(SnapshotStatusFormatter.FormatTalosctl(status)));
        });
    }

    [Test]
    public void An_undefined_format_or_a_missing_status_is_rejected()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => SnapshotStatusFormatter.Format(Example, (SnapshotStatusFormat)42), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => SnapshotStatusFormatter.Format(null!, SnapshotStatusFormat.Simple), Throws.ArgumentNullException);
            Assert.That(() => SnapshotStatusFormatter.FormatTalosctl(null!), Throws.ArgumentNullException);
        });
    }

    public static IEnumerable<TestCaseData> EtcdctlPrinterCases()
    {
        // Rendered by Go with the very printers etcdctl uses; covers columns narrower than their headers, odd gaps,
        // 19-digit numbers, a negative revision, and sizes in every unit branch.
        var lines = File.ReadAllLines(TestFiles.Path("Snapshots", "Formatting", "TestData", "etcdctl-status-formats.txt"))
            .Where(l => !l.StartsWith('#'))
            .ToList();
        for (var i = 0; i < lines.Count; i += 12)
        {
            var numbers = lines[i]["=== ".Length..].Split(' ');
            var status = new SnapshotStatus(
                uint.Parse(numbers[0], CultureInfo.InvariantCulture),
                long.Parse(numbers[1], CultureInfo.InvariantCulture),
                long.Parse(numbers[2], CultureInfo.InvariantCulture),
                long.Parse(numbers[3], CultureInfo.InvariantCulture),
                0,
                string.Empty);
            var name = lines[i][4..];
            yield return new TestCaseData(status, SnapshotStatusFormat.Simple, lines[i + 1]).SetArgDisplayNames(name, "simple");
            yield return new TestCaseData(status, SnapshotStatusFormat.Json, lines[i + 2]).SetArgDisplayNames(name, "json");
            yield return new TestCaseData(status, SnapshotStatusFormat.Table, string.Join('\n', lines.Skip(i + 3).Take(5))).SetArgDisplayNames(name, "table");
            yield return new TestCaseData(status, SnapshotStatusFormat.Fields, string.Join('\n', lines.Skip(i + 8).Take(4))).SetArgDisplayNames(name, "fields");
        }
    }

    [TestCaseSource(nameof(EtcdctlPrinterCases))]
    public void Output_is_byte_identical_to_etcdctls_printers(SnapshotStatus status, SnapshotStatusFormat format, string expected)
    {
        Assert.That(SnapshotStatusFormatter.Format(status, format), Is.EqualTo(expected));
    }
}
