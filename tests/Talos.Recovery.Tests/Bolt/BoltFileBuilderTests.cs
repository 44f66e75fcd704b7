using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Talos.Recovery.Tests.Bolt.Support;

namespace Talos.Recovery.Tests.Bolt;

/// <summary>
/// Self-tests of the test-support <see cref="BoltFileBuilder"/>: its files follow spec §1 byte for byte, read back
/// to the content they were built from, and are accepted by etcdctl 3.4.23 (bbolt 1.3.6) with the status the
/// builder predicts. These do not depend on the product's checker.
/// </summary>
[TestFixture]
public sealed class BoltFileBuilderTests
{
    private const string Etcdctl = "/usr/bin/etcdctl";

    public static IEnumerable<string> Shapes() => Factories().Select(f => f.Name);

    internal static BoltFile BuildShape(string name) => Factories().Single(f => f.Name == name).Build();

    private static IEnumerable<(string Name, Func<BoltFile> Build)> Factories()
    {
        yield return ("empty", () => new BoltFileBuilder().Build());
        yield return ("etcd-small", () => BoltFixtures.EtcdSmall());
        yield return ("etcd-small-synced", () => BoltFixtures.EtcdSmall(freelist: FreelistMode.Synced));
        yield return ("etcd-small-512", () => BoltFixtures.EtcdSmall(pageSize: 512));
        yield return ("etcd-small-16k-trailer", () => BoltFixtures.EtcdSmall(trailer: true, pageSize: 16384));
        yield return ("workhorse", () => BoltFixtures.Workhorse());
        yield return ("workhorse-synced-trailer", () => BoltFixtures.Workhorse(FreelistMode.Synced, trailer: true));
        yield return ("workhorse-512-tail", () => BoltFixtures.Workhorse(pageSize: 512, tail: 3000));
        yield return ("inline-heavy-synced", () => BoltFixtures.InlineHeavy(FreelistMode.Synced, trailer: false));
        yield return ("overflow-heavy", () => BoltFixtures.OverflowHeavy(FreelistMode.None, trailer: true));
        yield return ("overflow-heavy-synced-512", () =>
        {
            var b = new BoltFileBuilder(512) { Freelist = FreelistMode.Synced, FreePageCount = 200 };
            b.AddEtcdBuckets(new EtcdShape { Revisions = 30, BigValueEvery = 3, BigValueSize = 5000 });
            return b.Build();
        });
        yield return ("branch-overflow", () =>
        {
            // Long keys: a root branch whose keys spill into an overflow page.
            var b = new BoltFileBuilder(512) { MaxKeysPerPage = 2, Freelist = FreelistMode.Synced, FreePageCount = 2 };
            var bucket = b.Bucket("long");
            for (var i = 0; i < 40; i++)
            {
                bucket.Put(i.ToString("D3", CultureInfo.InvariantCulture) + new string('k', 300), "v");
            }

            b.AddEtcdBuckets(new EtcdShape { Revisions = 3 });
            return b.Build();
        });
    }

    [TestCaseSource(nameof(Shapes))]
    public void Built_file_reads_back_to_its_description(string name)
    {
        var (file, spec) = BuildWithSpec(() => BuildShape(name));
        var read = BoltTestReader.ReadAll(file.Bytes);
        var expected = BoltFixtures.Flatten(spec);
        Assert.That(Group(read), Is.EqualTo(Group(expected)), name);
    }

    [TestCaseSource(nameof(Shapes))]
    public void Page_map_matches_the_page_headers(string name)
    {
        var f = BuildShape(name);
        Assert.That(f.Pages, Has.Count.EqualTo((int)f.Pgid), name);
        Assert.That(f.Bytes.LongLength, Is.EqualTo(f.DatabaseLength + f.TailLength + (f.HasTrailer ? 32 : 0)));
        foreach (var page in f.Pages)
        {
            var at = f.PageOffset(page.Id);
            switch (page.Kind)
            {
                case BoltPageKind.Meta:
                case BoltPageKind.Branch:
                case BoltPageKind.Leaf:
                case BoltPageKind.Freelist:
                    Assert.That(BoltBytes.ReadU64(f.Bytes, at), Is.EqualTo(page.Id), $"page {page.Id} id");
                    var flags = BoltBytes.ReadU16(f.Bytes, at + 8);
                    var expectedFlags = page.Kind switch
                    {
                        BoltPageKind.Meta => BoltBytes.MetaFlag,
                        BoltPageKind.Branch => BoltBytes.BranchFlag,
                        BoltPageKind.Leaf => BoltBytes.LeafFlag,
                        _ => BoltBytes.FreelistFlag,
                    };
                    Assert.That(flags, Is.EqualTo(expectedFlags), $"page {page.Id} flags");
                    Assert.That(BoltBytes.ReadU32(f.Bytes, at + 12), Is.EqualTo((uint)page.Overflow), $"page {page.Id} overflow");
                    break;
                case BoltPageKind.Continuation:
                    Assert.That(page.FirstPageId, Is.LessThan(page.Id));
                    break;
            }
        }

        Assert.That(f.PagesOf(BoltPageKind.Free).Select(p => p.Id), Is.EquivalentTo(f.FreePageIds));
    }

