using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Talos.Recovery.Snapshots;

/// <summary>Options for <see cref="SnapshotWriter"/>. The writer copies them when it is created.</summary>
public sealed class SnapshotWriterOptions
{
    /// <summary>Replace an existing destination file (only ever with a verified snapshot). Default: <see langword="false"/>.</summary>
    /// <remarks>
    /// When <see langword="false"/>, an existing destination fails the transfer with
    /// <see cref="SnapshotTransferFailure.DestinationExists"/> before the source is read, and the final move uses a
    /// no-replace rename, so a file created at the destination during the transfer is not replaced either.
    /// </remarks>
    public bool Overwrite { get; set; }

    /// <summary>
    /// How long the source may deliver no byte before the transfer fails with <see cref="SnapshotTransferFailure.Stalled"/>.
    /// Time the source spends paused by back-pressure (the disk is slower) does not count.
    /// Default: 30 seconds. <see cref="Timeout.InfiniteTimeSpan"/> disables the check.
    /// </summary>
    public TimeSpan InactivityTimeout
    {
        get;
        set
        {
            if (value != Timeout.InfiniteTimeSpan)
            {
                ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            }

            field = value;
        }
    } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Accept a stream without etcd's SHA-256 trailer: a raw copy of <c>member/snap/db</c> (as
    /// <c>etcdctl snapshot restore --skip-hash-check</c> does). A trailer that is present is then not compared either,
    /// and the bbolt rules for raw copies apply (one torn meta page is a warning). Default: <see langword="false"/>:
    /// the stream must end in a matching trailer, as every API snapshot does.
    /// </summary>
    public bool SkipHashCheck { get; set; }

    /// <summary>
    /// Whether the final check also counts etcd 3.6's live keys (<see cref="SnapshotStatus.LiveKeyCount"/> in
    /// <see cref="SnapshotInfo.Status"/>). Counting keeps 16 bytes per live key in memory during the check (about
    /// 10 MB per 600,000 keys, plus the table's growth); set it to <see langword="false"/> to keep a transfer's
    /// memory independent of the snapshot (the count is then <see langword="null"/>). Default: <see langword="true"/>.
    /// </summary>
    public bool CountLiveKeys { get; set; } = true;

    /// <summary>
    /// Keep content that turned out invalid (<see cref="SnapshotTransferException.IsContentFailure"/>) for forensics
    /// instead of deleting it: at <see cref="KeepInvalidAs"/>, or <c>DESTINATION.invalid</c>. It is never kept under
    /// the destination name. Default: <see langword="false"/> (also implied when <see cref="KeepInvalidAs"/> is set).
    /// </summary>
    public bool KeepInvalid { get; set; }

    /// <summary>
    /// Where to keep invalid content; setting it implies <see cref="KeepInvalid"/>. An existing file there is replaced.
    /// It must not be the destination. Default: <see langword="null"/> (<c>DESTINATION.invalid</c>).
    /// </summary>
    public string? KeepInvalidAs { get; set; }

    /// <summary>
    /// The total number of bytes the stream will carry, trailer included, when known (for example from etcd's
    /// <c>remaining_bytes</c> plus 32). Used for progress, to preallocate the file (a full disk fails at once), to
    /// detect a short stream as <see cref="SnapshotTransferFailure.Truncated"/> and to stop a longer one early.
    /// Default: <see langword="null"/> (unknown).
    /// </summary>
    public long? ExpectedLength
    {
        get;
        set
        {
            if (value is { } length)
            {
                ArgumentOutOfRangeException.ThrowIfNegative(length);
            }

            field = value;
        }
    }

    /// <summary>
    /// The least time between two progress reports. Default: 500 ms. <see cref="TimeSpan.Zero"/> reports after every
    /// disk write; <see cref="Timeout.InfiniteTimeSpan"/> reports only once, at the end.
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

    /// <summary>
    /// The least number of bytes gathered before one disk write (the last write may be shorter). Chunks are never
    /// written one by one. Default: 1 MiB. From 4 KiB to 64 MiB, and at most <see cref="PauseWriterThreshold"/>.
    /// </summary>
    public int WriteSize
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 4096);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 64 << 20);
            field = value;
        }
    } = 1 << 20;

    /// <summary>
    /// Back-pressure: when this many received bytes wait for the disk, the source is paused (the PipeWriter's
    /// <c>FlushAsync</c> does not complete) until they drop below <see cref="ResumeWriterThreshold"/>. This bounds the
    /// memory a transfer uses. Default: 8 MiB.
    /// </summary>
    public long PauseWriterThreshold
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 4096);
            field = value;
        }
    } = 8 << 20;

    /// <summary>The level below which a paused source resumes. Default: 4 MiB. At most <see cref="PauseWriterThreshold"/>.</summary>
    public long ResumeWriterThreshold
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = 4 << 20;

    /// <summary>Where the writer logs (start, end, failures; never per chunk). Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
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

    /// <summary>Test seams.</summary>
    internal SnapshotWriterTestHooks? TestHooks { get; set; }

    internal SnapshotWriterOptions Clone() => (SnapshotWriterOptions)MemberwiseClone();

    internal void Validate()
    {
        if (WriteSize > PauseWriterThreshold)
        {
            throw new ArgumentException($"{nameof(WriteSize)} ({WriteSize}) must not exceed {nameof(PauseWriterThreshold)} ({PauseWriterThreshold}): the writer waits for {nameof(WriteSize)} bytes while the source is paused", "options");
        }

        if (ResumeWriterThreshold > PauseWriterThreshold)
        {
            throw new ArgumentException($"{nameof(ResumeWriterThreshold)} ({ResumeWriterThreshold}) must not exceed {nameof(PauseWriterThreshold)} ({PauseWriterThreshold})", "options");
        }
    }
}

/// <summary>Hooks the tests use to simulate a slow disk or a racing process.</summary>
internal sealed class SnapshotWriterTestHooks
{
    /// <summary>Runs on the disk side before each write with (file offset, length).</summary>
    public Func<long, long, ValueTask>? BeforeDiskWrite { get; set; }

    /// <summary>Runs on the disk side after each write with (file offset, length), before the bytes leave the pipe.</summary>
    public Action<long, long>? AfterDiskWrite { get; set; }

    /// <summary>Runs after verification, just before the final rename.</summary>
    public Action? BeforeRename { get; set; }
}
