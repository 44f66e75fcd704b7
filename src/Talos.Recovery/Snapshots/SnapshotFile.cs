using System.IO.MemoryMappedFiles;
using Talos.Recovery.Bolt;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// An etcd snapshot file (a bbolt database, optionally followed by etcd's 32-byte SHA-256 trailer) opened for
/// reading. The file is memory-mapped read-only and never modified; the memory it uses is the OS page cache.
/// Dispose it to unmap and close the file. Instances are not thread-safe.
/// </summary>
/// <example>
/// <code>
/// using var snapshot = SnapshotFile.Open("etcd.snapshot");
/// SnapshotVerification result = snapshot.Verify();
/// if (!result.IsValid) { foreach (var p in result.Problems) Console.Error.WriteLine(p); }
/// else Console.WriteLine(result.Status);
/// </code>
/// </example>
public sealed partial class SnapshotFile : IDisposable
{
    /// <summary>The size of etcd's SHA-256 trailer.</summary>
    public const int TrailerLength = 32;

    private readonly SnapshotBuffer _buffer;

    private SnapshotFile(SnapshotBuffer buffer, string? path)
    {
        _buffer = buffer;
        Path = path;
    }

    /// <summary>The full path of the file, or <see langword="null"/> for an in-memory snapshot.</summary>
    public string? Path { get; }

    /// <summary>The length of the file in bytes.</summary>
    public long Length => _buffer.Length;

    /// <summary>
    /// Whether the file ends in a SHA-256 trailer by etcd's rule (<c>size % 512 == 32</c>). Streamed snapshots
    /// (etcdctl snapshot save, Talos EtcdSnapshot) have one; raw copies of <c>member/snap/db</c> do not.
    /// </summary>
    public bool HasTrailer => HasTrailerByLength(Length);

    /// <summary>etcd's trailer rule: a length that is 32 more than a multiple of 512.</summary>
    public static bool HasTrailerByLength(long length) => length >= TrailerLength && length % 512 == TrailerLength;

    /// <summary>
    /// Opens a snapshot file read-only. Fails with <see cref="SnapshotFormatException"/> when the path is missing,
    /// a directory, unreadable, empty, or locked by a running etcd (etcd holds an exclusive lock on its live
    /// <c>member/snap/db</c>; <c>etcdctl</c> would wait forever, this fails at once).
    /// </summary>
    public static SnapshotFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = System.IO.Path.GetFullPath(path);
        return new SnapshotFile(SnapshotBuffer.Map(fullPath), fullPath);
    }

    /// <summary>Wraps snapshot bytes already in memory (tests, buffers received over the network).</summary>
    public static SnapshotFile FromMemory(ReadOnlyMemory<byte> content) => new(SnapshotBuffer.Pin(content), null);

    /// <summary>
    /// Computes the status exactly as <c>etcdctl snapshot status</c> (etcd 3.4) does: the structural check must
    /// pass, the trailer is ignored. Throws <see cref="SnapshotIntegrityException"/> listing the problems when the
    /// check fails, <see cref="SnapshotFormatException"/> when the file is not a bbolt database.
    /// </summary>
    public SnapshotStatus GetStatus(CancellationToken cancellationToken = default)
        => GetStatus(new SnapshotVerifyOptions(), cancellationToken);

    /// <summary>
    /// Computes the status as <see cref="GetStatus(CancellationToken)"/> does, with options: whether to count etcd 3.6's
    /// live keys and how many problems to record. The trailer is ignored whatever <see cref="SnapshotVerifyOptions.SkipHashCheck"/> says.
    /// </summary>
    public SnapshotStatus GetStatus(SnapshotVerifyOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var statusOptions = new SnapshotVerifyOptions { SkipHashCheck = true, CountLiveKeys = options.CountLiveKeys, MaxProblems = options.MaxProblems };
        var result = Analyze(statusOptions, computeSha256: false, inspect: false, cancellationToken).Verification;
        if (!result.IsValid || result.Status is null)
        {
            throw IntegrityFailure(result);
        }

        return result.Status;
    }

    /// <summary>
    /// Verifies everything that can be verified: every <c>tx.Check</c> invariant and the ones bbolt skips, the etcd
    /// status, and the SHA-256 trailer. Damage is reported in the result, not thrown; only a file that is not a bbolt
    /// database at all throws <see cref="SnapshotFormatException"/>.
    /// </summary>
    public SnapshotVerification Verify(SnapshotVerifyOptions? options = null, CancellationToken cancellationToken = default)
        => Analyze(options ?? new SnapshotVerifyOptions(), computeSha256: true, inspect: false, cancellationToken).Verification;

    /// <summary>
    /// Verifies the snapshot (as <see cref="Verify"/>) and describes what is in it: pages by type, fragmentation,
    /// etcd meta data, members, and live keys per Kubernetes resource.
    /// </summary>
    public SnapshotInspection Inspect(SnapshotVerifyOptions? options = null, CancellationToken cancellationToken = default)
        => Analyze(options ?? new SnapshotVerifyOptions(), computeSha256: true, inspect: true, cancellationToken).Inspection!;

    /// <inheritdoc />
    public void Dispose() => _buffer.Dispose();

    internal static SnapshotIntegrityException IntegrityFailure(SnapshotVerification result)
    {
        var errors = result.Problems.Where(p => p.Severity == BoltProblemSeverity.Error).ToList();
        var message = $"snapshot file integrity check failed. {result.ErrorCount} errors found.";
        if (errors.Count > 0)
        {
            message += Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => e.Message));
        }

        return new SnapshotIntegrityException(message, errors, result.Path);
    }
}