    [Test]
    public void Metas_are_written_as_tx_WriteTo_writes_them()
    {
        var f = BoltFixtures.Workhorse(FreelistMode.Synced);
        var m0 = BoltBytes.ReadMeta(f.Bytes, 0);
        var m1 = BoltBytes.ReadMeta(f.Bytes, f.PageSize);
        Assert.Multiple(() =>
        {
            Assert.That(BoltBytes.ReadU64(f.Bytes, 0), Is.Zero, "meta0 id");
            Assert.That(BoltBytes.ReadU64(f.Bytes, f.PageSize), Is.EqualTo(1), "meta1 id");
            Assert.That(BoltBytes.ReadU16(f.Bytes, 8), Is.EqualTo(0x04), "meta0 flags");
            Assert.That(BoltBytes.ReadU16(f.Bytes, f.PageSize + 8), Is.EqualTo(0x04), "meta1 flags");
            Assert.That(m0.Magic, Is.EqualTo(0xED0CDAED));
            Assert.That(m0.Version, Is.EqualTo(2));
            Assert.That(m0.PageSize, Is.EqualTo(4096));
            Assert.That(m0.TxId, Is.EqualTo(9));
            Assert.That(m1.TxId, Is.EqualTo(8));
            Assert.That(m1 with { TxId = 0, Checksum = 0 }, Is.EqualTo(m0 with { TxId = 0, Checksum = 0 }));
            Assert.That(m0.Root, Is.EqualTo(f.RootPageId));
            Assert.That(m0.Freelist, Is.EqualTo(f.FreelistPageId));
            Assert.That(m0.Pgid, Is.EqualTo(f.Pgid));
            Assert.That(m0.Checksum, Is.EqualTo(BoltBytes.Fnv1a64(f.Bytes.AsSpan(16, 56))));
            Assert.That(m1.Checksum, Is.EqualTo(BoltBytes.Fnv1a64(f.Bytes.AsSpan(f.PageSize + 16, 56))));
            Assert.That(f.Bytes.AsSpan(80, f.PageSize - 80).ContainsAnyExcept((byte)0), Is.False, "meta0 zero fill");
            Assert.That(BoltFixtures.EtcdSmall().Bytes.AsSpan(48, 8).ToArray(), Is.All.EqualTo(0xFF), "no-freelist marker");
        });
    }

    [Test]
    public void Fnv1a_and_crc32c_match_their_reference_values()
    {
        Assert.Multiple(() =>
        {
            Assert.That(BoltBytes.Fnv1a64([]), Is.EqualTo(0xcbf29ce484222325UL));
            Assert.That(BoltBytes.Fnv1a64("a"u8), Is.EqualTo(0xaf63dc4c8601ec8cUL));
            Assert.That(~BoltBytes.Crc32CUpdate(0xFFFFFFFF, "123456789"u8), Is.EqualTo(0xE3069283u));
        });
    }

    [Test]
    public void Inline_rule_is_16_plus_sum_of_16_k_v_at_most_a_quarter_page()
    {
        // One entry: 16 + (16 + 1 + v) ≤ 1024 ⇔ v ≤ 991.
        BoltFile Build(int v)
        {
            var b = new BoltFileBuilder();
            b.Bucket("b").Put("k", new string('x', v));
            return b.Build();
        }

        var fits = Build(991);
        var spills = Build(992);
        Assert.Multiple(() =>
        {
            Assert.That(fits.Bucket("b").IsInline, Is.True);
            Assert.That(fits.Bucket("b").InlineValueLength, Is.EqualTo(16 + 16 + 16 + 1 + 991));
            Assert.That(spills.Bucket("b").IsInline, Is.False);
            Assert.That(BoltFixtures.Workhorse().Bucket("test/outer").IsInline, Is.False, "forced page bucket");
            Assert.That(BoltFixtures.Workhorse().Bucket("test").IsInline, Is.False, "a bucket with sub-buckets is never inline");
        });
    }

