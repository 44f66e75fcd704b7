using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Talos.Recovery.Testing.Etcd;

namespace Talos.Recovery.Tests.Integration.Snapshots;

/// <summary>How a fixture file was made.</summary>
public enum SnapshotFileKind
{
    /// <summary><c>etcdctl snapshot save</c> from a member: database plus SHA-256 trailer.</summary>
    Saved,

    /// <summary>Raw copy of <c>member/snap/db</c> taken while the member ran (no writes in flight; the snapshot save just before forced a commit).</summary>
    RawLive,

    /// <summary>Raw copy of <c>member/snap/db</c> taken after the member was stopped gracefully (SIGTERM).</summary>
    RawStopped,
}

/// <summary>One snapshot file of a fixture, with what etcdctl says about it.</summary>
/// <param name="Fixture">The fixture it belongs to.</param>
/// <param name="Name">The file name inside the fixture, e.g. <c>saved-m0.db</c>.</param>
/// <param name="Kind">How it was made.</param>
/// <param name="Member">The member it came from.</param>
/// <param name="Path">Full path.</param>
/// <param name="Etcdctl">The output of <c>etcdctl snapshot status -w json</c> on the file, taken when the fixture was built.</param>
public sealed record SnapshotFixtureFile(string Fixture, string Name, SnapshotFileKind Kind, string Member, string Path, EtcdctlSnapshotStatus Etcdctl)
{
    /// <summary>NUnit shows this in test names.</summary>
    public override string ToString() => $"{Fixture}/{Name}";
}

/// <summary>A snapshot fixture: the files taken from one real etcd cluster, and facts about what the cluster held.</summary>
public sealed class SnapshotFixture
{
    internal SnapshotFixture(string name, IReadOnlyList<SnapshotFixtureFile> files, EtcdContentDigest content, SnapshotFixtureFacts facts, TimeSpan buildTime)
    {
        Name = name;
        Files = files;
        Content = content;
        Facts = facts;
        BuildTime = buildTime;
    }

    /// <summary>The fixture name, e.g. <c>tombstones</c>.</summary>
    public string Name { get; }

    /// <summary>Every file: saved snapshots, live raw copies, the stopped raw copy.</summary>
    public IReadOnlyList<SnapshotFixtureFile> Files { get; }

    /// <summary>The digest of every live key (with revisions) when the snapshots were taken; <see cref="EtcdContentDigest.Keys"/> is the live key count.</summary>
    public EtcdContentDigest Content { get; }

    /// <summary>What the fixture's builder put in.</summary>
    public SnapshotFixtureFacts Facts { get; }

    /// <summary>How long building it took.</summary>
    public TimeSpan BuildTime { get; }

    /// <summary>The file of <paramref name="kind"/> from member m0.</summary>
    public SnapshotFixtureFile File(SnapshotFileKind kind) => Files.First(f => f.Kind == kind && f.Member == "m0");
}

/// <summary>Facts a builder knows about the data it wrote (for comparisons with the SDK's inspection).</summary>
public sealed class SnapshotFixtureFacts
{
    /// <summary>Members in the cluster.</summary>
    public int Members { get; init; } = 1;

    /// <summary>Whether auth was enabled.</summary>
    public bool AuthEnabled { get; init; }

    /// <summary>Leases alive when the snapshot was taken.</summary>
    public int Leases { get; init; }

    /// <summary>The revision compacted at, when the builder compacted.</summary>
    public long? CompactedRevision { get; init; }

    /// <summary>The largest value written, in bytes.</summary>
    public int LargestValue { get; init; }
}

/// <summary>
/// Builds snapshot fixtures from real etcd at test time, each once per test run, several at a time, and deletes them
/// when the run ends (<see cref="IntegrationSetUp"/>). Every fixture has a saved snapshot and raw copies of
/// <c>member/snap/db</c> (live and after a graceful stop) — see <see cref="SnapshotFileKind"/>.
/// </summary>
public static class SnapshotFixtures
{
    /// <summary>The fixtures, in the order tests list them.</summary>
    public static readonly IReadOnlyList<string> Names =
        ["empty", "compaction", "tombstones", "large-values", "many-keys", "leases", "auth", "cluster3"];

