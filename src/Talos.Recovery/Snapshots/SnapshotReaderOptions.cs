using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Talos.Recovery.Snapshots;

/// <summary>Options for <see cref="SnapshotReader"/>. The reader copies them when it is created.</summary>
public sealed class SnapshotReaderOptions
{
    /// <summary>The size of each chunk handed out (the last one may be shorter). Default: 4096, as talosctl's <c>EtcdRecover</c> upload. From 1 byte to 16 MiB.</summary>
    public int ChunkSize
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 16 << 20);
            field = value;
        }
    } = 4096;

    /// <summary>
    /// Verify the whole file (structure, etcd status and, unless <see cref="SkipHashCheck"/>, the SHA-256 trailer)
    /// before the first chunk is handed out, so that a damaged snapshot is never uploaded. Default: <see langword="true"/>.
    /// </summary>
    public bool VerifyBeforeSending { get; set; } = true;

    /// <summary>
    /// For <see cref="VerifyBeforeSending"/>: accept a file without a SHA-256 trailer (a raw copy of <c>member/snap/db</c>).
    /// Default: <see langword="false"/>.
    /// </summary>
    public bool SkipHashCheck { get; set; }

    /// <summary>
    /// The least time between two progress reports. Default: 500 ms. <see cref="TimeSpan.Zero"/> reports after every
    /// read from the file; <see cref="Timeout.InfiniteTimeSpan"/> reports only once, at the end.
    /// </summary>
    public TimeSpan ProgressInterval
    {
        get;
        set
        {
            if (value != Timeout.InfiniteTimeSpan)
            {
                ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            }

            field = value;
        }
    } = TimeSpan.FromMilliseconds(500);

    /// <summary>Where the reader logs (start, end, refusals; never per chunk). Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory
    {
        get;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            field = value;
        }
    } = NullLoggerFactory.Instance;

    /// <summary>The clock (tests replace it).</summary>
    internal TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal SnapshotReaderOptions Clone() => (SnapshotReaderOptions)MemberwiseClone();
}
