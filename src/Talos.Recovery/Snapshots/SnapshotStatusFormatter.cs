using System.Globalization;
using System.Text;

namespace Talos.Recovery.Snapshots;

/// <summary>The output formats of <c>etcdctl snapshot status -w …</c> (etcd 3.4/3.5).</summary>
public enum SnapshotStatusFormat
{
    /// <summary>
    /// <c>-w simple</c>, etcdctl's default: one line <c>hash, revision, total keys, humanized size</c>,
    /// for example <c>128905bf, 6, 10, 25 kB</c>. The hash is lowercase hexadecimal without zero padding.
    /// </summary>
    Simple = 0,

    /// <summary>
    /// <c>-w json</c>: one line of compact JSON, for example
    /// <c>{"hash":310969791,"revision":6,"totalKey":10,"totalSize":24576}</c>.
    /// </summary>
    Json = 1,

    /// <summary>
    /// <c>-w table</c>: the bordered table etcdctl draws with olekukonko/tablewriter; upper-case centered headers
    /// <c>HASH | REVISION | TOTAL KEYS | TOTAL SIZE</c> and right-aligned cells. Five lines.
    /// </summary>
    Table = 2,

    /// <summary><c>-w fields</c>: four lines <c>"Hash" : 310969791</c>, <c>"Revision" : 6</c>, <c>"Keys" : 10</c>, <c>"Size" : 24576</c>.</summary>
    Fields = 3,
}

/// <summary>
/// Renders <see cref="SnapshotStatus"/> byte for byte the way <c>etcdctl snapshot status</c> (etcd 3.4/3.5) and
/// <c>talosctl etcd snapshot</c> print it, so scripts written against those tools keep working.
/// </summary>
/// <remarks>
/// Multi-line results separate lines with <c>"\n"</c> on every platform, as etcdctl does, and have no trailing
/// line break; write one after the text. Only the etcd 3.4/3.5 forms are produced: etcd 3.6's extra
/// <c>version</c> column and its different total-key rule are not (<see cref="SnapshotStatus.LiveKeyCount"/> and
/// <see cref="SnapshotStatus.StorageVersion"/> carry those figures).
/// </remarks>
public static partial class SnapshotStatusFormatter
{
    private static readonly string[] TableHeaders = ["hash", "revision", "total keys", "total size"];

    /// <summary>Renders <paramref name="status"/> as <c>etcdctl snapshot status -w <paramref name="format"/></c> prints it.</summary>
    /// <param name="status">The status to render.</param>
    /// <param name="format">The etcdctl output format.</param>
    /// <returns>The text without a trailing line break; lines are separated by <c>"\n"</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="status"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="format"/> is not a defined value.</exception>
    /// <example>
    /// <code>
    /// var status = new SnapshotStatus(0x128905bf, 6, 10, 24576, 5, "");
    /// SnapshotStatusFormatter.Format(status, SnapshotStatusFormat.Simple); // "128905bf, 6, 10, 25 kB"
    /// </code>
    /// </example>
    public static string Format(SnapshotStatus status, SnapshotStatusFormat format)
    {
        ArgumentNullException.ThrowIfNull(status);
        return format switch
        {
            SnapshotStatusFormat.Simple => string.Join(", ", Row(status)),
            SnapshotStatusFormat.Json => string.Create(CultureInfo.InvariantCulture, $"{{\"hash\":{status.Hash},\"revision\":{status.Revision},\"totalKey\":{status.TotalKey},\"totalSize\":{status.TotalSize}}}"),
            SnapshotStatusFormat.Table => FormatTable(status),
            SnapshotStatusFormat.Fields => string.Create(CultureInfo.InvariantCulture, $"\"Hash\" : {status.Hash}\n\"Revision\" : {status.Revision}\n\"Keys\" : {status.TotalKey}\n\"Size\" : {status.TotalSize}"),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown snapshot status format."),
        };
    }

    /// <summary>talosctl's form: <c>hash %08x, revision %d, total keys %d, total size %d</c>.</summary>
    public static string FormatTalosctl(SnapshotStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return string.Create(CultureInfo.InvariantCulture, $"hash {status.Hash:x8}, revision {status.Revision}, total keys {status.TotalKey}, total size {status.TotalSize}");
    }

    // etcdctl's makeDBStatusTable row: %x hash, %d revision and keys, go-humanize Bytes(uint64(TotalSize)).
    private static string[] Row(SnapshotStatus status) =>
    [
        status.Hash.ToString("x", CultureInfo.InvariantCulture),
        status.Revision.ToString(CultureInfo.InvariantCulture),
        status.TotalKey.ToString(CultureInfo.InvariantCulture),
        HumanizeUnsigned(unchecked((ulong)status.TotalSize)),
    ];

    private static string FormatTable(SnapshotStatus status)
    {
        var table = new TextTable(TableHeaders, TextTableAlignment.Right);
        table.AddRow(Row(status));
        var builder = new StringBuilder();
        table.Render(builder);
        return builder.ToString();
    }
}
