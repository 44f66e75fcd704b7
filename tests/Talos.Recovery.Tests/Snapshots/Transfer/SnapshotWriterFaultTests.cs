using System.Text;
using Talos.Recovery.Bolt;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Tests.Snapshots.Transfer;

/// <summary>
/// Every way a transfer can fail: the exception says why and how many bytes had arrived, no <c>.part</c> file is
/// left, and the destination (here always an existing file, with overwrite allowed where that matters) is untouched.
/// </summary>
public class SnapshotWriterFaultTests
{
    private const string Yesterday = "yesterday's snapshot";

    private string _directory = null!;
    private string _destination = null!;

    [SetUp]
    public void CreateDestination()
    {
        _directory = TransferSnapshots.NewDirectory();
        _destination = Path.Combine(_directory, "etcd.snapshot");
        File.WriteAllText(_destination, Yesterday);
    }

    [Test]
    public async Task Cancellation_mid_stream_surfaces_as_OperationCanceledException_carrying_the_bytes_received()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        using var cancellation = new CancellationTokenSource();
        var source = TestSources.Chunks(snapshots.Streamed, 1024, produced =>
        {
            if (produced == 300 * 1024)
            {
                cancellation.Cancel();
            }
        });

        var thrown = Assert.CatchAsync<OperationCanceledException>(() => Writer().WriteAsync(_destination, source, cancellationToken: cancellation.Token));

        Assert.That(thrown!.CancellationToken, Is.EqualTo(cancellation.Token));
        var failure = thrown.InnerException as SnapshotTransferException;
        Assert.That(failure, Is.Not.Null);
        Assert.That(failure!.Reason, Is.EqualTo(SnapshotTransferFailure.Cancelled));
        Assert.That(failure.BytesReceived, Is.InRange(300 * 1024, 301 * 1024));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_failing_source_is_reported_with_its_exception()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var reset = new IOException("connection reset by peer");

