namespace Talos.Recovery.Client;

/// <summary>What a Talos volume is (<c>VolumeStatus.type</c>; values as on the wire).</summary>
public enum TalosVolumeType
{
    /// <summary>A partition of its own (e.g. <c>EPHEMERAL</c>, or <c>ETCD</c> provisioned on a dedicated partition).</summary>
    Partition = 0,

    /// <summary>A whole disk of its own.</summary>
    Disk = 1,

    /// <summary>A tmpfs.</summary>
    Tmpfs = 2,

    /// <summary>A directory on another volume (Talos 1.14's default for <c>ETCD</c>: <c>/var/lib/etcd</c> on <c>EPHEMERAL</c>).</summary>
    Directory = 3,

    /// <summary>A symlink.</summary>
    Symlink = 4,

    /// <summary>An overlay.</summary>
    Overlay = 5,

    /// <summary>An external volume.</summary>
    External = 6,
}

/// <summary>The phase of a Talos volume (<c>VolumeStatus.phase</c>; values as on the wire).</summary>
public enum TalosVolumePhase
{
    /// <summary><c>waiting</c>.</summary>
    Waiting = 0,

    /// <summary><c>failed</c> (see <see cref="TalosVolumeStatus.ErrorMessage"/>).</summary>
    Failed = 1,

    /// <summary><c>missing</c>.</summary>
    Missing = 2,

    /// <summary><c>located</c>.</summary>
    Located = 3,

    /// <summary><c>provisioned</c>.</summary>
    Provisioned = 4,

    /// <summary><c>prepared</c>.</summary>
    Prepared = 5,

    /// <summary><c>ready</c>: mounted and in use.</summary>
    Ready = 6,

    /// <summary><c>closed</c>.</summary>
    Closed = 7,
}

/// <summary>One volume of a node as Talos reports it (<c>VolumeStatuses.block.talos.dev</c>, namespace <c>runtime</c>; Talos 1.8+).</summary>
/// <param name="Node">The node that answered.</param>
/// <param name="Id">The volume id, e.g. <c>EPHEMERAL</c> or <c>ETCD</c>.</param>
/// <param name="Type">What the volume is.</param>
/// <param name="Phase">Its phase.</param>
/// <param name="Location">The block device (for a partition or disk), e.g. <c>/dev/sda5</c>; empty otherwise.</param>
/// <param name="MountLocation">The device that is mounted (may differ from <paramref name="Location"/>, e.g. when encrypted); empty otherwise.</param>
/// <param name="ParentId">The volume it lives on (for a directory volume, e.g. <c>EPHEMERAL</c>); empty otherwise.</param>
/// <param name="Size">Its size in bytes (0 when not a block device).</param>
/// <param name="ErrorMessage">Why it failed, if it did; empty otherwise.</param>
public sealed record TalosVolumeStatus(
    string Node,
    string Id,
    TalosVolumeType Type,
    TalosVolumePhase Phase,
    string Location,
    string MountLocation,
    string ParentId,
    ulong Size,
    string ErrorMessage)
{
    /// <summary>Whether the volume is a partition or disk of its own, so wiping another volume (e.g. <c>EPHEMERAL</c>) leaves its data alone.</summary>
    public bool IsSeparateVolume => Type is TalosVolumeType.Partition or TalosVolumeType.Disk;
}
