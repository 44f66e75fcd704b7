using System.Text.Json;
using Talos.Recovery.Bolt;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Tests.Snapshots.Formatting;

public class SnapshotInspectionFormatterTests
{
    private static readonly byte[] Digest = Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray();
    private static readonly byte[] OtherDigest = Enumerable.Range(0, 32).Select(i => (byte)(255 - i)).ToArray();
    private static readonly string DigestHex = Convert.ToHexStringLower(Digest);
    private static readonly string OtherDigestHex = Convert.ToHexStringLower(OtherDigest);
    private static readonly SnapshotStatus Status = new(0xf35efe0a, 6, 9, 20480, 5, string.Empty);

    private static SnapshotVerification Verification(
        SnapshotTrailerState trailer = SnapshotTrailerState.Verified,
        IReadOnlyList<BoltProblem>? problems = null,
        int notRecorded = 0,
        SnapshotStatus? status = null,
        long fileLength = 20512,
        byte[]? expected = null,
        byte[]? actual = null)
    {
        var hasTrailer = trailer != SnapshotTrailerState.Absent;
        return new SnapshotVerification(
            "/backups/etcd.snapshot",
            fileLength,
            hasTrailer ? fileLength - 32 : fileLength,
            trailer,
            hasTrailer ? expected ?? Digest : null,
            trailer == SnapshotTrailerState.NotChecked ? null : actual ?? Digest,
            status ?? Status,
            problems ?? [],
            notRecorded);
    }

    private static BoltProblem Error(BoltProblemCode code, long? page, long? offset, string message) => new(code, BoltProblemSeverity.Error, page, offset, message);

    private static BoltProblem Warning(BoltProblemCode code, string message) => new(code, BoltProblemSeverity.Warning, null, null, message);

    [Test]
    public void Summary_of_a_valid_streamed_snapshot_names_file_size_trailer_status_and_verdict()
    {
        var expected = $"""
            file:             /backups/etcd.snapshot
            size:             20512 bytes (20 kB): 20480-byte database + 32-byte SHA-256 trailer
            trailer:          verified, sha256 {DigestHex}
            status:           hash f35efe0a, revision 6, total keys 9, total size 20480
            result:           valid
            """;
        Assert.That(SnapshotInspectionFormatter.FormatVerificationSummary(Verification()), Is.EqualTo(expected.ReplaceLineEndings("\n")));
    }

    [Test]
    public void A_mismatched_trailer_shows_both_digests_and_the_verdict_counts_errors()
    {
        var result = Verification(
            SnapshotTrailerState.Mismatch,
            [Error(BoltProblemCode.TrailerMismatch, null, 20480, "sha256 mismatch"), Warning(BoltProblemCode.MetaOneInvalid, "meta 0 invalid")],
            actual: OtherDigest);
        var summary = SnapshotInspectionFormatter.FormatVerificationSummary(result);
        Assert.Multiple(() =>
        {
            Assert.That(summary, Does.Contain($"trailer:          MISMATCH, stored sha256 {DigestHex}, computed {OtherDigestHex}\n"));
            Assert.That(summary, Does.EndWith("result:           INVALID: 1 error, 1 warning"));
        });
    }

    [Test]
    public void A_raw_copy_without_trailer_says_so()
    {
        var result = Verification(SnapshotTrailerState.Absent, fileLength: 20480);
        var summary = SnapshotInspectionFormatter.FormatVerificationSummary(result);
        Assert.Multiple(() =>
        {
            Assert.That(summary, Does.Contain("size:             20480 bytes (20 kB), no SHA-256 trailer\n"));
            Assert.That(summary, Does.Contain($"trailer:          absent (a raw copy of member/snap/db has none), computed sha256 {DigestHex}\n"));
        });
    }

    [Test]
    public void A_skipped_hash_check_shows_the_stored_digest_as_not_checked()
    {
        var summary = SnapshotInspectionFormatter.FormatVerificationSummary(Verification(SnapshotTrailerState.NotChecked));
        Assert.That(summary, Does.Contain($"trailer:          present, not checked (hash check skipped), stored sha256 {DigestHex}\n"));
    }