        var failure = await FailAsync(TestSources.ThenThrow(snapshots.Streamed, 200 * 1024, reset));

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.SourceFailed));
        Assert.That(failure.InnerException, Is.SameAs(reset));
        Assert.That(failure.BytesReceived, Is.EqualTo(200 * 1024));
        AssertNothingLeft();
    }

    [TestCase(0)]
    [TestCase(40)]
    [TestCase(5000)]
    [TestCase(700_000)]
    public async Task A_stream_that_ends_early_is_truncated(int length)
    {
        var snapshots = await TransferSnapshots.GetAsync();

        var failure = await FailAsync(TestSources.Chunks(snapshots.Streamed[..length], 1024));

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.Truncated));
        Assert.That(failure.BytesReceived, Is.EqualTo(length));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_stream_cut_inside_the_trailer_is_truncated()
    {
        var snapshots = await TransferSnapshots.GetAsync();

        var failure = await FailAsync(TestSources.Chunks(snapshots.Streamed[..^10], 32 * 1024));

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.Truncated));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_stream_without_trailer_fails_with_MissingTrailer()
    {
        var snapshots = await TransferSnapshots.GetAsync();

        var failure = await FailAsync(TestSources.Chunks(snapshots.Streamed[..^32], 32 * 1024));

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.MissingTrailer));
        Assert.That(failure.BytesReceived, Is.EqualTo(snapshots.Streamed.Length - 32));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_raw_copy_sent_without_SkipHashCheck_fails_early_with_a_hint()
    {
        var snapshots = await TransferSnapshots.GetAsync();

        var failure = await FailAsync(TestSources.Chunks(snapshots.Raw, 32 * 1024));

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.InvalidSnapshot));
        Assert.That(failure.Problems.Single().Code, Is.EqualTo(BoltProblemCode.MetaDisagreement));
        Assert.That(failure.Message, Does.Contain(nameof(SnapshotWriterOptions.SkipHashCheck)));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_flipped_byte_in_the_database_part_fails_the_trailer_check()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var damaged = TestSources.Flip(snapshots.Streamed, snapshots.Streamed.Length / 2);

        var failure = await FailAsync(TestSources.Chunks(damaged, 32 * 1024));

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.TrailerMismatch));
        Assert.That(failure.BytesReceived, Is.EqualTo(snapshots.Streamed.Length));
        Assert.That(failure.Problems.Select(p => p.Code), Does.Contain(BoltProblemCode.TrailerMismatch));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_flipped_byte_in_the_trailer_fails_the_trailer_check()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var damaged = TestSources.Flip(snapshots.Streamed, snapshots.Streamed.Length - 5);

        var failure = await FailAsync(TestSources.Chunks(damaged, 1024));

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.TrailerMismatch));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_damaged_structure_behind_a_valid_trailer_fails_the_full_check_with_its_problems()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var damaged = TestSources.DamagedStructureWithValidTrailer(snapshots.Streamed);

        var failure = await FailAsync(TestSources.Chunks(damaged, 32 * 1024));

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.InvalidSnapshot));
        Assert.That(failure.Verification, Is.Not.Null);
        Assert.That(failure.Verification!.IsValid, Is.False);
        Assert.That(failure.Problems.Select(p => p.Code), Does.Contain(BoltProblemCode.PageIdMismatch));
        AssertNothingLeft();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task An_endless_HTML_error_page_fails_at_once_as_not_a_snapshot()
    {
        var html = Encoding.ASCII.GetBytes("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>upstream error</body></html>\n");

        var failure = await FailAsync(TestSources.Forever(html));

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.InvalidSnapshot));
        Assert.That(failure.Problems.Select(p => p.Code), Is.EqualTo(new[] { BoltProblemCode.MetaInvalidMagic }));
        Assert.That(failure.Message, Does.Contain("<!DOCTYPE html>"));
        Assert.That(failure.BytesReceived, Is.LessThan(64L << 20), "failed within the first disk writes, not at the end of an endless stream");
        AssertNothingLeft();
    }

    [Test]
    public async Task A_short_text_reply_is_not_a_snapshot_even_as_a_raw_copy()
    {
        var failure = await FailAsync(TestSources.Chunks(Encoding.ASCII.GetBytes("Unauthorized\n"), 1024), new SnapshotWriterOptions { Overwrite = true, SkipHashCheck = true });

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.InvalidSnapshot));
        Assert.That(failure.Message, Does.Contain("Unauthorized"));
        AssertNothingLeft();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_damaged_second_meta_page_fails_as_soon_as_it_arrives()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var head = snapshots.Streamed[..8192];
        head[4096 + 72] ^= 0xFF;

        var failure = await FailAsync(TestSources.HeadThenZeros(head));

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.InvalidSnapshot));
        Assert.That(failure.Problems.Single().Code, Is.EqualTo(BoltProblemCode.MetaChecksumMismatch));
        Assert.That(failure.Problems.Single().PageId, Is.EqualTo(1));
        AssertNothingLeft();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_stream_longer_than_its_meta_pages_allow_fails_early()
    {
        var snapshots = await TransferSnapshots.GetAsync();

        var failure = await FailAsync(TestSources.HeadThenZeros(snapshots.Streamed));

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.InvalidSnapshot));
        Assert.That(failure.Message, Does.Contain("longer"));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_stream_shorter_or_longer_than_the_expected_length_fails()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var length = snapshots.Streamed.Length;

        var shorter = await FailAsync(TestSources.Chunks(snapshots.Streamed, 32 * 1024), new SnapshotWriterOptions { Overwrite = true, ExpectedLength = length + 512 });
        var longer = await FailAsync(TestSources.Chunks(snapshots.Streamed, 32 * 1024), new SnapshotWriterOptions { Overwrite = true, ExpectedLength = length - 4096 });

        Assert.That(shorter.Reason, Is.EqualTo(SnapshotTransferFailure.Truncated));
        Assert.That(longer.Reason, Is.EqualTo(SnapshotTransferFailure.InvalidSnapshot));
        Assert.That(longer.Message, Does.Contain("expected"));
        AssertNothingLeft();
    }

    [TestCase(true)]
    [TestCase(false)]
    [CancelAfter(30_000)]
    public async Task A_source_that_stalls_fails_after_the_inactivity_timeout(bool sourceObservesCancellation)
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var options = new SnapshotWriterOptions { Overwrite = true, InactivityTimeout = TimeSpan.FromSeconds(1) };

        var failure = await FailAsync(TestSources.ThenStall(snapshots.Streamed, 100 * 1024, sourceObservesCancellation), options);

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.Stalled));
        Assert.That(failure.BytesReceived, Is.EqualTo(100 * 1024));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_full_disk_fails_with_DiskFull_and_leaves_nothing()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        using var tmpfs = SmallTmpfs.Mount(512 * 1024);
        var destination = Path.Combine(tmpfs.Path, "etcd.snapshot");

        var failure = Assert.CatchAsync<SnapshotTransferException>(() => new SnapshotWriter().WriteAsync(destination, TestSources.Chunks(snapshots.Streamed, 32 * 1024)))!;

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.DiskFull));
        Assert.That(failure.BytesReceived, Is.GreaterThan(0));
        Assert.That(failure.InnerException, Is.InstanceOf<IOException>());
        Assert.That(Directory.GetFileSystemEntries(tmpfs.Path), Is.Empty);
    }

    [Test]
    public async Task A_full_disk_fails_before_reading_the_source_when_the_length_is_known()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        using var tmpfs = SmallTmpfs.Mount(512 * 1024);
        var destination = Path.Combine(tmpfs.Path, "etcd.snapshot");
        var enumerated = false;

        var failure = Assert.CatchAsync<SnapshotTransferException>(() => new SnapshotWriter(new SnapshotWriterOptions { ExpectedLength = snapshots.Streamed.Length })
            .WriteAsync(destination, TestSources.Chunks(snapshots.Streamed, 32 * 1024, _ => enumerated = true)))!;

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.DiskFull));
        Assert.That(failure.BytesReceived, Is.Zero);
        Assert.That(enumerated, Is.False);
        Assert.That(Directory.GetFileSystemEntries(tmpfs.Path), Is.Empty);
    }

    [Test]
    public async Task An_existing_destination_without_overwrite_fails_before_the_source_is_read()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var enumerated = false;

        var failure = Assert.CatchAsync<SnapshotTransferException>(() => new SnapshotWriter().WriteAsync(_destination, TestSources.Chunks(snapshots.Streamed, 1024, _ => enumerated = true)))!;

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.DestinationExists));
        Assert.That(failure.BytesReceived, Is.Zero);
        Assert.That(enumerated, Is.False);
        AssertNothingLeft();
    }

    [Test]
    public async Task A_destination_that_appears_during_the_transfer_is_not_replaced_without_overwrite()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        File.Delete(_destination);
        var options = new SnapshotWriterOptions { TestHooks = new SnapshotWriterTestHooks { BeforeRename = () => File.WriteAllText(_destination, Yesterday) } };

        var failure = Assert.CatchAsync<SnapshotTransferException>(() => new SnapshotWriter(options).WriteAsync(_destination, TestSources.Chunks(snapshots.Streamed, 32 * 1024)))!;

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.DestinationExists));
        Assert.That(failure.BytesReceived, Is.EqualTo(snapshots.Streamed.Length));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_second_transfer_to_the_same_destination_is_refused_while_the_first_runs()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var writer = Writer();
        await using var first = await writer.CreateAsync(_destination);

        var second = Assert.CatchAsync<SnapshotTransferException>(() => writer.WriteAsync(_destination, TestSources.Chunks(snapshots.Streamed, 1024)))!;

        Assert.That(second.Reason, Is.EqualTo(SnapshotTransferFailure.DestinationBusy));
        await first.Writer.WriteAsync(snapshots.Streamed);
        var info = await first.CompleteAsync();
        Assert.That(info.Status, Is.EqualTo(snapshots.StreamedStatus));
        Assert.That(File.ReadAllBytes(_destination), Is.EqualTo(snapshots.Streamed));
    }

    [Test]
    public async Task Invalid_content_is_kept_beside_the_destination_when_asked()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var damaged = TestSources.Flip(snapshots.Streamed, 100_000);

        var failure = await FailAsync(TestSources.Chunks(damaged, 32 * 1024), new SnapshotWriterOptions { Overwrite = true, KeepInvalid = true });

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.TrailerMismatch));
        Assert.That(failure.InvalidSnapshotPath, Is.EqualTo(_destination + ".invalid"));
        Assert.That(File.ReadAllBytes(_destination + ".invalid"), Is.EqualTo(damaged));
        AssertNothingLeft(exceptInvalid: true);
    }

    [Test]
    public async Task Invalid_content_is_kept_at_the_path_the_caller_gives()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var keepAs = Path.Combine(_directory, "forensics", "bad.db");
        Directory.CreateDirectory(Path.GetDirectoryName(keepAs)!);

        var failure = await FailAsync(TestSources.Chunks(snapshots.Streamed[..^32], 32 * 1024), new SnapshotWriterOptions { Overwrite = true, KeepInvalidAs = keepAs });

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.MissingTrailer));
        Assert.That(failure.InvalidSnapshotPath, Is.EqualTo(keepAs));
        Assert.That(File.ReadAllBytes(keepAs), Is.EqualTo(snapshots.Streamed[..^32]));
        AssertNothingLeft();
    }

    [Test]
    public async Task Only_content_failures_are_kept_for_forensics()
    {
        var snapshots = await TransferSnapshots.GetAsync();

        var failure = await FailAsync(TestSources.ThenThrow(snapshots.Streamed, 64 * 1024, new IOException("reset")), new SnapshotWriterOptions { Overwrite = true, KeepInvalid = true });

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.SourceFailed));
        Assert.That(failure.InvalidSnapshotPath, Is.Null);
        AssertNothingLeft();
    }

    [Test]
    public void Invalid_content_is_never_kept_under_the_destination_name()
    {
        var writer = new SnapshotWriter(new SnapshotWriterOptions { KeepInvalidAs = _destination });

        Assert.ThrowsAsync<ArgumentException>(() => writer.WriteAsync(_destination, TestSources.Chunks([1, 2, 3], 1)));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_session_disposed_before_completion_leaves_nothing()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var session = await Writer().CreateAsync(_destination);
        await session.Writer.WriteAsync(snapshots.Streamed.AsMemory(0, 100_000));

        await session.DisposeAsync();

        AssertNothingLeft();
    }

    [Test]
    public async Task A_session_whose_source_fails_reports_SourceFailed()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        await using var session = await Writer().CreateAsync(_destination);
        await session.Writer.WriteAsync(snapshots.Streamed.AsMemory(0, 100_000));
        var error = new InvalidDataException("bad frame");

        await session.Writer.CompleteAsync(error);
        var failure = Assert.CatchAsync<SnapshotTransferException>(() => session.CompleteAsync())!;

        Assert.That(failure.Reason, Is.EqualTo(SnapshotTransferFailure.SourceFailed));
        Assert.That(failure.InnerException, Is.SameAs(error));
        Assert.That(failure.BytesReceived, Is.EqualTo(100_000));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_session_fed_garbage_fails_the_callers_flush_and_cancels_Aborted()
    {
        await using var session = await Writer().CreateAsync(_destination);
        var garbage = Encoding.ASCII.GetBytes(new string('x', 4096));

        var flushFailure = Assert.CatchAsync<SnapshotTransferException>(async () =>
        {
            for (var i = 0; i < 100_000; i++)
            {
                await session.Writer.WriteAsync(garbage);
            }
        })!;

        Assert.That(flushFailure.Reason, Is.EqualTo(SnapshotTransferFailure.InvalidSnapshot));
        Assert.That(session.Aborted.IsCancellationRequested, Is.True);
        var completion = Assert.CatchAsync<SnapshotTransferException>(() => session.CompleteAsync())!;
        Assert.That(completion.Reason, Is.EqualTo(SnapshotTransferFailure.InvalidSnapshot));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_session_whose_source_is_cancelled_surfaces_as_OperationCanceledException()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        await using var session = await Writer().CreateAsync(_destination);
        await session.Writer.WriteAsync(snapshots.Streamed.AsMemory(0, 50_000));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await session.Writer.CompleteAsync(new OperationCanceledException(cancelled.Token));
        var thrown = Assert.CatchAsync<OperationCanceledException>(() => session.CompleteAsync())!;

        Assert.That(thrown.CancellationToken, Is.EqualTo(cancelled.Token));
        Assert.That(thrown.InnerException, Is.InstanceOf<SnapshotTransferException>().With.Property(nameof(SnapshotTransferException.Reason)).EqualTo(SnapshotTransferFailure.Cancelled));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_throwing_progress_callback_fails_the_transfer_with_its_own_exception_and_leaves_nothing()
    {
        var snapshots = await TransferSnapshots.GetAsync();
        var bug = new InvalidOperationException("progress bug");
        var progress = new ThrowingProgress(bug);

        var thrown = Assert.CatchAsync<InvalidOperationException>(() => Writer().WriteAsync(_destination, TestSources.Chunks(snapshots.Streamed, 32 * 1024), progress))!;

        Assert.That(thrown, Is.SameAs(bug));
        AssertNothingLeft();
    }

    private static SnapshotWriter Writer() => new(new SnapshotWriterOptions { Overwrite = true });

    private async Task<SnapshotTransferException> FailAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> source, SnapshotWriterOptions? options = null)
    {
        var writer = new SnapshotWriter(options ?? new SnapshotWriterOptions { Overwrite = true });
        try
        {
            await writer.WriteAsync(_destination, source);
        }
        catch (SnapshotTransferException ex)
        {
            return ex;
        }

        Assert.Fail("the transfer succeeded");
        throw new InvalidOperationException();
    }

    private void AssertNothingLeft(bool exceptInvalid = false)
    {
        Assert.That(File.Exists(_destination + ".part"), Is.False, ".part removed");
        if (!exceptInvalid)
        {
            Assert.That(File.Exists(_destination + ".invalid"), Is.False, "nothing kept unless asked");
        }

        Assert.That(File.ReadAllText(_destination), Is.EqualTo(Yesterday), "destination untouched");
    }

    private sealed class ThrowingProgress(Exception error) : IProgress<SnapshotProgress>
    {
        public void Report(SnapshotProgress value) => throw error;
    }
}
