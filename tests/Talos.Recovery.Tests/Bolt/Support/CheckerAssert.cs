using System.Globalization;
using System.Text;
using Talos.Recovery.Bolt;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Tests.Bolt.Support;

/// <summary>What the checker made of a file: a verification, or an open-time <see cref="SnapshotFormatException"/>.</summary>
internal sealed record CheckOutcome(SnapshotVerification? Verification, SnapshotFormatException? FormatError)
{
    public bool Rejected => FormatError is not null || Verification is { IsValid: false };

    public IEnumerable<BoltProblem> Errors => Verification?.Problems.Where(p => p.Severity == BoltProblemSeverity.Error) ?? [];

    public override string ToString() => FormatError is not null
        ? $"SnapshotFormatException Code={FormatError.Code?.ToString() ?? "null"} PageId={FormatError.PageId} Offset={FormatError.Offset}: {FormatError.Message}"
        : CheckerAssert.Dump(Verification!);
}

/// <summary>Runs the checker on bytes and asserts on what it reports.</summary>
internal static class CheckerAssert
{
    /// <summary>Verifies in-memory bytes; <paramref name="skipHashCheck"/> for files built without a trailer.</summary>
    public static SnapshotVerification Verify(ReadOnlyMemory<byte> bytes, bool skipHashCheck = false, int maxProblems = 1000)
    {
        using var file = SnapshotFile.FromMemory(bytes);
        return file.Verify(new SnapshotVerifyOptions { SkipHashCheck = skipHashCheck, MaxProblems = maxProblems });
    }

    /// <summary>Verifies and captures an open-time format error instead of throwing it.</summary>
    public static CheckOutcome Check(ReadOnlyMemory<byte> bytes, bool skipHashCheck = false, int maxProblems = 1000, CancellationToken cancellationToken = default)
    {
        try
        {
            using var file = SnapshotFile.FromMemory(bytes);
            return new CheckOutcome(file.Verify(new SnapshotVerifyOptions { SkipHashCheck = skipHashCheck, MaxProblems = maxProblems }, cancellationToken), null);
        }
        catch (SnapshotFormatException ex)
        {
            return new CheckOutcome(null, ex);
        }
    }

    /// <summary>The file verifies with no error, and (when given) the status is the one etcdctl prints.</summary>
    public static SnapshotVerification Clean(ReadOnlyMemory<byte> bytes, ExpectedStatus? status, bool skipHashCheck = false)
    {
        var outcome = Check(bytes, skipHashCheck);
        Assert.That(outcome.FormatError, Is.Null, () => "a valid file was rejected at open: " + outcome);
        var v = outcome.Verification!;
        Assert.That(v.Problems.Where(p => p.Severity == BoltProblemSeverity.Error), Is.Empty, () => "a valid file has errors:\n" + Dump(v));
        Assert.That(v.IsValid, Is.True, () => Dump(v));
        if (status is not null)
        {
            AssertStatus(v.Status, status);
        }

        return v;
    }

    public static void AssertStatus(SnapshotStatus? actual, ExpectedStatus expected)
    {
        Assert.That(actual, Is.Not.Null, "no status for a valid file");
        Assert.Multiple(() =>
        {
            Assert.That(actual!.Hash, Is.EqualTo(expected.Hash), "hash");
            Assert.That(actual.Revision, Is.EqualTo(expected.Revision), "revision");
            Assert.That(actual.TotalKey, Is.EqualTo(expected.TotalKey), "totalKey");
            Assert.That(actual.TotalSize, Is.EqualTo(expected.TotalSize), "totalSize");
            Assert.That(actual.LiveKeyCount, Is.EqualTo(expected.LiveKeyCount), "live keys");
            Assert.That(actual.StorageVersion, Is.EqualTo(expected.StorageVersion), "storage version");
        });
    }

