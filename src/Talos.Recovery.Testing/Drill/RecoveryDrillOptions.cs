using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Talos.Recovery.Testing.Drill;

/// <summary>Where a drill takes its backup from.</summary>
public enum RecoveryDrillSource
{
    /// <summary>An etcd snapshot (<c>EtcdSnapshot</c>, with its SHA-256 trailer) taken while etcd is healthy.</summary>
    Snapshot = 0,

    /// <summary>A raw copy of <c>member/snap/db</c> taken after etcd stopped (no trailer; restored with the hash check skipped).</summary>
    RawCopy = 1,
}

/// <summary>Options for <see cref="RecoveryDrill"/>. Every default is stated on its property.</summary>
public sealed class RecoveryDrillOptions
{
    private int _controlPlanes = 3;
    private int _keys = 2000;
    private int _valueSize = 512;

    /// <summary>Control-plane nodes of the simulated cluster: 1 or 3. Default 3 (two of them lose their data).</summary>
    public int ControlPlanes
    {
        get => _controlPlanes;
        set => _controlPlanes = value is 1 or 3 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "A drill runs with 1 or 3 control-plane nodes.");
    }

    /// <summary>Where the backup comes from. Default <see cref="RecoveryDrillSource.Snapshot"/>.</summary>
    public RecoveryDrillSource Source { get; set; } = RecoveryDrillSource.Snapshot;

    /// <summary>Kubernetes-shaped keys written before the backup. Default 2,000.</summary>
    public int Keys
    {
        get => _keys;
        set => _keys = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Write at least one key.");
    }

    /// <summary>Bytes per value. Default 512.</summary>
    public int ValueSize
    {
        get => _valueSize;
        set => _valueSize = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "A value size cannot be negative.");
    }

    /// <summary>A directory to work in (created; removed at the end). Default: a new directory under the system temp directory (<c>TMPDIR</c> honoured).</summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>Receives a line per drill phase and per recovery step as they happen. Default none.</summary>
    public IProgress<string>? Progress { get; set; }

    /// <summary>Where logs go. Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;
}
