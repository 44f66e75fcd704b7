using System.Globalization;
using System.Text;
using Talos.Recovery.Bolt;

namespace Talos.Recovery.Snapshots;

/// <summary>The output formats of <see cref="SnapshotInspectionFormatter"/>.</summary>
public enum SnapshotInspectionFormat
{
    /// <summary>Labelled lines and bordered tables for a terminal.</summary>
    Table = 0,

    /// <summary>One indented JSON object with camelCase names, for scripts.</summary>
    Json = 1,
}

/// <summary>
/// Renders the reports of <see cref="SnapshotFile.Verify"/> and <see cref="SnapshotFile.Inspect"/> for people
/// (labelled lines and tables) and for scripts (JSON).
/// </summary>
/// <remarks>
/// Text read from the snapshot (bucket and member names, URLs) is shown with control characters escaped as
/// <c>\xNN</c>, so a crafted file cannot move the cursor or rewrite earlier lines of a terminal. Multi-line results
/// separate lines with <c>"\n"</c> and have no trailing line break. Digests are lowercase hexadecimal.
/// </remarks>
public static partial class SnapshotInspectionFormatter
{
    private const int LabelWidth = 18;

    /// <summary>Renders everything an inspection found: the verification summary, pages, buckets, etcd meta data, members, live keys per resource and the problems.</summary>
    /// <param name="inspection">The inspection to render.</param>
    /// <param name="format">Terminal tables or JSON.</param>
    /// <exception cref="ArgumentNullException"><paramref name="inspection"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="format"/> is not a defined value.</exception>
    public static string Format(SnapshotInspection inspection, SnapshotInspectionFormat format)
    {
        ArgumentNullException.ThrowIfNull(inspection);
        return format switch
        {
            SnapshotInspectionFormat.Table => FormatInspectionTable(inspection),
            SnapshotInspectionFormat.Json => WriteJson(writer => WriteInspection(writer, inspection)),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown snapshot inspection format."),
        };
    }

    /// <summary>
    /// Renders a verification: for <see cref="SnapshotInspectionFormat.Table"/> the summary lines of
    /// <see cref="FormatVerificationSummary"/> followed by <see cref="FormatProblems"/>; for
    /// <see cref="SnapshotInspectionFormat.Json"/> one object with the same facts.
    /// </summary>
    /// <param name="verification">The verification to render.</param>
    /// <param name="format">Terminal text or JSON.</param>
    /// <exception cref="ArgumentNullException"><paramref name="verification"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="format"/> is not a defined value.</exception>
    public static string Format(SnapshotVerification verification, SnapshotInspectionFormat format)
    {
        ArgumentNullException.ThrowIfNull(verification);
        switch (format)
        {
            case SnapshotInspectionFormat.Table:
                var builder = new StringBuilder(FormatVerificationSummary(verification));
                foreach (var line in FormatProblems(verification))
                {
                    builder.Append('\n').Append(line);
                }

                return builder.ToString();
            case SnapshotInspectionFormat.Json:
                return WriteJson(writer => WriteVerification(writer, verification));
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown snapshot inspection format.");
        }
    }

    /// <summary>
    /// The labelled summary of a verification, without its problems: file, size (database and trailer), trailer state
    /// with the SHA-256 digests, the status in talosctl's form, and the verdict with error and warning counts.
    /// </summary>
    /// <example>
    /// <code>
    /// file:             /backups/etcd.snapshot
    /// size:             20512 bytes (20 kB): 20480-byte database + 32-byte SHA-256 trailer
    /// trailer:          verified, sha256 fd379a7c…
    /// status:           hash f35efe0a, revision 6, total keys 9, total size 20480
    /// result:           valid
    /// </code>
    /// </example>
    /// <exception cref="ArgumentNullException"><paramref name="verification"/> is <see langword="null"/>.</exception>
    public static string FormatVerificationSummary(SnapshotVerification verification)
    {
        ArgumentNullException.ThrowIfNull(verification);
        var builder = new StringBuilder();
        AppendVerificationSummary(builder, verification);
        return builder.ToString();
    }

