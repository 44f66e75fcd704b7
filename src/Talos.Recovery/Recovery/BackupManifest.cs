using Talos.Recovery.Client;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Recovery;

/// <summary>How the backup's snapshot was taken.</summary>
public enum BackupSnapshotMethod
{
    /// <summary><c>EtcdSnapshot</c>: a consistent snapshot streamed by etcd, with its SHA-256 trailer (file <c>etcd.snapshot</c>).</summary>
    EtcdSnapshot = 1,

    /// <summary>A raw copy of <c>/var/lib/etcd/member/snap/db</c> (file <c>etcd.raw.db</c>): no trailer, restored with the hash check skipped.</summary>
    RawCopy,
}

/// <summary>The snapshot of a backup set, as recorded in its manifest.</summary>
/// <param name="FileName">The file name inside the backup set (<c>etcd.snapshot</c> or <c>etcd.raw.db</c>).</param>
/// <param name="Method">How it was taken.</param>
/// <param name="SourceNode">The node it was taken from.</param>
/// <param name="Length">Its length in bytes.</param>
/// <param name="Sha256">SHA-256 (lowercase hex) of the database part (everything before the trailer; the whole file without one).</param>
/// <param name="HasTrailer">Whether the file ends in etcd's SHA-256 trailer.</param>
/// <param name="Status">The etcd status (hash, revision, keys, size, live keys).</param>
public sealed record BackupSnapshot(string FileName, BackupSnapshotMethod Method, string SourceNode, long Length, string Sha256, bool HasTrailer, SnapshotStatus Status);

/// <summary>One control-plane node of a backup set.</summary>
/// <param name="Node">The node as addressed.</param>
/// <param name="Hostname">Its hostname (etcd member name), if known.</param>
/// <param name="MachineType">Its machine type, if known.</param>
/// <param name="TalosVersion">Its Talos version tag, if known.</param>
/// <param name="MachineConfigFile">The relative path of its machine configuration in the set (<c>machineconfig/&lt;node&gt;.yaml</c>), or <see langword="null"/> when it could not be read.</param>
/// <param name="MachineConfigSha256">SHA-256 (lowercase hex) of that file.</param>
public sealed record BackupNode(string Node, string? Hostname, TalosMachineType? MachineType, string? TalosVersion, string? MachineConfigFile, string? MachineConfigSha256);

/// <summary>The manifest of a backup set (<c>manifest.json</c>).</summary>
/// <param name="FormatVersion">The manifest format (1).</param>
/// <param name="CreatedAt">When the backup was taken.</param>
/// <param name="Context">The talosconfig context used, if any.</param>
/// <param name="Cluster">The cluster name, if known.</param>
/// <param name="Snapshot">The snapshot.</param>
/// <param name="Nodes">The control-plane nodes.</param>
/// <param name="Notes">What went differently than planned (e.g. why the raw copy was used).</param>
public sealed record BackupManifest(int FormatVersion, DateTimeOffset CreatedAt, string? Context, string? Cluster, BackupSnapshot Snapshot, IReadOnlyList<BackupNode> Nodes, IReadOnlyList<string> Notes)
{
    /// <summary>The manifest format this SDK writes.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>The manifest's file name.</summary>
    public const string FileName = "manifest.json";

    /// <summary>The file name of a streamed snapshot.</summary>
    public const string SnapshotFileName = "etcd.snapshot";

    /// <summary>The file name of a raw database copy.</summary>
    public const string RawCopyFileName = "etcd.raw.db";

    /// <summary>The directory of the machine configurations.</summary>
    public const string MachineConfigDirectory = "machineconfig";
}
