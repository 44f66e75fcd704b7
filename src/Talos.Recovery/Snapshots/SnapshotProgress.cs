using System.Diagnostics;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// How far a snapshot transfer has come. Reported through <see cref="IProgress{T}"/> at most once per progress
/// interval, plus once at the end with the final byte count; never once per chunk.
/// </summary>
/// <param name="BytesTransferred">Bytes received and written to disk (<see cref="SnapshotWriter"/>) or handed to the consumer (<see cref="SnapshotReader"/>).</param>
/// <param name="TotalBytes">The total when known: <see cref="SnapshotWriterOptions.ExpectedLength"/> for the writer, the file length for the reader.</param>
/// <param name="Elapsed">Time since the transfer started.</param>
public readonly record struct SnapshotProgress(long BytesTransferred, long? TotalBytes, TimeSpan Elapsed)
{
    /// <summary>The average rate since the start, in bytes per second; 0 before any time has passed.</summary>
    public double BytesPerSecond => Elapsed > TimeSpan.Zero ? BytesTransferred / Elapsed.TotalSeconds : 0;

    /// <summary>The fraction done (0 to 1) when <see cref="TotalBytes"/> is known and positive; otherwise <see langword="null"/>.</summary>
    public double? Fraction => TotalBytes is > 0 and var total ? Math.Min(1.0, (double)BytesTransferred / total) : null;
}

/// <summary>Time-based throttle for progress reports (no allocation, no timer).</summary>
internal struct SnapshotProgressThrottle
{
    private readonly IProgress<SnapshotProgress>? _progress;
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly long _intervalTicks;
    private readonly long? _total;
    private long _last;

    public SnapshotProgressThrottle(IProgress<SnapshotProgress>? progress, TimeProvider time, long startTimestamp, TimeSpan interval, long? total)
    {
        _progress = progress;
        _time = time;
        _start = startTimestamp;
        _total = total;
        _intervalTicks = interval == Timeout.InfiniteTimeSpan ? long.MaxValue : (long)(interval.TotalSeconds * time.TimestampFrequency);
        _last = startTimestamp;
    }

    /// <summary>Reports when an interval has passed since the last report.</summary>
    public void Tick(long bytes)
    {
        if (_progress is null)
        {
            return;
        }

        var now = _time.GetTimestamp();
        if (now - _last < _intervalTicks)
        {
            return;
        }

        _last = now;
        _progress.Report(new SnapshotProgress(bytes, _total, _time.GetElapsedTime(_start, now)));
    }

    /// <summary>The final report, whatever the interval.</summary>
    public readonly void Final(long bytes)
    {
        if (_progress is not null)
        {
            Debug.Assert(bytes >= 0, "byte count must not be negative");
            _progress.Report(new SnapshotProgress(bytes, _total ?? bytes, _time.GetElapsedTime(_start)));
        }
    }
}