    [Test]
    public void A_damaged_structure_has_no_status_line_values()
    {
        var result = new SnapshotVerification("/x.db", 8192, 8192, SnapshotTrailerState.Absent, null, null, null, [Error(BoltProblemCode.PageOutOfBounds, 7, 0x7000, "page 7: out of bounds: 3")], 0);
        var summary = SnapshotInspectionFormatter.FormatVerificationSummary(result);
        Assert.Multiple(() =>
        {
            Assert.That(summary, Does.Contain("status:           not computed: the structure is damaged\n"));
            Assert.That(summary, Does.Contain("trailer:          absent (a raw copy of member/snap/db has none)\n"));
        });
    }

    [Test]
    public void Digests_that_were_not_computed_are_null_in_json()
    {
        // SnapshotVerification turns a null byte[] into an empty ReadOnlyMemory; that must still read as "no digest".
        var result = new SnapshotVerification("/x.db", 8192, 8192, SnapshotTrailerState.Absent, null, null, null, [], 0);
        using var json = JsonDocument.Parse(SnapshotInspectionFormatter.Format(result, SnapshotInspectionFormat.Json));
        Assert.Multiple(() =>
        {
            Assert.That(json.RootElement.GetProperty("expectedSha256").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(json.RootElement.GetProperty("actualSha256").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(json.RootElement.GetProperty("status").ValueKind, Is.EqualTo(JsonValueKind.Null));
        });
    }

    [TestCase(0, 0, "valid")]
    [TestCase(0, 1, "valid, 1 warning")]
    [TestCase(0, 3, "valid, 3 warnings")]
    [TestCase(1, 0, "INVALID: 1 error")]
    [TestCase(2, 1, "INVALID: 2 errors, 1 warning")]
    public void The_verdict_counts_errors_and_warnings(int errors, int warnings, string expected)
    {
        var problems = Enumerable.Range(0, errors).Select(i => Error(BoltProblemCode.KeyOrder, i + 3, null, "keys out of order"))
            .Concat(Enumerable.Range(0, warnings).Select(_ => Warning(BoltProblemCode.MetaOneInvalid, "meta 1 invalid")))
            .ToList();
        Assert.That(SnapshotInspectionFormatter.FormatVerificationSummary(Verification(problems: problems)), Does.EndWith("result:           " + expected));
    }

    [Test]
    public void Problems_are_one_line_each_then_a_count_of_those_not_recorded()
    {
        var problems = new[] { Error(BoltProblemCode.PageOutOfBounds, 7, 0x7000, "page 7: out of bounds: 3"), Warning(BoltProblemCode.MetaOneInvalid, "meta 0: checksum error") };
        var lines = SnapshotInspectionFormatter.FormatProblems(Verification(problems: problems, notRecorded: 12));
        Assert.That(lines, Is.EqualTo(new[]
        {
            "error PageOutOfBounds page 7 offset 0x7000: page 7: out of bounds: 3",
            "warning MetaOneInvalid: meta 0: checksum error",
            "error TooManyProblems: 12 more problems were found and not recorded",
        }));
    }

    [Test]
    public void Control_characters_from_the_file_are_escaped_in_text_output()
    {
        var problems = new[] { Error(BoltProblemCode.TopLevelNotBucket, 4, null, "cannot get hash of bucket \u001b[2Jevil\u202e") };
        var line = SnapshotInspectionFormatter.FormatProblems(Verification(problems: problems)).Single();
        Assert.That(line, Is.EqualTo("error TopLevelNotBucket page 4: cannot get hash of bucket \\x1b[2Jevil\\u202e"));
    }

    [TestCase("plain text, ünïcode ✓", "plain text, ünïcode ✓")]
    [TestCase("bell\u0007 esc\u001b[31m del\u007f c1\u009b", "bell\\x07 esc\\x1b[31m del\\x7f c1\\x9b")]
    [TestCase("tab\tnewline\n", "tab\\x09newline\\x0a")]
    [TestCase("rtl\u202eexe.txt zero\u200bwidth", "rtl\\u202eexe.txt zero\\u200bwidth")]
    public void Text_is_made_printable_by_escaping_control_and_format_characters(string text, string expected)
    {
        Assert.That(SnapshotInspectionFormatter.ToPrintable(text), Is.EqualTo(expected));
    }

    [Test]
    public void The_text_form_of_a_verification_is_the_summary_followed_by_the_problems()
    {
        var result = Verification(problems: [Warning(BoltProblemCode.MetaOneInvalid, "meta 0: checksum error")]);
        Assert.That(
            SnapshotInspectionFormatter.Format(result, SnapshotInspectionFormat.Table),
            Is.EqualTo(SnapshotInspectionFormatter.FormatVerificationSummary(result) + "\nwarning MetaOneInvalid: meta 0: checksum error"));
    }

    [Test]
    public void Verification_json_carries_every_fact_with_camel_case_names()
    {
        var result = Verification(
            SnapshotTrailerState.Mismatch,
            [Error(BoltProblemCode.TrailerMismatch, null, 20480, "sha256 mismatch"), Warning(BoltProblemCode.MetaOneInvalid, "meta 0 invalid")],
            notRecorded: 2,
            actual: OtherDigest);
        using var json = JsonDocument.Parse(SnapshotInspectionFormatter.Format(result, SnapshotInspectionFormat.Json));
        var root = json.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("path").GetString(), Is.EqualTo("/backups/etcd.snapshot"));
            Assert.That(root.GetProperty("fileLength").GetInt64(), Is.EqualTo(20512));
            Assert.That(root.GetProperty("databaseLength").GetInt64(), Is.EqualTo(20480));
            Assert.That(root.GetProperty("valid").GetBoolean(), Is.False);
            Assert.That(root.GetProperty("trailer").GetString(), Is.EqualTo("mismatch"));
            Assert.That(root.GetProperty("expectedSha256").GetString(), Is.EqualTo(DigestHex));
            Assert.That(root.GetProperty("actualSha256").GetString(), Is.EqualTo(OtherDigestHex));
            Assert.That(root.GetProperty("status").GetProperty("hash").GetUInt32(), Is.EqualTo(0xf35efe0a));
            Assert.That(root.GetProperty("status").GetProperty("liveKeyCount").GetInt64(), Is.EqualTo(5));
            Assert.That(root.GetProperty("errors").GetInt32(), Is.EqualTo(3));
            Assert.That(root.GetProperty("warnings").GetInt32(), Is.EqualTo(1));
            Assert.That(root.GetProperty("problemsNotRecorded").GetInt32(), Is.EqualTo(2));
            var first = root.GetProperty("problems")[0];
            Assert.That(first.GetProperty("code").GetString(), Is.EqualTo("TrailerMismatch"));
            Assert.That(first.GetProperty("severity").GetString(), Is.EqualTo("error"));
            Assert.That(first.GetProperty("pageId").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(first.GetProperty("offset").GetInt64(), Is.EqualTo(20480));
            Assert.That(root.GetProperty("problems")[1].GetProperty("severity").GetString(), Is.EqualTo("warning"));
        });
    }

