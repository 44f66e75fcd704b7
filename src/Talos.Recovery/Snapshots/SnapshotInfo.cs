using Talos.Recovery.Bolt;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// A snapshot that <see cref="SnapshotWriter"/> received, verified, made durable and moved into place.
/// </summary>
public sealed class SnapshotInfo
{
    private readonly byte[] _sha256;

    internal SnapshotInfo(
        string path,
        long length,
        byte[] sha256,
        SnapshotTrailerState trailer,
        SnapshotStatus status,
        TimeSpan duration,
        IReadOnlyList<BoltProblem> warnings)
    {
        Path = path;
        Length = length;
        _sha256 = sha256;
        Sha256Hex = Convert.ToHexStringLower(sha256);
        Trailer = trailer;
        Status = status;
        Duration = duration;
        Warnings = warnings;
    }

    /// <summary>The full path of the snapshot file (the destination).</summary>
    public string Path { get; }

    /// <summary>The length of the file in bytes, trailer included.</summary>
    public long Length { get; }

    /// <summary>
    /// The SHA-256 of the database part: every byte before the trailer when the file has one (then equal to the
    /// trailer when <see cref="Trailer"/> is <see cref="SnapshotTrailerState.Verified"/>), the whole file otherwise.
    /// Computed while the bytes arrived.
    /// </summary>
    public ReadOnlyMemory<byte> Sha256 => _sha256;

    /// <summary><see cref="Sha256"/> as 64 lowercase hexadecimal digits.</summary>
    public string Sha256Hex { get; }

    /// <summary>Whether the file ends in etcd's SHA-256 trailer (<c>size % 512 == 32</c>).</summary>
    public bool HasTrailer => Trailer != SnapshotTrailerState.Absent;

    /// <summary>
    /// <see cref="SnapshotTrailerState.Verified"/> for a streamed snapshot, <see cref="SnapshotTrailerState.Absent"/> or
    /// <see cref="SnapshotTrailerState.NotChecked"/> for a raw copy accepted with <see cref="SnapshotWriterOptions.SkipHashCheck"/>.
    /// </summary>
    public SnapshotTrailerState Trailer { get; }

    /// <summary>
    /// The etcd status of the snapshot, as <c>etcdctl snapshot status</c> computes it (etcd 3.6's live-key count only
    /// with <see cref="SnapshotWriterOptions.CountLiveKeys"/>).
    /// </summary>
    public SnapshotStatus Status { get; }

    /// <summary>From the start of the transfer until the file was in place.</summary>
    public TimeSpan Duration { get; }

    /// <summary>The average rate over <see cref="Duration"/>, in bytes per second.</summary>
    public double BytesPerSecond => Duration > TimeSpan.Zero ? Length / Duration.TotalSeconds : 0;

    /// <summary>Problems of severity <see cref="BoltProblemSeverity.Warning"/> the verification found (for example one torn meta page in a raw copy).</summary>
    public IReadOnlyList<BoltProblem> Warnings { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Path}: {Length} bytes, sha256 {Sha256Hex}, {Status}";
}
