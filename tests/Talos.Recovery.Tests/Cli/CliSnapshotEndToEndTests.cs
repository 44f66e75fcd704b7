using System.Text.Json;
using Talos.Recovery.Cli;

namespace Talos.Recovery.Tests.Cli;

// talos-recovery on real etcd 3.4.23 snapshots (see TestData/README.md); the expected status output is what etcdctl
// printed for the same files.
public class CliSnapshotEndToEndTests
{
    private const string SmallSha256 = "24ac70cd67fc36594ccc1f1102678c3bfa53c2db0bbb41fb06c3730d28f925b0";
    private const string MediumSha256 = "693dfac0716c567df98d8910bae17a99703e56c0769b68748ff218590db43d62";
    private const string RawSha256 = "2ea3ba47816f458b8bc661c0d0037ce3872d1c860a6151ec325aa325a7bbf140";

    private string _directory = null!;

    [OneTimeSetUp]
    public void DecompressFixtures()
    {
        _directory = TestFiles.CreateTemporaryDirectory();
        foreach (var name in new[] { "small.db", "mixed.db", "raw.db", "medium.db" })
        {
            TestFiles.Decompress(name, _directory);
        }
    }

    [OneTimeTearDown]
    public void DeleteFixtures() => Directory.Delete(_directory, recursive: true);

    private string Fixture(string name) => Path.Combine(_directory, name);

    /// <summary>A copy of a fixture changed by <paramref name="change"/>, for damage the fixtures do not have.</summary>
    private string DamagedCopy(string name, string copyName, Func<byte[], byte[]> change)
    {
        var path = Path.Combine(_directory, copyName);
        File.WriteAllBytes(path, change(File.ReadAllBytes(Fixture(name))));
        return path;
    }

    private static void AssertNoStackTrace(CliRun run) =>
        Assert.That(run.Stderr, Does.Not.Contain(" at ").And.Not.Contain("Exception").And.Not.Contain(".cs:line"), run.ToString());

    public static IEnumerable<TestCaseData> EtcdctlStatusOutputs()
    {
        var lines = File.ReadAllLines(TestFiles.Path("Cli", "TestData", "etcdctl-snapshot-status.txt")).Where(l => !l.StartsWith('#')).ToList();
        for (var i = 0; i < lines.Count;)
        {
            var header = lines[i]["=== ".Length..].Split(' ');
            var end = lines.FindIndex(i + 1, l => l.StartsWith("=== ", StringComparison.Ordinal));
            end = end < 0 ? lines.Count : end;
            var expected = string.Concat(lines.Skip(i + 1).Take(end - i - 1).Select(l => l + "\n"));
            yield return new TestCaseData(header[0], header[1], expected).SetArgDisplayNames(header[0], header[1]);
            i = end;
        }
    }