    private static SnapshotInspection Inspection(SnapshotVerification? verification = null) => new()
    {
        Verification = verification ?? Verification(),
        PageSize = 4096,
        PageCount = 5,
        TransactionId = 17,
        HasFreelist = false,
        Pages = new SnapshotPageCounts(2, 0, 0, 2, 0, 1),
        Buckets = [new SnapshotBucket("key", 14, false), new SnapshotBucket("alarm", 0, true), new SnapshotBucket("ev\u0007il", 1, true)],
        ConsistentIndex = 21,
        FinishedCompactRevision = 3,
        ClusterVersion = "3.4.0",
        Members = [new SnapshotMember(0x8e9e05c52164694d, "cli", ["http://127.0.0.1:2380"], ["http://127.0.0.1:2379"], false, false)],
        Leases = 2,
        KeyRevisions = 14,
        Tombstones = 1,
        LiveKeys = 6,
        Resources = [new SnapshotResourceCount("pods", 4), new SnapshotResourceCount("configmaps", 1)],
        OtherLiveKeys = 1,
    };

    [Test]
    public void Inspection_table_shows_pages_buckets_etcd_meta_members_and_resources()
    {
        var text = SnapshotInspectionFormatter.Format(Inspection(), SnapshotInspectionFormat.Table);
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.StartWith(SnapshotInspectionFormatter.FormatVerificationSummary(Verification()) + "\n\n"));
            Assert.That(text, Does.Contain("pages:            5 (transaction 17, no persisted freelist)\n"));
            Assert.That(text, Does.Contain("fragmentation:    20.0% (1 free pages)\n"));
            Assert.That(text, Does.Contain("""
                +------+----------+--------+------+----------+------+
                | META | FREELIST | BRANCH | LEAF | OVERFLOW | FREE |
                +------+----------+--------+------+----------+------+
                |    2 |        0 |      0 |    2 |        0 |    1 |
                +------+----------+--------+------+----------+------+
                """.ReplaceLineEndings("\n")));
            Assert.That(text, Does.Contain("| key      |   14 | no     |\n"));
            Assert.That(text, Does.Contain("| ev\\x07il |    1 | yes    |\n"), "control characters in names are escaped");
            Assert.That(text, Does.Contain("cluster version:  3.4.0\n"));
            Assert.That(text, Does.Contain("storage version:  none\n"));
            Assert.That(text, Does.Contain("consistent index: 21\n"));
            Assert.That(text, Does.Contain("term:             none\n"));
            Assert.That(text, Does.Contain("compaction:       scheduled none, finished 3\n"));
            Assert.That(text, Does.Contain("key revisions:    14 (1 tombstones)\n"));
            Assert.That(text, Does.Contain("live keys:        6 (1 outside /registry/)"));
            Assert.That(text, Does.Contain("| 8e9e05c52164694d | cli  | http://127.0.0.1:2380 | http://127.0.0.1:2379 | no      | no      |\n"));
            Assert.That(text, Does.Contain("| pods       |         4 |\n"));
            Assert.That(text, Does.Not.Contain("problems:"));
            Assert.That(text, Does.Not.EndWith("\n"));
        });
    }

    [Test]
    public void Inspection_table_ends_with_the_problems_when_there_are_any()
    {
        var verification = Verification(problems: [Error(BoltProblemCode.UnreachableUnfreed, 4, 0x4000, "page 4: unreachable unfreed")]);
        var text = SnapshotInspectionFormatter.Format(Inspection(verification), SnapshotInspectionFormat.Table);
        Assert.That(text, Does.EndWith("\n\nproblems:\n  error UnreachableUnfreed page 4 offset 0x4000: page 4: unreachable unfreed"));
    }

    [Test]
    public void Inspection_json_nests_the_verification_and_mirrors_the_model()
    {
        using var json = JsonDocument.Parse(SnapshotInspectionFormatter.Format(Inspection(), SnapshotInspectionFormat.Json));
        var root = json.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("verification").GetProperty("trailer").GetString(), Is.EqualTo("verified"));
            Assert.That(root.GetProperty("pageSize").GetInt32(), Is.EqualTo(4096));
            Assert.That(root.GetProperty("transactionId").GetUInt64(), Is.EqualTo(17));
            Assert.That(root.GetProperty("pages").GetProperty("leaf").GetInt64(), Is.EqualTo(2));
            Assert.That(root.GetProperty("fragmentation").GetDouble(), Is.EqualTo(0.2));
            Assert.That(root.GetProperty("buckets")[2].GetProperty("name").GetString(), Is.EqualTo("ev\u0007il"), "JSON keeps the raw name, escaped by JSON itself");
            Assert.That(root.GetProperty("consistentIndex").GetUInt64(), Is.EqualTo(21));
            Assert.That(root.GetProperty("term").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(root.GetProperty("storageVersion").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(root.GetProperty("members")[0].GetProperty("id").GetString(), Is.EqualTo("8e9e05c52164694d"));
            Assert.That(root.GetProperty("members")[0].GetProperty("peerUrls")[0].GetString(), Is.EqualTo("http://127.0.0.1:2380"));
            Assert.That(root.GetProperty("resources")[0].GetProperty("resource").GetString(), Is.EqualTo("pods"));
            Assert.That(root.GetProperty("liveKeys").GetInt64(), Is.EqualTo(6));
            Assert.That(root.GetProperty("otherLiveKeys").GetInt64(), Is.EqualTo(1));
        });
    }

    [Test]
    public void Undefined_formats_and_missing_reports_are_rejected()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => SnapshotInspectionFormatter.Format(Inspection(), (SnapshotInspectionFormat)9), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => SnapshotInspectionFormatter.Format(Verification(), (SnapshotInspectionFormat)9), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => SnapshotInspectionFormatter.Format((SnapshotInspection)null!, SnapshotInspectionFormat.Json), Throws.ArgumentNullException);
            Assert.That(() => SnapshotInspectionFormatter.FormatProblems(null!), Throws.ArgumentNullException);
        });
    }
}