    /// <summary>
    /// The file must be reported damaged with at least one error whose code is one of <paramref name="anyOf"/>
    /// (any code when empty), at one of <paramref name="pageIds"/> when given, with an offset inside
    /// <paramref name="offsetRange"/> when given. Returns the matching problem.
    /// </summary>
    public static BoltProblem HasError(SnapshotVerification v, BoltProblemCode[] anyOf, long[]? pageIds = null, (long From, long To)? offsetRange = null)
    {
        Assert.That(v.IsValid, Is.False, () => "damage not detected:\n" + Dump(v));
        var candidates = v.Problems.Where(p => p.Severity == BoltProblemSeverity.Error && (anyOf.Length == 0 || anyOf.Contains(p.Code))).ToList();
        Assert.That(candidates, Is.Not.Empty, () => $"expected an error {Codes(anyOf)}, got:\n{Dump(v)}");
        var located = candidates.Where(p => pageIds is null || (p.PageId is { } id && pageIds.Contains(id))).ToList();
        Assert.That(located, Is.Not.Empty, () => $"expected {Codes(anyOf)} at page {string.Join("|", pageIds!)}, got:\n{Dump(v)}");
        if (offsetRange is { } range)
        {
            var inRange = located.Where(p => p.Offset is { } o && o >= range.From && o < range.To).ToList();
            Assert.That(inRange, Is.Not.Empty, () => $"expected {Codes(anyOf)} with an offset in [0x{range.From:x}, 0x{range.To:x}), got:\n{Dump(v)}");
            return inRange[0];
        }

        return located[0];
    }

    /// <summary>
    /// The file must be rejected: either at open with a <see cref="SnapshotFormatException"/> whose code is one of
    /// <paramref name="anyOf"/>, or by Verify with such an error.
    /// </summary>
    public static CheckOutcome Rejected(ReadOnlyMemory<byte> bytes, bool skipHashCheck, BoltProblemCode[] anyOf, long[]? pageIds = null, (long From, long To)? offsetRange = null)
    {
        var outcome = Check(bytes, skipHashCheck);
        if (outcome.FormatError is { } fe)
        {
            Assert.That(anyOf.Length == 0 || (fe.Code is { } c && anyOf.Contains(c)), Is.True, () => $"expected {Codes(anyOf)}, got {outcome}");
        }
        else
        {
            HasError(outcome.Verification!, anyOf, pageIds, offsetRange);
        }

        return outcome;
    }

    /// <summary>Open-time fatal damage: Verify (or FromMemory) throws <see cref="SnapshotFormatException"/> with one of the codes.</summary>
    public static SnapshotFormatException FormatError(ReadOnlyMemory<byte> bytes, params BoltProblemCode[] anyOf)
    {
        var outcome = Check(bytes, skipHashCheck: true);
        Assert.That(outcome.FormatError, Is.Not.Null, () => $"expected SnapshotFormatException {Codes(anyOf)}, got:\n{outcome}");
        Assert.That(outcome.FormatError!.Code, Is.AnyOf(anyOf.Cast<object>().ToArray()), () => outcome.ToString());
        return outcome.FormatError;
    }

    /// <summary>GetStatus must throw the typed exception carrying one of <paramref name="anyOf"/>.</summary>
    public static void GetStatusThrows(ReadOnlyMemory<byte> bytes, params BoltProblemCode[] anyOf)
    {
        using var file = SnapshotFile.FromMemory(bytes);
        try
        {
            var status = file.GetStatus();
            Assert.Fail($"GetStatus returned {status} for a damaged file");
        }
        catch (SnapshotIntegrityException ex)
        {
            Assert.That(ex.Problems.Select(p => p.Code), anyOf.Length == 0 ? Is.Not.Empty : Has.Some.AnyOf(anyOf.Cast<object>().ToArray()), ex.Message);
            Assert.That(ex.Problems.All(p => p.Severity == BoltProblemSeverity.Error), Is.True, "integrity exception lists errors");
        }
        catch (SnapshotFormatException ex)
        {
            Assert.That(anyOf.Length == 0 || (ex.Code is { } c && anyOf.Contains(c)), Is.True, () => $"format exception {ex.Code}: {ex.Message}");
        }
    }

    public static string Dump(SnapshotVerification v)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"IsValid={v.IsValid} Trailer={v.Trailer} Status={(v.Status is null ? "null" : v.Status.ToString())} problems={v.Problems.Count}+{v.ProblemsNotRecorded}");
        foreach (var p in v.Problems.Take(40))
        {
            sb.Append("\n  ").Append(p);
        }

        return sb.ToString();
    }

    public static string Codes(BoltProblemCode[] codes) => codes.Length == 0 ? "(any)" : string.Join("|", codes);

    /// <summary>The byte range of page <paramref name="id"/>'s span.</summary>
    public static (long From, long To) PageRange(BoltFile f, ulong id, int overflow = 0) => (f.PageOffset(id), f.PageOffset(id) + ((overflow + 1L) * f.PageSize));
}
