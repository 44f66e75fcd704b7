using System.Globalization;

namespace Talos.Recovery.Snapshots;

/// <summary>Renders <see cref="SnapshotStatus"/> the way etcdctl and talosctl print it.</summary>
public static partial class SnapshotStatusFormatter
{
    /// <summary>talosctl's form: <c>hash %08x, revision %d, total keys %d, total size %d</c>.</summary>
    public static string FormatTalosctl(SnapshotStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return string.Create(CultureInfo.InvariantCulture, $"hash {status.Hash:x8}, revision {status.Revision}, total keys {status.TotalKey}, total size {status.TotalSize}");
    }
}