    private static readonly ConcurrentDictionary<string, Lazy<Task<SnapshotFixture>>> Builds = new(StringComparer.Ordinal);
    private static readonly SemaphoreSlim Parallelism = new(3, 3);
    private static readonly Lazy<string> Root = new(() => Directory.CreateTempSubdirectory("talos-recovery-fixtures-").FullName);
    private static readonly Stopwatch SinceFirstRequest = new();
    private static long _lastBuiltTicks;
    private static int _started;

    /// <summary>Every (fixture, file) pair the fixtures will have, known before they are built (for TestCaseSource).</summary>
    public static IEnumerable<(string Fixture, string File, SnapshotFileKind Kind)> PlannedFiles()
    {
        foreach (var name in Names)
        {
            var members = name == "cluster3" ? 3 : 1;
            for (var m = 0; m < members; m++)
            {
                yield return (name, $"saved-m{m}.db", SnapshotFileKind.Saved);
                yield return (name, $"raw-live-m{m}.db", SnapshotFileKind.RawLive);
            }

            yield return (name, "raw-stopped-m0.db", SnapshotFileKind.RawStopped);
        }
    }

    /// <summary>The fixture <paramref name="name"/>, built on first use. The first call starts building all fixtures.</summary>
    public static async Task<SnapshotFixture> GetAsync(string name)
    {
        EtcdRequirement.Require();
        if (!Names.Contains(name))
        {
            throw new ArgumentException($"Unknown fixture '{name}'.", nameof(name));
        }

        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            SinceFirstRequest.Start();
            foreach (var other in Names)
            {
                _ = Start(other);
            }
        }

