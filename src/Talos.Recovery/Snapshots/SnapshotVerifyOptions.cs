namespace Talos.Recovery.Snapshots;

/// <summary>Options for <see cref="SnapshotFile.Verify"/> and <see cref="SnapshotFile.Inspect"/>.</summary>
public sealed class SnapshotVerifyOptions
{
    /// <summary>
    /// Accept a file without a SHA-256 trailer (a raw copy of <c>member/snap/db</c>), as
    /// <c>etcdctl snapshot restore --skip-hash-check</c> does. A trailer that is present is then not compared
    /// either. Default: <see langword="false"/>, a missing or wrong trailer is an error.
    /// </summary>
    public bool SkipHashCheck { get; set; }

    /// <summary>
    /// Count etcd 3.6's live keys (<see cref="SnapshotStatus.LiveKeyCount"/>). Exact, but it keeps 16 bytes per live
    /// key while the file is read; when <see langword="false"/> the count is <see langword="null"/> and memory does not
    /// grow with the number of keys. Inspection always counts (it groups live keys by resource).
    /// Default: <see langword="true"/>.
    /// </summary>
    public bool CountLiveKeys { get; set; } = true;

    /// <summary>
    /// The most problems recorded; further ones are only counted. Default: 1000. Must be at least 1.
    /// </summary>
    public int MaxProblems
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = 1000;
}