    /// <summary>
    /// One line per problem (<see cref="BoltProblem.ToString"/>: severity, code, page, offset and message), errors
    /// first as recorded, then a line counting the problems beyond the checker's cap, if any. Empty when there is no
    /// problem.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="verification"/> is <see langword="null"/>.</exception>
    public static IReadOnlyList<string> FormatProblems(SnapshotVerification verification)
    {
        ArgumentNullException.ThrowIfNull(verification);
        var lines = new List<string>(verification.Problems.Count + 1);
        foreach (var problem in verification.Problems)
        {
            lines.Add(ToPrintable(problem.ToString()));
        }

        if (verification.ProblemsNotRecorded > 0)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"error {BoltProblemCode.TooManyProblems}: {verification.ProblemsNotRecorded} more problems were found and not recorded"));
        }

        return lines;
    }

    /// <summary>The verdict in words: <c>valid</c>, <c>valid, 2 warnings</c> or <c>INVALID: 3 errors, 1 warning</c>.</summary>
    private static string Verdict(SnapshotVerification verification)
    {
        var (errors, warnings) = CountProblems(verification);
        var warningText = warnings == 0 ? string.Empty : Plural(warnings, "warning");
        if (verification.IsValid)
        {
            return warnings == 0 ? "valid" : "valid, " + warningText;
        }

        return "INVALID: " + Plural(errors, "error") + (warnings == 0 ? string.Empty : ", " + warningText);
    }

    /// <summary>Errors (those not recorded included) and warnings.</summary>
    private static (int Errors, int Warnings) CountProblems(SnapshotVerification verification)
    {
        var errors = verification.Problems.Count(p => p.Severity == BoltProblemSeverity.Error);
        return (errors + verification.ProblemsNotRecorded, verification.Problems.Count - errors);
    }

    private static void AppendVerificationSummary(StringBuilder builder, SnapshotVerification verification)
    {
        AppendLabel(builder, "file", verification.Path is null ? "(in memory)" : ToPrintable(verification.Path));
        AppendLabel(builder, "size", SizeText(verification));
        AppendLabel(builder, "trailer", TrailerText(verification));
        AppendLabel(builder, "status", verification.Status is { } status ? SnapshotStatusFormatter.FormatTalosctl(status) : "not computed: the structure is damaged");
        AppendLabel(builder, "result", Verdict(verification), last: true);
    }

    private static string SizeText(SnapshotVerification verification)
    {
        var size = string.Create(CultureInfo.InvariantCulture, $"{verification.FileLength} bytes ({SnapshotStatusFormatter.HumanizeUnsigned((ulong)Math.Max(0, verification.FileLength))})");
        var trailerBytes = verification.FileLength - verification.DatabaseLength;
        return trailerBytes > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{size}: {verification.DatabaseLength}-byte database + {trailerBytes}-byte SHA-256 trailer")
            : size + ", no SHA-256 trailer";
    }

    private static string TrailerText(SnapshotVerification verification) => verification.Trailer switch
    {
        SnapshotTrailerState.Verified => "verified, sha256 " + Hex(Digest(verification.ActualSha256) ?? verification.ExpectedSha256),
        SnapshotTrailerState.Mismatch => "MISMATCH, stored sha256 " + Hex(verification.ExpectedSha256) + ", computed " + Hex(verification.ActualSha256),
        SnapshotTrailerState.NotChecked => "present, not checked (hash check skipped), stored sha256 " + Hex(verification.ExpectedSha256),
        SnapshotTrailerState.Absent => Digest(verification.ActualSha256) is { } actual
            ? "absent (a raw copy of member/snap/db has none), computed sha256 " + Hex(actual)
            : "absent (a raw copy of member/snap/db has none)",
        _ => verification.Trailer.ToString(),
    };

    private static string FormatInspectionTable(SnapshotInspection inspection)
    {
        var builder = new StringBuilder();
        AppendVerificationSummary(builder, inspection.Verification);
        builder.Append("\n\n");

        AppendLabel(builder, "page size", Invariant($"{inspection.PageSize} bytes"));
        AppendLabel(builder, "pages", Invariant($"{inspection.PageCount} (transaction {inspection.TransactionId}, {(inspection.HasFreelist ? "persisted freelist" : "no persisted freelist")})"));
        AppendLabel(builder, "fragmentation", Invariant($"{inspection.Fragmentation * 100:0.0}% ({inspection.Pages.Free} free pages)"));
        var pages = new TextTable(["meta", "freelist", "branch", "leaf", "overflow", "free"], TextTableAlignment.Right);
        var p = inspection.Pages;
        pages.AddRow(Invariant($"{p.Meta}"), Invariant($"{p.Freelist}"), Invariant($"{p.Branch}"), Invariant($"{p.Leaf}"), Invariant($"{p.Overflow}"), Invariant($"{p.Free}"));
        pages.Render(builder);
        builder.Append("\n\n");

        if (inspection.Buckets.Count == 0)
        {
            AppendLabel(builder, "buckets", "none", last: true);
        }
        else
        {
            var buckets = new TextTable(["bucket", "keys", "inline"], [TextTableAlignment.Left, TextTableAlignment.Right, TextTableAlignment.Left]);
            foreach (var bucket in inspection.Buckets)
            {
                buckets.AddRow(ToPrintable(bucket.Name), Invariant($"{bucket.Keys}"), bucket.Inline ? "yes" : "no");
            }

            buckets.Render(builder);
        }

        builder.Append("\n\n");
        AppendLabel(builder, "cluster version", OrNone(inspection.ClusterVersion));
        AppendLabel(builder, "storage version", OrNone(inspection.StorageVersion));
        AppendLabel(builder, "consistent index", OrNone(inspection.ConsistentIndex));
        AppendLabel(builder, "term", OrNone(inspection.Term));
        AppendLabel(builder, "compaction", $"scheduled {OrNone(inspection.ScheduledCompactRevision)}, finished {OrNone(inspection.FinishedCompactRevision)}");
        AppendLabel(builder, "auth", inspection.AuthEnabled ? "enabled" : "disabled");
        AppendLabel(builder, "leases", Invariant($"{inspection.Leases}"));
        AppendLabel(builder, "alarms", Invariant($"{inspection.Alarms}"));
        AppendLabel(builder, "key revisions", Invariant($"{inspection.KeyRevisions} ({inspection.Tombstones} tombstones)"));
        AppendLabel(builder, "live keys", Invariant($"{inspection.LiveKeys} ({inspection.OtherLiveKeys} outside /registry/)"), last: true);
        builder.Append("\n\n");

        if (inspection.Members.Count == 0)
        {
            AppendLabel(builder, "members", "none", last: true);
        }
        else
        {
            var members = new TextTable(["id", "name", "peer urls", "client urls", "learner", "removed"], TextTableAlignment.Left);
            foreach (var member in inspection.Members)
            {
                members.AddRow(
                    member.Id.ToString("x", CultureInfo.InvariantCulture),
                    ToPrintable(member.Name),
                    ToPrintable(string.Join(",", member.PeerUrls)),
                    ToPrintable(string.Join(",", member.ClientUrls)),
                    member.IsLearner ? "yes" : "no",
                    member.Removed ? "yes" : "no");
            }

            members.Render(builder);
        }

        if (inspection.Resources.Count > 0)
        {
            builder.Append("\n\n");
            var resources = new TextTable(["resource", "live keys"], [TextTableAlignment.Left, TextTableAlignment.Right]);
            foreach (var resource in inspection.Resources)
            {
                resources.AddRow(ToPrintable(resource.Resource), Invariant($"{resource.LiveKeys}"));
            }

            resources.Render(builder);
        }

        var problems = FormatProblems(inspection.Verification);
        if (problems.Count > 0)
        {
            builder.Append("\n\nproblems:");
            foreach (var line in problems)
            {
                builder.Append("\n  ").Append(line);
            }
        }

        return builder.ToString();
    }

    private static void AppendLabel(StringBuilder builder, string label, string value, bool last = false)
    {
        builder.Append(label).Append(':').Append(' ', Math.Max(1, LabelWidth - label.Length - 1)).Append(value);
        if (!last)
        {
            builder.Append('\n');
        }
    }

    private static string OrNone<T>(T? value)
        where T : struct, IFormattable
        => value is { } v ? v.ToString(null, CultureInfo.InvariantCulture) : "none";

    private static string OrNone(string? value) => string.IsNullOrEmpty(value) ? "none" : ToPrintable(value);

    private static string Plural(long count, string noun) => Invariant($"{count} {noun}{(count == 1 ? string.Empty : "s")}");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Hex(ReadOnlyMemory<byte>? bytes) => Digest(bytes) is { } b ? Convert.ToHexStringLower(b.Span) : "unknown";

    // A digest that was not computed may arrive as null or as empty memory (a null byte[], and even the literal null,
    // converts implicitly to an empty ReadOnlyMemory): both mean "none".
    private static ReadOnlyMemory<byte>? Digest(ReadOnlyMemory<byte>? bytes)
    {
        if (bytes is { IsEmpty: false } digest)
        {
            return digest;
        }

        return default(ReadOnlyMemory<byte>?);
    }

    /// <summary>
    /// Makes text safe to print on a terminal: control characters (C0, DEL, C1) become <c>\xNN</c> and invisible
    /// format characters (such as bidirectional overrides) <c>\uNNNN</c>. The formatters apply it to everything they
    /// quote from a snapshot; apply it to exception messages of this SDK before printing them, since they can quote
    /// bytes of a damaged or crafted file too.
    /// </summary>
    /// <param name="text">Any text.</param>
    /// <returns><paramref name="text"/> itself when nothing needs escaping.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public static string ToPrintable(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Any(NeedsEscape))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (!NeedsEscape(c))
            {
                builder.Append(c);
            }
            else if (char.IsControl(c))
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            }
            else
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
        }

        return builder.ToString();
    }

    private static bool NeedsEscape(char c) => char.IsControl(c) || char.GetUnicodeCategory(c) == UnicodeCategory.Format;
}