        return await Start(name).ConfigureAwait(false);
    }

    /// <summary>One file of a fixture.</summary>
    public static async Task<SnapshotFixtureFile> GetFileAsync(string fixture, string file)
    {
        var built = await GetAsync(fixture).ConfigureAwait(false);
        return built.Files.Single(f => f.Name == file);
    }

    /// <summary>Deletes every fixture file. Called once when the run ends.</summary>
    internal static async Task CleanUpAsync()
    {
        if (Volatile.Read(ref _started) == 0)
        {
            return;
        }

        foreach (var build in Builds.Values)
        {
            try
            {
                var fixture = await build.Value.ConfigureAwait(false);
                TestContext.Progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"snapshot fixture {fixture.Name}: built in {fixture.BuildTime.TotalSeconds:0.0} s"));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The failure was reported by the tests that used the fixture.
            }
        }

        var allBuilt = TimeSpan.FromTicks(Interlocked.Read(ref _lastBuiltTicks));
        TestContext.Progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"snapshot fixtures: all {Builds.Count} built {allBuilt.TotalSeconds:0.0} s after the first request"));
        if (Root.IsValueCreated)
        {
            Directory.Delete(Root.Value, recursive: true);
        }
    }

    private static Task<SnapshotFixture> Start(string name)
        => Builds.GetOrAdd(name, n => new Lazy<Task<SnapshotFixture>>(() => Task.Run(() => BuildLimitedAsync(n)))).Value;

    private static async Task<SnapshotFixture> BuildLimitedAsync(string name)
    {
        await Parallelism.WaitAsync().ConfigureAwait(false);
        try
        {
            var stopwatch = Stopwatch.StartNew();
            var (options, populate) = Recipe(name);
            await using var etcd = await EtcdCluster.StartAsync(options).ConfigureAwait(false);
            var facts = await populate(etcd).ConfigureAwait(false);
            var content = await etcd.Client.ComputeDigestAsync(includeRevisions: true).ConfigureAwait(false);
            var directory = Directory.CreateDirectory(Path.Combine(Root.Value, name)).FullName;
            var files = new List<SnapshotFixtureFile>();
            var statusReader = new Etcdctl(etcd.Binaries.EtcdctlPath);

            // Saved snapshot and live copy from each member. The save forces that member to commit its pending
            // batch, and nothing writes afterwards, so the live copy is consistent.
            foreach (var member in etcd.Members)
            {
                var saved = Path.Combine(directory, $"saved-{member.Name}.db");
                await etcd.Etcdctl.WithEndpoints(member.Endpoint).SnapshotSaveAsync(saved).ConfigureAwait(false);
                var live = Path.Combine(directory, $"raw-live-{member.Name}.db");
                await member.CopyDatabaseAsync(live).ConfigureAwait(false);
                files.Add(await DescribeAsync(statusReader, name, saved, SnapshotFileKind.Saved, member.Name).ConfigureAwait(false));
                files.Add(await DescribeAsync(statusReader, name, live, SnapshotFileKind.RawLive, member.Name).ConfigureAwait(false));
            }

            await etcd.StopAsync().ConfigureAwait(false);
            var stopped = Path.Combine(directory, "raw-stopped-m0.db");
            await etcd.Members[0].CopyDatabaseAsync(stopped).ConfigureAwait(false);
            files.Add(await DescribeAsync(statusReader, name, stopped, SnapshotFileKind.RawStopped, "m0").ConfigureAwait(false));
            var finished = SinceFirstRequest.Elapsed.Ticks;
            long seen;
            while (finished > (seen = Interlocked.Read(ref _lastBuiltTicks)) && Interlocked.CompareExchange(ref _lastBuiltTicks, finished, seen) != seen)
            {
            }

            return new SnapshotFixture(name, files, content, facts, stopwatch.Elapsed);
        }
        finally
        {
            Parallelism.Release();
        }
    }

    private static async Task<SnapshotFixtureFile> DescribeAsync(Etcdctl etcdctl, string fixture, string path, SnapshotFileKind kind, string member)
    {
        var status = await etcdctl.SnapshotStatusJsonAsync(path).ConfigureAwait(false);
        return new SnapshotFixtureFile(fixture, Path.GetFileName(path), kind, member, path, status);
    }

    private static (EtcdClusterOptions Options, Func<EtcdCluster, Task<SnapshotFixtureFacts>> Populate) Recipe(string name) => name switch
    {
        "empty" => (new EtcdClusterOptions(), static _ => Task.FromResult(new SnapshotFixtureFacts())),
        "compaction" => (new EtcdClusterOptions(), PopulateCompactionAsync),
        "tombstones" => (new EtcdClusterOptions(), PopulateTombstonesAsync),
        "large-values" => (new EtcdClusterOptions { MaxRequestBytes = 3 * 1024 * 1024 }, PopulateLargeValuesAsync),
        "many-keys" => (new EtcdClusterOptions(), PopulateManyKeysAsync),
        "leases" => (new EtcdClusterOptions(), PopulateLeasesAsync),
        "auth" => (new EtcdClusterOptions { EnableAuth = true }, PopulateAuthAsync),
        "cluster3" => (new EtcdClusterOptions { MemberCount = 3 }, PopulateClusterAsync),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown fixture"),
    };

    // 100 keys written 5 times (one revision per put), compacted after round 3, two more rounds, 10 deletions.
    private static async Task<SnapshotFixtureFacts> PopulateCompactionAsync(EtcdCluster etcd)
    {
        var onePerRevision = new EtcdBulkLoadOptions { MaxOperationsPerTransaction = 1, Concurrency = 8 };
        long compactAt = 0;
        for (var round = 0; round < 5; round++)
        {
            var result = await etcd.Client.PutManyAsync(EtcdTestData.Sequential("/compaction/", 100, 300, seed: round), onePerRevision).ConfigureAwait(false);
            if (round == 2)
            {
                compactAt = result.LastRevision;
                await etcd.Client.CompactAsync(compactAt).ConfigureAwait(false);
            }
        }

        for (var i = 0; i < 10; i++)
        {
            await etcd.Client.DeleteAsync($"/compaction/{i:D8}").ConfigureAwait(false);
        }

        return new SnapshotFixtureFacts { CompactedRevision = compactAt };
    }

    // 200 keys put and deleted in 10 cycles; the last cycle leaves every third key deleted.
    private static async Task<SnapshotFixtureFacts> PopulateTombstonesAsync(EtcdCluster etcd)
    {
        for (var cycle = 0; cycle < 10; cycle++)
        {
            await etcd.Client.PutManyAsync(EtcdTestData.Sequential("/churn/", 200, 150, seed: cycle), new EtcdBulkLoadOptions { MaxOperationsPerTransaction = 50 }).ConfigureAwait(false);
            if (cycle < 9)
            {
                await etcd.Client.DeletePrefixAsync("/churn/").ConfigureAwait(false);
            }
        }

        for (var i = 0; i < 200; i += 3)
        {
            await etcd.Client.DeleteAsync($"/churn/{i:D8}").ConfigureAwait(false);
        }

        return new SnapshotFixtureFacts();
    }

    // Values from 5 kB to 2 MiB (overflow pages); the 1 MiB key is overwritten once (its old pages become free).
    private static async Task<SnapshotFixtureFacts> PopulateLargeValuesAsync(EtcdCluster etcd)
    {
        int[] sizes = [5_000, 12_000, 50_000, 100_000, 250_000, 500_000, 1 << 20, 2 << 20];
        var random = new Random(7);
        foreach (var size in sizes)
        {
            var value = new byte[size];
            random.NextBytes(value);
            await etcd.Client.PutAsync(Encoding.UTF8.GetBytes($"/large/{size:D8}"), value).ConfigureAwait(false);
        }

        var replacement = new byte[1 << 20];
        random.NextBytes(replacement);
        await etcd.Client.PutAsync(Encoding.UTF8.GetBytes($"/large/{1 << 20:D8}"), replacement).ConfigureAwait(false);
        await etcd.Client.PutAsync("/large/small", "a small key between big ones").ConfigureAwait(false);
        return new SnapshotFixtureFacts { LargestValue = sizes.Max() };
    }

    // 30,000 Kubernetes-shaped keys: several branch levels in the key bucket.
    private static async Task<SnapshotFixtureFacts> PopulateManyKeysAsync(EtcdCluster etcd)
    {
        await etcd.Client.PutManyAsync(EtcdTestData.KubernetesLike(30_000, 120), new EtcdBulkLoadOptions { Concurrency = 4, MaxOperationsPerTransaction = 100 }).ConfigureAwait(false);
        return new SnapshotFixtureFacts();
    }

    // 6 leases with 20 keys each; the first lease is revoked (its keys are deleted); 20 keys without lease.
    private static async Task<SnapshotFixtureFacts> PopulateLeasesAsync(EtcdCluster etcd)
    {
        var leases = new List<EtcdLease>();
        for (var i = 0; i < 6; i++)
        {
            var lease = await etcd.Client.GrantLeaseAsync(3600 + (i * 60)).ConfigureAwait(false);
            leases.Add(lease);
            await etcd.Client.PutManyAsync(EtcdTestData.Sequential($"/leased/{i}/", 20, 64, seed: i, lease: lease.Id)).ConfigureAwait(false);
        }

        await etcd.Client.PutManyAsync(EtcdTestData.Sequential("/unleased/", 20, 64)).ConfigureAwait(false);
        await etcd.Client.RevokeLeaseAsync(leases[0].Id).ConfigureAwait(false);
        return new SnapshotFixtureFacts { Leases = leases.Count - 1 };
    }

    // Auth on: root plus a read-only role and user; 50 keys written as root.
    private static async Task<SnapshotFixtureFacts> PopulateAuthAsync(EtcdCluster etcd)
    {
        await etcd.Client.AddRoleAsync("reader").ConfigureAwait(false);
        await etcd.Client.GrantPermissionAsync("reader", EtcdPermissionType.Read, "/registry/"u8.ToArray(), EtcdGatewayClient.PrefixEnd("/registry/"u8)).ConfigureAwait(false);
        await etcd.Client.AddUserAsync("alice", "alice-password").ConfigureAwait(false);
        await etcd.Client.GrantRoleAsync("alice", "reader").ConfigureAwait(false);
        await etcd.Client.PutManyAsync(EtcdTestData.KubernetesLike(50, 200)).ConfigureAwait(false);
        return new SnapshotFixtureFacts { AuthEnabled = true };
    }

    // Three members; 500 keys, 50 of them deleted.
    private static async Task<SnapshotFixtureFacts> PopulateClusterAsync(EtcdCluster etcd)
    {
        var items = EtcdTestData.KubernetesLike(500, 200).ToList();
        await etcd.Client.PutManyAsync(items).ConfigureAwait(false);
        foreach (var item in items.Take(50))
        {
            await etcd.Client.DeleteRangeAsync(item.Key, ReadOnlyMemory<byte>.Empty).ConfigureAwait(false);
        }

        return new SnapshotFixtureFacts { Members = 3 };
    }
}

/// <summary>Runs once around every integration test: deletes the snapshot fixtures at the end.</summary>
[SetUpFixture]
public sealed class IntegrationSetUp
{
    [OneTimeTearDown]
    public async Task DeleteFixtures() => await SnapshotFixtures.CleanUpAsync();
}
