namespace Talos.Recovery.Snapshots;

/// <summary>Page counts of a bbolt file, by what the page is used for.</summary>
/// <param name="Meta">Meta pages (always 2).</param>
/// <param name="Freelist">Pages of a persisted freelist, overflow included (0 for Linux etcd snapshots).</param>
/// <param name="Branch">Branch pages reachable from the root bucket.</param>
/// <param name="Leaf">Leaf pages reachable from the root bucket.</param>
/// <param name="Overflow">Continuation pages of branch and leaf pages.</param>
/// <param name="Free">Pages below the high-water mark that hold no live data.</param>
public sealed record SnapshotPageCounts(long Meta, long Freelist, long Branch, long Leaf, long Overflow, long Free);

/// <summary>A top-level bucket and its size.</summary>
/// <param name="Name">The bucket name (etcd's buckets are ASCII).</param>
/// <param name="Keys">Entries directly in the bucket.</param>
/// <param name="Inline">Whether the bucket is stored inline in its parent's leaf.</param>
public sealed record SnapshotBucket(string Name, long Keys, bool Inline);

/// <summary>An etcd member recorded in the snapshot's <c>members</c> bucket.</summary>
/// <param name="Id">Member id.</param>
/// <param name="Name">Member name (empty for a member that never started).</param>
/// <param name="PeerUrls">Peer URLs.</param>
/// <param name="ClientUrls">Client URLs.</param>
/// <param name="IsLearner">Whether it is a learner.</param>
/// <param name="Removed">Whether it is listed in <c>members_removed</c>.</param>
public sealed record SnapshotMember(ulong Id, string Name, IReadOnlyList<string> PeerUrls, IReadOnlyList<string> ClientUrls, bool IsLearner, bool Removed);

/// <summary>The number of live keys under one Kubernetes resource prefix (<c>/registry/&lt;resource&gt;/…</c>).</summary>
/// <param name="Resource">The path segment after <c>/registry/</c> (for example <c>pods</c>, or <c>apiregistration.k8s.io</c>).</param>
/// <param name="LiveKeys">Live keys under it.</param>
public sealed record SnapshotResourceCount(string Resource, long LiveKeys);

/// <summary>What is inside an etcd snapshot, as <see cref="SnapshotFile.Inspect"/> reports it.</summary>
public sealed class SnapshotInspection
{
    internal SnapshotInspection()
    {
    }

    /// <summary>The verification the inspection was made with (status, trailer, problems).</summary>
    public required SnapshotVerification Verification { get; init; }

    /// <summary>The bbolt page size in bytes.</summary>
    public required int PageSize { get; init; }

    /// <summary>The high-water mark: pages in logical use.</summary>
    public required long PageCount { get; init; }

    /// <summary>The transaction id of the active meta page.</summary>
    public required ulong TransactionId { get; init; }

    /// <summary>Whether the file carries a persisted freelist (false for every Linux etcd ≥ 3.3).</summary>
    public required bool HasFreelist { get; init; }

    /// <summary>Pages by use.</summary>
    public required SnapshotPageCounts Pages { get; init; }

    /// <summary>Free pages ÷ page count: the share of the file a defragmentation would reclaim.</summary>
    public double Fragmentation => PageCount == 0 ? 0 : (double)Pages.Free / PageCount;

    /// <summary>Top-level buckets in cursor order.</summary>
    public required IReadOnlyList<SnapshotBucket> Buckets { get; init; }

    /// <summary>The <c>meta</c> bucket's <c>consistent_index</c> (the last applied raft index), when present.</summary>
    public ulong? ConsistentIndex { get; init; }

    /// <summary>The <c>meta</c> bucket's <c>term</c> (etcd ≥ 3.5), when present.</summary>
    public ulong? Term { get; init; }

    /// <summary>The last compaction that was scheduled (<c>scheduledCompactRev</c>), when present.</summary>
    public long? ScheduledCompactRevision { get; init; }

    /// <summary>The last compaction that finished (<c>finishedCompactRev</c>), when present.</summary>
    public long? FinishedCompactRevision { get; init; }

    /// <summary>The <c>cluster</c> bucket's <c>clusterVersion</c>, when present.</summary>
    public string? ClusterVersion { get; init; }

    /// <summary>The raw <c>meta</c> bucket <c>storageVersion</c> (etcd ≥ 3.6), when present.</summary>
    public string? StorageVersion { get; init; }

    /// <summary>Whether etcd authentication was enabled.</summary>
    public bool AuthEnabled { get; init; }

    /// <summary>Members recorded in the snapshot, with removed ones flagged.</summary>
    public required IReadOnlyList<SnapshotMember> Members { get; init; }

    /// <summary>Leases recorded in the snapshot.</summary>
    public long Leases { get; init; }

    /// <summary>Alarms recorded in the snapshot.</summary>
    public long Alarms { get; init; }

    /// <summary>Entries in the <c>key</c> bucket: every stored revision of every key, tombstones included.</summary>
    public long KeyRevisions { get; init; }

    /// <summary>Deletion markers (tombstones) in the <c>key</c> bucket.</summary>
    public long Tombstones { get; init; }

    /// <summary>Live keys: the keys a range request at the latest revision would return.</summary>
    public long LiveKeys { get; init; }

    /// <summary>Live keys counted per Kubernetes resource (<c>/registry/&lt;resource&gt;/…</c>), most first.</summary>
    public required IReadOnlyList<SnapshotResourceCount> Resources { get; init; }

    /// <summary>Live keys outside <c>/registry/</c>.</summary>
    public long OtherLiveKeys { get; init; }
}