    [Test]
    public void Empty_inline_bucket_is_a_32_byte_value()
    {
        var f = BoltFixtures.EtcdSmall();
        var alarm = f.Bucket("alarm");
        Assert.Multiple(() =>
        {
            Assert.That(alarm.IsInline, Is.True);
            Assert.That(alarm.InlineValueLength, Is.EqualTo(32));
            Assert.That(f.Bytes.AsSpan((int)alarm.InlineValueOffset, 32).ToArray(), Is.EqualTo(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0 }));
        });
    }

    [Test]
    public void Workhorse_has_the_shapes_the_corruption_tests_target()
    {
        var f = BoltFixtures.Workhorse(FreelistMode.Synced);
        var key = f.Bucket("key");
        Assert.Multiple(() =>
        {
            Assert.That(key.Levels, Is.EqualTo(3), "key bucket: root branch, branches, leaves");
            Assert.That(f.Leaves("key"), Has.Count.GreaterThan(30));
            Assert.That(f.Page(key.RootPageId).Kind, Is.EqualTo(BoltPageKind.Branch));
            Assert.That(f.Page(key.RootPageId).Count, Is.GreaterThanOrEqualTo(3));
            Assert.That(f.Bucket("test/outer/deep").IsInline, Is.False);
            Assert.That(f.Bucket("test/inl").IsInline, Is.True);
            Assert.That(f.Bucket("cluster").IsInline, Is.True);
            Assert.That(f.FreePageIds, Has.Count.EqualTo(6));
            Assert.That(f.RootPageId, Is.Not.EqualTo(f.Pgid - 1), "root page is not the last page");
            Assert.That(f.FreelistPageId, Is.EqualTo(f.Pgid - 1), "freelist page is last");
        });

        // Element decoding agrees with the builder's placement (pos relative to the element).
        var leaf = f.Leaves("key")[2];
        var e0 = f.Element(leaf, 0);
        var e1 = f.Element(leaf, 1);
        Assert.Multiple(() =>
        {
            Assert.That(e0.ElementOffset, Is.EqualTo(f.PageOffset(leaf) + 16));
            Assert.That(e0.KeyOffset, Is.EqualTo(f.PageOffset(leaf) + 16 + (16 * f.Page(leaf).Count)), "data starts after the element array");
            Assert.That(e1.KeyOffset, Is.EqualTo(e0.ValueOffset + e0.ValueLength), "packed with no gaps");
            Assert.That(e0.KeyLength, Is.AnyOf(17, 18));
        });
    }

    [Test]
    public void Big_values_spill_into_overflow_pages()
    {
        var b = new BoltFileBuilder();
        b.Bucket("big").Put("v", new byte[200_000]);
        var f = b.Build();
        var leaf = f.Bucket("big").RootPageId;
        Assert.That(f.Page(leaf).Overflow, Is.EqualTo(48), "16 + 16 + 1 + 200000 bytes = 49 pages of 4096 (spec §1.9 example: overflow 48)");
    }

    [Test]
    public void Freelist_with_0xFFFF_or_more_ids_stores_the_count_in_the_first_slot()
    {
        foreach (var (free, header, inline) in new[] { (0xFFFE, 0xFFFE, -1L), (0xFFFF, 0xFFFF, 0xFFFFL), (0x10005, 0xFFFF, 0x10005L) })
        {
            var f = LargeFreelist(free);
            var at = f.PageOffset(f.FreelistPageId!.Value);
            Assert.That(BoltBytes.ReadU16(f.Bytes, at + 10), Is.EqualTo(header), $"{free} ids: header count");
            if (inline >= 0)
            {
                Assert.That(BoltBytes.ReadU64(f.Bytes, at + 16), Is.EqualTo((ulong)inline), $"{free} ids: count slot");
                Assert.That(BoltBytes.ReadU64(f.Bytes, at + 24), Is.EqualTo(f.FreePageIds.Min()), "first id after the count");
            }
            else
            {
                Assert.That(BoltBytes.ReadU64(f.Bytes, at + 16), Is.EqualTo(f.FreePageIds.Min()));
            }
        }
    }

    internal static BoltFile LargeFreelist(int free)
    {
        var b = new BoltFileBuilder(512) { Freelist = FreelistMode.Synced, FreePageCount = free, FreePagesAtEnd = true, FreePageContent = FreePageContent.Zero };
        b.AddEtcdBuckets(new EtcdShape { Revisions = 20 });
        return b.Build();
    }

    [Test]
    public void Empty_database_status_is_zero_everything_but_size()
    {
        var f = new BoltFileBuilder().Build();
        Assert.That(f.Status, Is.EqualTo(new ExpectedStatus(0, 0, 0, 3 * 4096, 0, string.Empty)));
        Assert.That(f.Pgid, Is.EqualTo(3), "metas + root leaf");
    }

    /// <summary>
    /// etcdctl 3.4.23 (bbolt 1.3.6) is an independent oracle: for no-freelist files it walks the whole tree while
    /// rebuilding the freelist (and crashes on anything odd); for synced files it runs tx.Check (double free,
    /// reachability, leaks). Both then hash every top-level bucket.
    /// </summary>
    [TestCaseSource(nameof(Shapes))]
    public void Etcdctl_accepts_built_files_and_prints_the_predicted_status(string name)
    {
        var f = BuildShape(name);
        var json = RunEtcdctlStatus(f.Bytes, out var stderr, out var exit);
        Assert.That(exit, Is.Zero, () => $"{name}: etcdctl failed: {stderr}");
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var expected = f.Status!;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("hash").GetUInt32(), Is.EqualTo(expected.Hash), "hash");
            Assert.That(root.GetProperty("revision").GetInt64(), Is.EqualTo(expected.Revision), "revision");
            Assert.That(root.GetProperty("totalKey").GetInt64(), Is.EqualTo(expected.TotalKey), "totalKey");
            Assert.That(root.GetProperty("totalSize").GetInt64(), Is.EqualTo(expected.TotalSize), "totalSize");
        });
    }

    [Test]
    public void Etcdctl_finds_the_leak_the_builder_plants_in_a_synced_file()
    {
        // Guards the oracle itself: etcdctl must notice a freelist id removed from a synced file.
        var f = BoltFixtures.EtcdSmall(freelist: FreelistMode.Synced);
        var bytes = f.Clone();
        var at = f.PageOffset(f.FreelistPageId!.Value);
        BoltBytes.U16(bytes, at + 10, (ushort)(f.FreePageIds.Count - 1));
        RunEtcdctlStatus(bytes, out var stderr, out var exit);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain($"page {f.FreePageIds.Max()}: unreachable unfreed"));
    }

    /// <summary>Exit code reported by <see cref="RunEtcdctlStatus"/> when etcdctl had to be killed.</summary>
    internal const int EtcdctlHung = -1;

    /// <summary>Runs <c>etcdctl snapshot status -w json</c> on the bytes; a hang is killed and reported as <see cref="EtcdctlHung"/>.</summary>
    internal static string RunEtcdctlStatus(byte[] bytes, out string stderr, out int exitCode, int timeoutMilliseconds = 30_000)
    {
        if (!File.Exists(Etcdctl))
        {
            Assert.Ignore("etcdctl 3.4.23 is not installed at " + Etcdctl);
        }

        var path = Path.Combine(Path.GetTempPath(), $"bolt-builder-{Guid.NewGuid():N}.db");
        try
        {
            File.WriteAllBytes(path, bytes);
            var psi = new ProcessStartInfo(Etcdctl)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add("snapshot");
            psi.ArgumentList.Add("status");
            psi.ArgumentList.Add("-w");
            psi.ArgumentList.Add("json");
            psi.ArgumentList.Add(path);
            psi.Environment["ETCDCTL_API"] = "3";
            using var process = Process.Start(psi)!;
            var stdoutTask = process.StandardOutput.ReadToEndAsync();
            var stderrTask = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeoutMilliseconds))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                stderr = "etcdctl hung (killed after " + timeoutMilliseconds + " ms)";
                exitCode = EtcdctlHung;
                return string.Empty;
            }

            stderr = stderrTask.GetAwaiter().GetResult();
            exitCode = process.ExitCode;
            return stdoutTask.GetAwaiter().GetResult();
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static (BoltFile File, BoltBucketSpec Root) BuildWithSpec(Func<BoltFile> build)
    {
        // Rebuild through a builder we can see: the factories are deterministic, so build once for the file and
        // recover the spec by reading the description back from a second, captured builder.
        BoltBucketSpec? captured = null;
        BuilderCapture.OnBuild = b => captured = b.Root;
        try
        {
            var file = build();
            return (file, captured ?? throw new InvalidOperationException("no builder captured"));
        }
        finally
        {
            BuilderCapture.OnBuild = null;
        }
    }

    private static Dictionary<string, List<string>> Group(IEnumerable<ReadEntry> entries)
        => entries.GroupBy(e => e.BucketPath).ToDictionary(
            g => g.Key,
            g => g.Select(e => Convert.ToHexString(e.Key) + "=" + (e.Value is null ? "<bucket>" : Convert.ToHexString(e.Value))).ToList());
}
