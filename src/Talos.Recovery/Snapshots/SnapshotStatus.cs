namespace Talos.Recovery.Snapshots;

/// <summary>
/// The status of an etcd snapshot, exactly as <c>etcdctl snapshot status</c> of etcd 3.4/3.5 computes it
/// (<see cref="Hash"/>, <see cref="Revision"/>, <see cref="TotalKey"/>, <see cref="TotalSize"/>), plus what
/// etcd 3.6's <c>etcdutl snapshot status</c> reports differently (<see cref="LiveKeyCount"/>, <see cref="StorageVersion"/>).
/// </summary>
/// <param name="Hash">CRC-32C over every top-level bucket name, key and value in cursor order.</param>
/// <param name="Revision">Main revision of the last entry of the <c>key</c> bucket; 0 when it is empty.</param>
/// <param name="TotalKey">Entries in all top-level buckets (etcd 3.4/3.5 rule).</param>
/// <param name="TotalSize">High-water mark × page size: the database size, without trailer or tail.</param>
/// <param name="LiveKeyCount">Live user keys (etcd 3.6 rule for total keys): puts minus deletions in the <c>key</c> bucket; <see langword="null"/> when not counted (<see cref="SnapshotVerifyOptions.CountLiveKeys"/>).</param>
/// <param name="StorageVersion">The <c>meta</c> bucket's <c>storageVersion</c> when it parses as <c>MAJOR.MINOR.PATCH</c>; otherwise empty (etcd 3.6 rule).</param>
public sealed record SnapshotStatus(uint Hash, long Revision, long TotalKey, long TotalSize, long? LiveKeyCount, string StorageVersion)
{
    /// <summary>talosctl's line: <c>hash %08x, revision %d, total keys %d, total size %d</c>.</summary>
    public override string ToString() => SnapshotStatusFormatter.FormatTalosctl(this);
}
