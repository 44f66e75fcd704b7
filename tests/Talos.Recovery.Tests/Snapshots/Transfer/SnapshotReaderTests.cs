using Talos.Recovery.Bolt;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Tests.Snapshots.Transfer;

/// <summary>The upload side: a snapshot file as chunks.</summary>
public class SnapshotReaderTests
{
    [TestCase(1)]
    [TestCase(1000)]
    [TestCase(4096)]
    [TestCase(32 * 1024)]
    [TestCase(3 * 1024 * 1024)]
    public async Task Reads_the_file_as_full_chunks_of_the_chosen_size(int chunkSize)
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var received = new MemoryStream();
        var sizes = new List<int>();

        await foreach (var chunk in new SnapshotReader(new SnapshotReaderOptions { ChunkSize = chunkSize }).ReadChunksAsync(snapshots.StreamedPath))
        {
            received.Write(chunk.Span);
            sizes.Add(chunk.Length);
        }

        Assert.That(received.ToArray(), Is.EqualTo(snapshots.Streamed));
        Assert.That(sizes.Take(sizes.Count - 1), Is.All.EqualTo(chunkSize));
        Assert.That(sizes[^1], Is.InRange(1, chunkSize));
    }

    [Test]
    public async Task The_default_chunk_is_4096_bytes_like_talosctl()
    {
        var snapshots = await TransferSnapshots.GetAsync();

        var first = await new SnapshotReader().ReadChunksAsync(snapshots.StreamedPath).FirstAsync();

        Assert.That(first.Length, Is.EqualTo(4096));
        Assert.That(new SnapshotReaderOptions().ChunkSize, Is.EqualTo(4096));
    }

    [TestCase(1024)]
    [TestCase(4096)]
    [TestCase(32 * 1024)]
    public async Task Writer_of_reader_of_a_file_is_the_file(int chunkSize)
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var destination = Path.Combine(TransferSnapshots.NewDirectory(), "copy.snapshot");
        var reader = new SnapshotReader(new SnapshotReaderOptions { ChunkSize = chunkSize });

        var info = await new SnapshotWriter().WriteAsync(destination, reader.ReadChunksAsync(snapshots.StreamedPath));

        Assert.That(File.ReadAllBytes(destination), Is.EqualTo(snapshots.Streamed));
        Assert.That(info.Status, Is.EqualTo(snapshots.StreamedStatus));
    }

    [Test]
    public async Task A_corrupted_file_is_refused_before_the_first_chunk()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var path = Path.Combine(TransferSnapshots.NewDirectory(), "damaged.snapshot");
        await File.WriteAllBytesAsync(path, TestSources.Flip(snapshots.Streamed, snapshots.Streamed.Length / 3));
        var chunks = 0;

        var refused = Assert.CatchAsync<SnapshotIntegrityException>(async () =>
        {
            await foreach (var unused in new SnapshotReader().ReadChunksAsync(path))
            {
                chunks++;
            }
        })!;

        Assert.That(chunks, Is.Zero);
        Assert.That(refused.Problems.Select(p => p.Code), Does.Contain(BoltProblemCode.TrailerMismatch));
    }

    [Test]
    public async Task A_structurally_damaged_file_with_a_valid_trailer_is_refused()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var path = Path.Combine(TransferSnapshots.NewDirectory(), "damaged.snapshot");
        await File.WriteAllBytesAsync(path, TestSources.DamagedStructureWithValidTrailer(snapshots.Streamed));

        var refused = Assert.CatchAsync<SnapshotIntegrityException>(async () => await new SnapshotReader().ReadChunksAsync(path).FirstAsync())!;

        Assert.That(refused.Problems.Select(p => p.Code), Does.Contain(BoltProblemCode.PageIdMismatch));
    }

    [Test]
    public async Task A_raw_copy_is_sent_only_with_SkipHashCheck()
    {
        var snapshots = await TransferSnapshots.GetAsync();

        var refused = Assert.CatchAsync<SnapshotIntegrityException>(async () => await new SnapshotReader().ReadChunksAsync(snapshots.RawPath).FirstAsync())!;
        var received = new MemoryStream();
        await foreach (var chunk in new SnapshotReader(new SnapshotReaderOptions { SkipHashCheck = true }).ReadChunksAsync(snapshots.RawPath))
        {
            received.Write(chunk.Span);
        }

        Assert.That(refused.Problems.Select(p => p.Code), Does.Contain(BoltProblemCode.TrailerMissing));
        Assert.That(received.ToArray(), Is.EqualTo(snapshots.Raw));
    }

    [Test]
    public async Task Without_verification_the_bytes_are_sent_as_they_are()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var path = Path.Combine(TransferSnapshots.NewDirectory(), "damaged.snapshot");
        var damaged = TestSources.Flip(snapshots.Streamed, 12345);
        await File.WriteAllBytesAsync(path, damaged);
        var received = new MemoryStream();

        await foreach (var chunk in new SnapshotReader(new SnapshotReaderOptions { VerifyBeforeSending = false }).ReadChunksAsync(path))
        {
            received.Write(chunk.Span);
        }

        Assert.That(received.ToArray(), Is.EqualTo(damaged));
    }

    [Test]
    public void A_missing_file_is_a_format_error()
    {
        var path = Path.Combine(TransferSnapshots.NewDirectory(), "missing.snapshot");

        Assert.CatchAsync<SnapshotFormatException>(async () => await new SnapshotReader().ReadChunksAsync(path).FirstAsync());
        Assert.CatchAsync<SnapshotFormatException>(async () => await new SnapshotReader(new SnapshotReaderOptions { VerifyBeforeSending = false }).ReadChunksAsync(path).FirstAsync());
    }

    [Test]
    public async Task Progress_ends_with_the_file_length_and_is_not_reported_per_chunk()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var progress = new RecordingProgress();
        var chunks = 0;

        await foreach (var unused in new SnapshotReader(new SnapshotReaderOptions { ChunkSize = 512, ProgressInterval = TimeSpan.Zero }).ReadChunksAsync(snapshots.StreamedPath, progress))
        {
            chunks++;
        }

        var reports = progress.Reports;
        Assert.That(reports, Has.Count.LessThan(chunks / 100));
        Assert.That(reports.Select(r => r.BytesTransferred), Is.Ordered);
        Assert.That(reports[^1].BytesTransferred, Is.EqualTo(snapshots.Streamed.Length));
        Assert.That(reports[^1].TotalBytes, Is.EqualTo(snapshots.Streamed.Length));
    }

    [Test]
    public async Task Cancellation_stops_the_enumeration()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        using var cancellation = new CancellationTokenSource();
        var chunks = 0;

        Assert.CatchAsync<OperationCanceledException>(async () =>
        {
            await foreach (var unused in new SnapshotReader(new SnapshotReaderOptions { ChunkSize = 1024 * 1024 }).ReadChunksAsync(snapshots.StreamedPath, cancellationToken: cancellation.Token))
            {
                chunks++;
                cancellation.Cancel();
            }
        });

        Assert.That(chunks, Is.EqualTo(1));
    }
}

internal static class AsyncEnumerableTestExtensions
{
    public static async Task<T> FirstAsync<T>(this IAsyncEnumerable<T> source)
    {
        await foreach (var item in source)
        {
            return item;
        }

        throw new InvalidOperationException("empty sequence");
    }
}
