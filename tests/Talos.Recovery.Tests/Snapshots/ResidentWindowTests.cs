using Talos.Recovery.Bolt;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Tests.Bolt.Support;

namespace Talos.Recovery.Tests.Snapshots;

/// <summary>
/// The snapshot writer's final check drops the mapped pages from the resident set as it walks (so that its memory
/// does not grow with the snapshot): dropping them must change nothing in what the check reads or reports.
/// </summary>
[TestFixture]
public sealed class ResidentWindowTests
{
    private string _directory = null!;

    [OneTimeSetUp]
    public void CreateDirectory()
    {
        _directory = Path.Combine(Path.GetTempPath(), "talos-recovery-resident-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    [OneTimeTearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void Walk_that_drops_mapped_pages_after_every_page_reports_the_same_status_and_problems()
    {
        var f = BoltFixtures.Workhorse(trailer: true);
        var path = Path.Combine(_directory, "workhorse.snapshot");
        File.WriteAllBytes(path, f.Bytes);
        using var buffer = SnapshotBuffer.Map(path);
        Assert.That(buffer.CanReleaseResident, Is.EqualTo(OperatingSystem.IsLinux()), "a file mapping can drop its pages on Linux");

        var kept = Walk(buffer, f, releaseEvery: 0, out _);
        var dropped = Walk(buffer, f, releaseEvery: f.PageSize, out var releases);

        Assert.That(releases, Is.GreaterThan(10), "the walk asks for a release after each page it enters");
        Assert.That(dropped.Problems, Is.EqualTo(kept.Problems));
        Assert.That(dropped.Status, Is.EqualTo(kept.Status));
        Assert.That(kept.Status, Is.EqualTo((f.Status!.Hash, f.Status.Revision, f.Status.TotalKey)), "the builder's etcdctl status");
    }

    [Test]
    public void Writer_check_with_a_one_page_window_is_valid_with_the_etcdctl_status()
    {
        var f = BoltFixtures.Workhorse(trailer: true);
        var path = Path.Combine(_directory, "writer.snapshot");
        File.WriteAllBytes(path, f.Bytes);
        var digest = System.Security.Cryptography.SHA256.HashData(f.Bytes.AsSpan(0, f.Bytes.Length - SnapshotFile.TrailerLength));
        var window = SnapshotFile.WriterResidentWindow;
        SnapshotFile.WriterResidentWindow = f.PageSize;
        try
        {
            using var file = SnapshotFile.Open(path);
            var verification = file.VerifyWithKnownDigest(digest, new SnapshotVerifyOptions { CountLiveKeys = false }, CancellationToken.None);
            Assert.That(verification.IsValid, Is.True, () => CheckerAssert.Dump(verification));
            Assert.That(verification.Trailer, Is.EqualTo(SnapshotTrailerState.Verified));
            var status = verification.Status!;
            Assert.That((status.Hash, status.Revision, status.TotalKey, status.TotalSize), Is.EqualTo((f.Status!.Hash, f.Status.Revision, f.Status.TotalKey, f.Status.TotalSize)));
        }
        finally
        {
            SnapshotFile.WriterResidentWindow = window;
        }
    }

    private static unsafe (List<string> Problems, (uint Hash, long Revision, long TotalKey) Status) Walk(SnapshotBuffer buffer, BoltFile f, int releaseEvery, out int releases)
    {
        var sink = new BoltProblemSink(100);
        var database = new BoltMemory(buffer.Pointer, f.DatabaseLength);
        var layout = BoltLayout.Open(database, streamed: true, sink);
        var visitor = new EtcdStatusVisitor(sink, null, null);
        var checker = new BoltChecker(database, layout, sink);
        var count = 0;
        if (releaseEvery > 0)
        {
            checker.ReleaseEvery(releaseEvery, () =>
            {
                count++;
                buffer.ReleaseResident();
            });
        }

        checker.Run(ref visitor, CancellationToken.None);
        releases = count;
        return (sink.ToList().Select(p => p.ToString()).ToList(), (visitor.Hash, visitor.Revision, visitor.TotalKey));
    }
}
