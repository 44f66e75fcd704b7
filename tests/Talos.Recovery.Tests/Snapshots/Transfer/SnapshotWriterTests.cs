using System.Buffers;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Tests.Snapshots.Transfer;

/// <summary>What a successful transfer produces.</summary>
[UnsupportedOSPlatform("windows")]
public class SnapshotWriterTests
{
    [TestCase(1)]
    [TestCase(7)]
    [TestCase(1024)]
    [TestCase(4099)]
    [TestCase(32 * 1024)]
    [TestCase(3 * 1024 * 1024)]
    public async Task Writes_a_byte_identical_private_file_whose_status_equals_the_source(int chunkSize)
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var destination = Path.Combine(TransferSnapshots.NewDirectory(), "etcd.snapshot");

        var info = await new SnapshotWriter().WriteAsync(destination, TestSources.Chunks(snapshots.Streamed, chunkSize));

        Assert.That(File.ReadAllBytes(destination), Is.EqualTo(snapshots.Streamed));
        Assert.That(File.GetUnixFileMode(destination), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(File.Exists(destination + ".part"), Is.False);
        Assert.That(info.Path, Is.EqualTo(destination));
        Assert.That(info.Length, Is.EqualTo(snapshots.Streamed.Length));
        Assert.That(info.Status, Is.EqualTo(snapshots.StreamedStatus));
        Assert.That(info.Trailer, Is.EqualTo(SnapshotTrailerState.Verified));
        Assert.That(info.HasTrailer, Is.True);
        Assert.That(info.Sha256.ToArray(), Is.EqualTo(snapshots.Streamed[^32..]));
        Assert.That(info.Sha256Hex, Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(snapshots.Streamed.AsSpan(0, snapshots.Streamed.Length - 32)))));
        Assert.That(info.Duration, Is.GreaterThan(TimeSpan.Zero));
        Assert.That(info.BytesPerSecond, Is.GreaterThan(0));
    }

    [Test]
    public async Task Accepts_chunks_of_odd_varying_sizes()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var destination = Path.Combine(TransferSnapshots.NewDirectory(), "etcd.snapshot");

        var info = await new SnapshotWriter().WriteAsync(destination, TestSources.OddChunks(snapshots.Streamed, seed: 11));

        Assert.That(File.ReadAllBytes(destination), Is.EqualTo(snapshots.Streamed));
        Assert.That(info.Status, Is.EqualTo(snapshots.StreamedStatus));
    }

    [Test]
    public async Task The_part_file_is_private_from_the_first_byte_even_with_a_permissive_umask()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var destination = Path.Combine(TransferSnapshots.NewDirectory(), "etcd.snapshot");
        var modes = new List<UnixFileMode>();
        var options = new SnapshotWriterOptions
        {
            WriteSize = 64 * 1024,
            TestHooks = new SnapshotWriterTestHooks { BeforeDiskWrite = (_, _) => { modes.Add(File.GetUnixFileMode(destination + ".part")); return ValueTask.CompletedTask; } },
        };

        using (Umask.Set(0))
        {
            await new SnapshotWriter(options).WriteAsync(destination, TestSources.Chunks(snapshots.Streamed, 4096));
        }

        Assert.That(modes, Is.Not.Empty);
        Assert.That(modes, Is.All.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(File.GetUnixFileMode(destination), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    [Test]
    public async Task Gathers_small_chunks_into_large_disk_writes()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var destination = Path.Combine(TransferSnapshots.NewDirectory(), "etcd.snapshot");
        var writes = new List<long>();
        var options = new SnapshotWriterOptions
        {
            WriteSize = 256 * 1024,
            TestHooks = new SnapshotWriterTestHooks { BeforeDiskWrite = (_, length) => { writes.Add(length); return ValueTask.CompletedTask; } },
        };

        await new SnapshotWriter(options).WriteAsync(destination, TestSources.Chunks(snapshots.Streamed, 1024));

        Assert.That(writes.Sum(), Is.EqualTo(snapshots.Streamed.Length));
        Assert.That(writes.Take(writes.Count - 1), Is.All.GreaterThanOrEqualTo(256 * 1024), "every write but the last gathers at least WriteSize bytes");
        Assert.That(writes, Has.Count.LessThanOrEqualTo((snapshots.Streamed.Length / (256 * 1024)) + 1));
    }

    [Test]
    public async Task A_raw_copy_without_trailer_is_accepted_with_SkipHashCheck()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var destination = Path.Combine(TransferSnapshots.NewDirectory(), "db");

        var info = await new SnapshotWriter(new SnapshotWriterOptions { SkipHashCheck = true }).WriteAsync(destination, TestSources.Chunks(snapshots.Raw, 32 * 1024));

        Assert.That(File.ReadAllBytes(destination), Is.EqualTo(snapshots.Raw));
        Assert.That(info.Trailer, Is.EqualTo(SnapshotTrailerState.Absent));
        Assert.That(info.HasTrailer, Is.False);
        Assert.That(info.Status, Is.EqualTo(snapshots.RawStatus));
        Assert.That(info.Sha256.ToArray(), Is.EqualTo(SHA256.HashData(snapshots.Raw)), "without a trailer the digest covers the whole file");
    }

    [Test]
    public async Task SkipHashCheck_leaves_a_present_trailer_unchecked()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var destination = Path.Combine(TransferSnapshots.NewDirectory(), "etcd.snapshot");

        var info = await new SnapshotWriter(new SnapshotWriterOptions { SkipHashCheck = true }).WriteAsync(destination, TestSources.Chunks(snapshots.Streamed, 32 * 1024));

        Assert.That(info.Trailer, Is.EqualTo(SnapshotTrailerState.NotChecked));
        Assert.That(info.Status, Is.EqualTo(snapshots.StreamedStatus));
    }

    [Test]
    public async Task Overwrite_replaces_an_existing_destination_with_the_verified_snapshot()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var destination = Path.Combine(TransferSnapshots.NewDirectory(), "etcd.snapshot");
        await File.WriteAllTextAsync(destination, "yesterday's snapshot");

        await new SnapshotWriter(new SnapshotWriterOptions { Overwrite = true }).WriteAsync(destination, TestSources.Chunks(snapshots.Streamed, 32 * 1024));

        Assert.That(File.ReadAllBytes(destination), Is.EqualTo(snapshots.Streamed));
        Assert.That(File.GetUnixFileMode(destination), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    [Test]
    public async Task A_leftover_part_file_from_a_crashed_transfer_is_replaced()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var destination = Path.Combine(TransferSnapshots.NewDirectory(), "etcd.snapshot");
        await File.WriteAllTextAsync(destination + ".part", "half a snapshot");
        File.SetUnixFileMode(destination + ".part", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        await new SnapshotWriter().WriteAsync(destination, TestSources.Chunks(snapshots.Streamed, 32 * 1024));

        Assert.That(File.ReadAllBytes(destination), Is.EqualTo(snapshots.Streamed));
        Assert.That(File.GetUnixFileMode(destination), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(File.Exists(destination + ".part"), Is.False);
    }

    [Test]
    public async Task A_part_file_planted_as_a_symbolic_link_is_not_written_through()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var directory = TransferSnapshots.NewDirectory();
        var destination = Path.Combine(directory, "etcd.snapshot");
        var victim = Path.Combine(directory, "victim");
        await File.WriteAllTextAsync(victim, "precious");
        File.CreateSymbolicLink(destination + ".part", victim);

        await new SnapshotWriter().WriteAsync(destination, TestSources.Chunks(snapshots.Streamed, 32 * 1024));

        Assert.That(await File.ReadAllTextAsync(victim), Is.EqualTo("precious"));
        Assert.That(File.ReadAllBytes(destination), Is.EqualTo(snapshots.Streamed));
    }

    [Test]
    public async Task A_session_fed_through_its_PipeWriter_writes_the_snapshot()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var destination = Path.Combine(TransferSnapshots.NewDirectory(), "etcd.snapshot");
        var random = new Random(5);

        await using var session = await new SnapshotWriter().CreateAsync(destination);
        Assert.That(session.PartPath, Is.EqualTo(destination + ".part"));
        Assert.That(File.GetUnixFileMode(session.PartPath), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        var offset = 0;
        while (offset < snapshots.Streamed.Length)
        {
            var span = session.Writer.GetSpan(random.Next(1, 3000));
            var count = Math.Min(Math.Min(span.Length, random.Next(1, 70_000)), snapshots.Streamed.Length - offset);
            snapshots.Streamed.AsSpan(offset, count).CopyTo(span);
            session.Writer.Advance(count);
            offset += count;
            if (random.Next(4) == 0)
            {
                var flushed = await session.Writer.FlushAsync();
                Assert.That(flushed.IsCompleted, Is.False);
            }
        }

        Assert.That(session.BytesReceived, Is.EqualTo(snapshots.Streamed.Length));
        var info = await session.CompleteAsync();

        Assert.That(File.ReadAllBytes(destination), Is.EqualTo(snapshots.Streamed));
        Assert.That(info.Status, Is.EqualTo(snapshots.StreamedStatus));
    }

    [Test]
    public async Task Progress_is_reported_once_at_the_end_when_the_interval_is_infinite()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var destination = Path.Combine(TransferSnapshots.NewDirectory(), "etcd.snapshot");
        var progress = new RecordingProgress();

        await new SnapshotWriter(new SnapshotWriterOptions { ProgressInterval = Timeout.InfiniteTimeSpan }).WriteAsync(destination, TestSources.Chunks(snapshots.Streamed, 1), progress);

        Assert.That(progress.Reports, Has.Count.EqualTo(1), "one report for 1.5 million one-byte chunks: the final one");
        Assert.That(progress.Reports[0].BytesTransferred, Is.EqualTo(snapshots.Streamed.Length));
        Assert.That(progress.Reports[0].TotalBytes, Is.EqualTo(snapshots.Streamed.Length));
        Assert.That(progress.Reports[0].Fraction, Is.EqualTo(1.0));
    }

    [Test]
    public async Task Progress_is_reported_per_disk_write_at_most_never_per_chunk()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var destination = Path.Combine(TransferSnapshots.NewDirectory(), "etcd.snapshot");
        var progress = new RecordingProgress();
        var writes = 0;
        var options = new SnapshotWriterOptions
        {
            ProgressInterval = TimeSpan.Zero,
            WriteSize = 64 * 1024,
            ExpectedLength = snapshots.Streamed.Length,
            TestHooks = new SnapshotWriterTestHooks { BeforeDiskWrite = (_, _) => { writes++; return ValueTask.CompletedTask; } },
        };

        await new SnapshotWriter(options).WriteAsync(destination, TestSources.Chunks(snapshots.Streamed, 1024), progress);

        var reports = progress.Reports;
        Assert.That(reports, Has.Count.LessThanOrEqualTo(writes + 1));
        Assert.That(reports, Has.Count.LessThan(snapshots.Streamed.Length / 1024 / 10));
        Assert.That(reports.Select(r => r.BytesTransferred), Is.Ordered);
        Assert.That(reports.Select(r => r.TotalBytes), Is.All.EqualTo(snapshots.Streamed.Length));
        Assert.That(reports[^1].BytesTransferred, Is.EqualTo(snapshots.Streamed.Length));
    }

    [Test]
    public async Task A_slow_disk_pauses_the_source_and_keeps_the_buffered_bytes_bounded()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var destination = Path.Combine(TransferSnapshots.NewDirectory(), "etcd.snapshot");
        const int pause = 128 * 1024;
        const int chunk = 1024;
        long onDisk = 0;
        long maxBuffered = 0;
        var options = new SnapshotWriterOptions
        {
            WriteSize = 32 * 1024,
            PauseWriterThreshold = pause,
            ResumeWriterThreshold = pause / 2,
            TestHooks = new SnapshotWriterTestHooks
            {
                BeforeDiskWrite = async (_, _) => await Task.Delay(20),
                AfterDiskWrite = (offset, length) => Interlocked.Exchange(ref onDisk, offset + length),
            },
        };

        // At each chunk, what the source has produced minus what has reached the disk: the bytes held in memory.
        void Observe(long produced) => InterlockedMax(ref maxBuffered, produced - Interlocked.Read(ref onDisk));

        await new SnapshotWriter(options).WriteAsync(destination, TestSources.Chunks(snapshots.Streamed, chunk, Observe));

        Assert.That(File.ReadAllBytes(destination), Is.EqualTo(snapshots.Streamed));
        Assert.That(maxBuffered, Is.GreaterThanOrEqualTo(pause - chunk), "the disk was slow enough for the pipe to fill up to the threshold");
        Assert.That(maxBuffered, Is.LessThanOrEqualTo(pause + SnapshotWriter.PumpFlushSize + chunk), "the source was paused at the threshold");
    }

    [Test]
    public async Task Time_paused_by_back_pressure_is_not_inactivity()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var destination = Path.Combine(TransferSnapshots.NewDirectory(), "etcd.snapshot");
        // The first disk write takes far longer than the inactivity timeout; the source sits paused meanwhile.
        var options = new SnapshotWriterOptions
        {
            InactivityTimeout = TimeSpan.FromSeconds(1),
            WriteSize = 256 * 1024,
            PauseWriterThreshold = 256 * 1024,
            ResumeWriterThreshold = 128 * 1024,
            TestHooks = new SnapshotWriterTestHooks { BeforeDiskWrite = async (offset, _) => await Task.Delay(offset == 0 ? 2500 : 0) },
        };

        var info = await new SnapshotWriter(options).WriteAsync(destination, TestSources.Chunks(snapshots.Streamed, 32 * 1024));

        Assert.That(info.Length, Is.EqualTo(snapshots.Streamed.Length));
    }

    [Test]
    public void Options_that_would_deadlock_the_pipe_are_refused()
    {
        Assert.Throws<ArgumentException>(() => _ = new SnapshotWriter(new SnapshotWriterOptions { WriteSize = 1 << 20, PauseWriterThreshold = 512 * 1024, ResumeWriterThreshold = 1024 }));
        Assert.Throws<ArgumentException>(() => _ = new SnapshotWriter(new SnapshotWriterOptions { ResumeWriterThreshold = 16 << 20 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new SnapshotWriterOptions { InactivityTimeout = TimeSpan.Zero });
        Assert.DoesNotThrow(() => _ = new SnapshotWriterOptions { InactivityTimeout = Timeout.InfiniteTimeSpan });
    }

    [Test]
    public void The_lagging_hasher_leaves_out_exactly_the_last_32_bytes_whatever_the_split()
    {
        var data = new byte[5000];
        new Random(1).NextBytes(data);
        var random = new Random(2);
        for (var round = 0; round < 200; round++)
        {
            using var hasher = new SnapshotWriterHasher();
            var offset = 0;
            while (offset < data.Length)
            {
                var count = Math.Min(random.Next(0, round % 2 == 0 ? 40 : 700), data.Length - offset);
                hasher.Append(new ReadOnlySequence<byte>(data, offset, count));
                offset += count;
            }

            Assert.That(hasher.Tail.ToArray(), Is.EqualTo(data[^32..]));
            Assert.That(hasher.Finish(includeTail: false), Is.EqualTo(SHA256.HashData(data.AsSpan(0, data.Length - 32))));
        }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Interlocked.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
