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
