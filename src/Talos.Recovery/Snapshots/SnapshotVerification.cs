using Talos.Recovery.Bolt;

namespace Talos.Recovery.Snapshots;

/// <summary>What is known about a file's SHA-256 trailer.</summary>
public enum SnapshotTrailerState
{
    /// <summary>The file has no trailer (size % 512 ≠ 32): a raw copy of <c>member/snap/db</c>, or a truncated stream.</summary>
    Absent = 0,

    /// <summary>The trailer matches the SHA-256 of everything before it.</summary>
    Verified = 1,

    /// <summary>The trailer does not match: the file was damaged after it was streamed, or the stream was cut.</summary>
    Mismatch = 2,

    /// <summary>A trailer is present but was not checked (the caller skipped the hash check).</summary>
    NotChecked = 3,
}

/// <summary>The result of <see cref="SnapshotFile.Verify"/>: full structural check, etcd status and trailer.</summary>
public sealed class SnapshotVerification
{
    internal SnapshotVerification(
        string? path,
        long fileLength,
        long databaseLength,
        SnapshotTrailerState trailer,
        byte[]? expectedSha256,
        byte[]? actualSha256,
        SnapshotStatus? status,
        IReadOnlyList<BoltProblem> problems,
        int problemsNotRecorded,
        int? errorCount = null)
    {
        Path = path;
        FileLength = fileLength;
        DatabaseLength = databaseLength;
        Trailer = trailer;
        // A null array must stay "absent": the implicit conversion would make it an empty but present value.
        ExpectedSha256 = expectedSha256 is null ? null : new ReadOnlyMemory<byte>(expectedSha256);
        ActualSha256 = actualSha256 is null ? null : new ReadOnlyMemory<byte>(actualSha256);
        Status = status;
        Problems = problems;
        ProblemsNotRecorded = problemsNotRecorded;
        ErrorCount = errorCount ?? problems.Count(p => p.Severity == BoltProblemSeverity.Error);
    }

    /// <summary>The file verified, when it was a file.</summary>
    public string? Path { get; }

    /// <summary>Leaf pages the walk took from summaries made while the file streamed in, instead of reading them.</summary>
    internal long SummarizedPages { get; init; }

    /// <summary>The length of the whole file in bytes.</summary>
    public long FileLength { get; }

    /// <summary>The length of the database part (the file without the trailer).</summary>
    public long DatabaseLength { get; }

    /// <summary>The state of the SHA-256 trailer.</summary>
    public SnapshotTrailerState Trailer { get; }

    /// <summary>The digest stored in the trailer, when there is one.</summary>
    public ReadOnlyMemory<byte>? ExpectedSha256 { get; }

    /// <summary>
    /// The SHA-256 computed by <see cref="SnapshotFile.Verify"/>: over the database part when the file has a trailer
    /// (and the hash check is not skipped), over the whole file when it has none (a fingerprint for backup manifests).
    /// </summary>
    public ReadOnlyMemory<byte>? ActualSha256 { get; }

    /// <summary>The etcd status, when the structure was sound enough to compute it.</summary>
    public SnapshotStatus? Status { get; }

    /// <summary>Every problem found, errors first, up to the checker's cap.</summary>
    public IReadOnlyList<BoltProblem> Problems { get; }

    /// <summary>How many further problems were found beyond the cap and not recorded.</summary>
    public int ProblemsNotRecorded { get; }

    /// <summary>Problems of severity <see cref="BoltProblemSeverity.Error"/> found, recorded or not.</summary>
    public int ErrorCount { get; }

    /// <summary>True when no problem of severity <see cref="BoltProblemSeverity.Error"/> was found.</summary>
    public bool IsValid => ErrorCount == 0;
}