    [TestCaseSource(nameof(EtcdctlStatusOutputs))]
    public async Task Status_prints_exactly_what_etcdctl_prints(string file, string format, string expected)
    {
        var run = await CliRunner.RunAsync("snapshot", "status", Fixture(file), "-w", format);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(run.Stdout, Is.EqualTo(expected));
            Assert.That(run.Stderr, Is.Empty);
        });
    }

    [Test]
    public async Task Status_defaults_to_simple_and_ignores_the_trailer_like_etcdctl()
    {
        var damaged = DamagedCopy("small.db", "small-bad-trailer.db", bytes => { bytes[^1] ^= 0xFF; return bytes; });
        var run = await CliRunner.RunAsync("snapshot", "status", damaged);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(run.Stdout, Is.EqualTo("f35efe0a, 6, 9, 20 kB\n"));
        });
    }

    [Test]
    public async Task Verify_of_a_streamed_snapshot_reports_the_verified_trailer_and_status()
    {
        var run = await CliRunner.RunAsync("snapshot", "verify", Fixture("small.db"));
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(run.Stdout, Is.EqualTo($"""
                file:             {Fixture("small.db")}
                size:             20512 bytes (20 kB): 20480-byte database + 32-byte SHA-256 trailer
                trailer:          verified, sha256 {SmallSha256}
                status:           hash f35efe0a, revision 6, total keys 9, total size 20480
                result:           valid

                """.ReplaceLineEndings("\n")));
            Assert.That(run.Stderr, Is.Empty);
        });
    }

    [Test]
    public async Task Verify_of_a_larger_snapshot_with_deletions_passes()
    {
        var run = await CliRunner.RunAsync("snapshot", "verify", Fixture("medium.db"));
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(run.Stdout, Does.Contain($"trailer:          verified, sha256 {MediumSha256}\n"));
            Assert.That(run.Stdout, Does.Contain("status:           hash bc86aa81, revision 1111, total keys 1227, total size 442368\n"));
        });
    }

    [Test]
    public async Task Verify_of_a_raw_copy_fails_without_skip_hash_check_and_says_why()
    {
        var run = await CliRunner.RunAsync("snapshot", "verify", Fixture("raw.db"));
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Failure), run.ToString());
            Assert.That(run.StderrLines, Has.Some.StartsWith("error TrailerMissing"));
            Assert.That(run.StderrLines, Has.Some.StartsWith("Error: " + Fixture("raw.db") + ": verification failed with 1 error"));
            Assert.That(run.StderrLines, Has.Some.Contains("--skip-hash-check"));
            AssertNoStackTrace(run);
        });
    }

    [Test]
    public async Task Verify_of_a_raw_copy_passes_with_skip_hash_check()
    {
        var run = await CliRunner.RunAsync("snapshot", "verify", "--skip-hash-check", Fixture("raw.db"));
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(run.Stdout, Does.Contain("size:             20480 bytes (20 kB), no SHA-256 trailer\n"));
            Assert.That(run.Stdout, Does.Contain("trailer:          absent"));
            Assert.That(run.Stdout, Does.Contain("status:           hash f9e75427, revision 9, total keys 12, total size 20480\n"));
            Assert.That(run.Stderr, Is.Empty);
        });
    }

    [Test]
    public async Task Verify_with_skip_hash_check_does_not_compare_a_present_trailer()
    {
        var damaged = DamagedCopy("small.db", "small-skip.db", bytes => { bytes[^1] ^= 0xFF; return bytes; });
        var run = await CliRunner.RunAsync("snapshot", "verify", damaged, "--skip-hash-check");
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(run.Stdout, Does.Contain("trailer:          present, not checked"));
        });
    }

    [Test]
    public async Task Verify_detects_a_wrong_trailer()
    {
        var damaged = DamagedCopy("small.db", "small-mismatch.db", bytes => { bytes[^1] ^= 0xFF; return bytes; });
        var run = await CliRunner.RunAsync("snapshot", "verify", damaged);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Failure), run.ToString());
            Assert.That(run.Stdout, Does.Contain($"trailer:          MISMATCH, stored sha256 ").And.Contain($", computed {SmallSha256}\n"));
            Assert.That(run.StderrLines, Has.Some.StartsWith("error TrailerMismatch"));
            AssertNoStackTrace(run);
        });
    }

    [Test]
    public async Task Verify_of_a_damaged_page_fails_with_one_line_per_problem()
    {
        // Overwrite the last page of the database part of the medium snapshot (a leaf of the key bucket) with junk.
        var damaged = DamagedCopy("medium.db", "medium-junk.db", bytes =>
        {
            var pageStart = bytes.Length - 32 - 4096;
            new Random(7).NextBytes(bytes.AsSpan(pageStart, 4096));
            return bytes;
        });
        var run = await CliRunner.RunAsync("snapshot", "verify", damaged, "--skip-hash-check");
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Failure), run.ToString());
            Assert.That(run.StderrLines, Has.All.Match("^(error |warning |Error: |Hint: )"), "one line per problem, then the verdict");
            Assert.That(run.StderrLines.Count(l => l.StartsWith("error ", StringComparison.Ordinal)), Is.GreaterThan(0));
            AssertNoStackTrace(run);
        });
    }

    [Test]
    public async Task A_file_that_is_not_a_snapshot_fails_cleanly_in_every_verb()
    {
        var junk = Path.Combine(_directory, "junk.db");
        var bytes = new byte[16384];
        new Random(1).NextBytes(bytes);
        await File.WriteAllBytesAsync(junk, bytes);
        foreach (var verb in new[] { "status", "verify", "inspect" })
        {
            var run = await CliRunner.RunAsync("snapshot", verb, junk);
            Assert.Multiple(() =>
            {
                Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Failure), verb + "\n" + run);
                Assert.That(run.Stderr, Does.Contain("Error: "), verb);
                AssertNoStackTrace(run);
            });
        }
    }

    [Test]
    public async Task Status_of_a_truncated_snapshot_is_an_error_not_a_crash()
    {
        var truncated = DamagedCopy("medium.db", "medium-truncated.db", bytes => bytes[..(16 * 4096)]);
        var run = await CliRunner.RunAsync("snapshot", "status", truncated);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Failure), run.ToString());
            Assert.That(run.Stderr, Does.StartWith("Error: "));
            Assert.That(run.Stdout, Is.Empty);
            AssertNoStackTrace(run);
        });
    }

    [Test]
    public async Task Verify_json_is_machine_readable()
    {
        var run = await CliRunner.RunAsync("snapshot", "verify", Fixture("small.db"), "-w", "json");
        using var json = JsonDocument.Parse(run.Stdout);
        var root = json.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(root.GetProperty("valid").GetBoolean(), Is.True);
            Assert.That(root.GetProperty("trailer").GetString(), Is.EqualTo("verified"));
            Assert.That(root.GetProperty("actualSha256").GetString(), Is.EqualTo(SmallSha256));
            Assert.That(root.GetProperty("status").GetProperty("hash").GetUInt32(), Is.EqualTo(4083088906));
            Assert.That(root.GetProperty("problems").GetArrayLength(), Is.Zero);
        });
    }

    [Test]
    public async Task Inspect_json_counts_live_keys_per_resource()
    {
        var run = await CliRunner.RunAsync("snapshot", "inspect", Fixture("medium.db"), "-w", "json");
        using var json = JsonDocument.Parse(run.Stdout);
        var root = json.RootElement;
        var resources = root.GetProperty("resources").EnumerateArray()
            .ToDictionary(r => r.GetProperty("resource").GetString()!, r => r.GetProperty("liveKeys").GetInt64());
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(root.GetProperty("verification").GetProperty("valid").GetBoolean(), Is.True);
            Assert.That(root.GetProperty("verification").GetProperty("status").GetProperty("revision").GetInt64(), Is.EqualTo(1111));
            Assert.That(root.GetProperty("verification").GetProperty("status").GetProperty("liveKeyCount").GetInt64(), Is.EqualTo(695));
            Assert.That(root.GetProperty("pageSize").GetInt32(), Is.EqualTo(4096));
            Assert.That(root.GetProperty("pageCount").GetInt64(), Is.EqualTo(108));
            Assert.That(root.GetProperty("hasFreelist").GetBoolean(), Is.False);
            Assert.That(root.GetProperty("keyRevisions").GetInt64(), Is.EqualTo(1223));
            Assert.That(root.GetProperty("tombstones").GetInt64(), Is.EqualTo(115));
            Assert.That(root.GetProperty("liveKeys").GetInt64(), Is.EqualTo(695));
            Assert.That(root.GetProperty("otherLiveKeys").GetInt64(), Is.EqualTo(1));
            Assert.That(resources, Is.EqualTo(new Dictionary<string, long> { ["secrets"] = 686, ["pods"] = 4, ["leases"] = 3, ["configmaps"] = 1 }));
            Assert.That(root.GetProperty("resources")[0].GetProperty("resource").GetString(), Is.EqualTo("secrets"), "most first");
            Assert.That(root.GetProperty("members").GetArrayLength(), Is.EqualTo(1));
            Assert.That(root.GetProperty("members")[0].GetProperty("name").GetString(), Is.EqualTo("cli"));
        });
    }

    [Test]
    public async Task Inspect_table_describes_the_snapshot()
    {
        var run = await CliRunner.RunAsync("snapshot", "inspect", Fixture("small.db"));
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(run.Stdout, Does.Contain("result:           valid\n"));
            Assert.That(run.Stdout, Does.Contain("live keys:        5 (0 outside /registry/)\n"));
            Assert.That(run.Stdout, Does.Contain("| pods     |         5 |"));
            Assert.That(run.Stdout, Does.Contain("| key "));
            Assert.That(run.Stderr, Is.Empty);
        });
    }

    [Test]
    public async Task Inspect_of_a_raw_copy_needs_skip_hash_check_to_pass()
    {
        var strict = await CliRunner.RunAsync("snapshot", "inspect", Fixture("raw.db"));
        var lenient = await CliRunner.RunAsync("snapshot", "inspect", Fixture("raw.db"), "--skip-hash-check");
        Assert.Multiple(() =>
        {
            Assert.That(strict.ExitCode, Is.EqualTo(ExitCodes.Failure), strict.ToString());
            Assert.That(strict.Stdout, Does.Contain("problems:\n  error TrailerMissing"));
            Assert.That(strict.Stderr, Does.Contain("--skip-hash-check"));
            Assert.That(lenient.ExitCode, Is.EqualTo(ExitCodes.Success), lenient.ToString());
            Assert.That(lenient.Stdout, Does.Contain($"computed sha256 {RawSha256}"));
        });
    }
}
