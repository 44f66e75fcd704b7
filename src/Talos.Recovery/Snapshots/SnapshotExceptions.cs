using Talos.Recovery.Bolt;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// A file could not be read as an etcd snapshot at all: it is missing, unreadable, a directory, empty, too small,
/// has no valid meta page, or is locked by a running etcd. <see cref="Code"/> says which, when it is a format problem.
/// </summary>
public class SnapshotFormatException : TalosRecoveryException
{
    /// <summary>Creates the exception.</summary>
    public SnapshotFormatException(string message, string? path = null, BoltProblemCode? code = null, long? pageId = null, long? offset = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
        Code = code;
        PageId = pageId;
        Offset = offset;
    }

    /// <summary>The file concerned, when there is one.</summary>
    public string? Path { get; }

    /// <summary>The format problem, when the file could be opened but not understood.</summary>
    public BoltProblemCode? Code { get; }

    /// <summary>The page concerned, when known.</summary>
    public long? PageId { get; }

    /// <summary>The byte offset concerned, when known.</summary>
    public long? Offset { get; }
}

/// <summary>
/// A snapshot was read but is damaged: the consistency check found <see cref="Problems"/> (errors first),
/// or the SHA-256 trailer does not match. Nothing was written to the file.
/// </summary>
public class SnapshotIntegrityException : TalosRecoveryException
{
    /// <summary>Creates the exception.</summary>
    public SnapshotIntegrityException(string message, IReadOnlyList<BoltProblem> problems, string? path = null)
        : base(message)
    {
        ArgumentNullException.ThrowIfNull(problems);
        Problems = problems;
        Path = path;
    }

    /// <summary>The problems found, errors first.</summary>
    public IReadOnlyList<BoltProblem> Problems { get; }

    /// <summary>The file concerned, when there is one.</summary>
    public string? Path { get; }
}
