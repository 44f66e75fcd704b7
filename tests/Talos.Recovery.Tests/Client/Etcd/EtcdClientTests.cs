using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Talos.Recovery.Api.Etcd;
using Talos.Recovery.Client.Etcd;

namespace Talos.Recovery.Tests.Client.Etcd;

/// <summary>The etcd client against one real etcd 3.4 on loopback (plain HTTP/2), holding a few MiB of data.</summary>
[TestFixture]
[CancelAfter(120_000)]
public class EtcdClientTests
{
    private const int SnapshotChunkSize = 32 * 1024;

    private EtcdTestProcess _etcd = null!;
    private EtcdClient _client = null!;

    [OneTimeSetUp]
    public async Task StartEtcd()
    {
        _etcd = await EtcdTestProcess.StartAsync();
        _client = new EtcdClient(_etcd.ClientUrl);
        // ~3 MiB of incompressible values, so the snapshot spans ~100 chunks.
        var random = new Random(42);
        var value = new byte[24 * 1024];
        for (int i = 0; i < 128; i++)
        {
            random.NextBytes(value);
            await _client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8($"/test/key/{i:D4}"), Value = ByteString.CopyFrom(value) });
        }
    }

    [OneTimeTearDown]
    public async Task StopEtcd()
    {
        _client?.Dispose();
        if (_etcd is not null)
        {
            await _etcd.DisposeAsync();
        }
    }

    [Test]
    public async Task Snapshot_written_to_a_file_has_the_same_status_as_etcdctl_snapshot_save()
    {
        string ours = Path.Combine(_etcd.Directory, "ours.db");
        string theirs = Path.Combine(_etcd.Directory, "etcdctl.db");
        long written;
        await using (FileStream file = File.Create(ours))
        {
            written = await _client.WriteSnapshotAsync(file);
        }

        await _etcd.EtcdctlAsync("snapshot", "save", theirs);
        EtcdStatus status = await _client.StatusAsync();

        string ourStatus = await EtcdTestProcess.EtcdctlOfflineAsync("snapshot", "status", ours, "-w", "json");
        string theirStatus = await EtcdTestProcess.EtcdctlOfflineAsync("snapshot", "status", theirs, "-w", "json");
        using JsonDocument parsed = JsonDocument.Parse(ourStatus);
        Assert.Multiple(() =>
        {
            Assert.That(ourStatus, Is.EqualTo(theirStatus), "etcdctl snapshot status of both files");
            Assert.That(new FileInfo(ours).Length, Is.EqualTo(new FileInfo(theirs).Length));
            Assert.That(written, Is.EqualTo(new FileInfo(ours).Length));
            Assert.That(parsed.RootElement.GetProperty("revision").GetInt64(), Is.EqualTo(status.Revision));
            Assert.That(parsed.RootElement.GetProperty("totalKey").GetInt64(), Is.GreaterThanOrEqualTo(128));
        });
    }

    [Test]
    public async Task Snapshot_ends_with_a_32_byte_chunk_that_is_the_sha256_of_all_preceding_bytes()
    {
        List<byte[]> chunks = await ReadChunksAsync(_client);

        byte[] last = chunks[^1];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long database = 0;
        foreach (byte[] chunk in chunks.Take(chunks.Count - 1))
        {
            sha.AppendData(chunk);
            database += chunk.Length;
        }

        Assert.Multiple(() =>
        {
            Assert.That(chunks, Has.Count.GreaterThan(50), "a multi-MiB database arrives in many chunks");
            Assert.That(chunks.Take(chunks.Count - 1), Has.All.Matches<byte[]>(c => c.Length is > 0 and <= SnapshotChunkSize));
            Assert.That(last, Has.Length.EqualTo(32));
            Assert.That(last, Is.EqualTo(sha.GetHashAndReset()), "trailer = SHA-256 of the database bytes");
            Assert.That(database % 4096, Is.Zero, "the database part is whole pages");
            Assert.That((database + 32) % 512, Is.EqualTo(32), "etcdctl's hasChecksum rule");
        });
    }

    [Test]
    public async Task WriteSnapshotAsync_into_a_PipeWriter_delivers_a_complete_snapshot()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 256 * 1024, resumeWriterThreshold: 128 * 1024));
        var received = new MemoryStream();
        Task reading = pipe.Reader.CopyToAsync(received);

        long written = await _client.WriteSnapshotAsync(pipe.Writer);
        await pipe.Writer.CompleteAsync();
        await reading;

        byte[] bytes = received.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(written, Is.EqualTo(bytes.Length));
            Assert.That(bytes.AsSpan(bytes.Length - 32).ToArray(), Is.EqualTo(SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32))));
        });
    }

    [Test]
    public async Task Snapshot_stream_does_not_allocate_per_chunk()
    {
        // Warm up (JIT, connection, pools).
        await DrainAsync(_client);

        long before = GC.GetTotalAllocatedBytes(precise: true);
        long total = await DrainAsync(_client);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        TestContext.Out.WriteLine($"{total} bytes streamed in ~{total / SnapshotChunkSize} chunks, {allocated} bytes allocated by the whole process");
        // A copy per chunk would allocate at least the snapshot's size.
        Assert.That(allocated, Is.LessThan(total / 8));
    }

    [Test]
    public async Task Cancelling_a_snapshot_mid_stream_throws_OperationCanceledException()
    {
        using var cancellation = new CancellationTokenSource();
        int seen = 0;

        Assert.That(
            async () =>
            {
                await foreach (ReadOnlyMemory<byte> _ in _client.SnapshotAsync(cancellation.Token))
                {
                    if (++seen == 3)
                    {
                        await cancellation.CancelAsync();
                    }
                }
            },
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(seen, Is.EqualTo(3));
    }

    [Test]
    public async Task Leaving_a_snapshot_early_releases_the_stream_and_the_client_stays_usable()
    {
        await foreach (ReadOnlyMemory<byte> chunk in _client.SnapshotAsync())
        {
            Assert.That(chunk.Length, Is.EqualTo(SnapshotChunkSize));
            break;
        }

        List<byte[]> chunks = await ReadChunksAsync(_client);
        Assert.That(chunks[^1], Has.Length.EqualTo(32));
    }

    [Test]
    public async Task Status_matches_etcdctl_endpoint_status()
    {
        // Compare once two of our readings agree, so a raft entry applied in between cannot make the test flaky.
        EtcdStatus ours = await _client.StatusAsync();
        JsonElement theirs = default;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            using JsonDocument document = JsonDocument.Parse(await _etcd.EtcdctlAsync("endpoint", "status", "-w", "json"));
            theirs = document.RootElement[0].GetProperty("Status").Clone();
            EtcdStatus again = await _client.StatusAsync();
            if (again == ours with { Errors = again.Errors })
            {
                break;
            }

            ours = again;
        }

        JsonElement header = theirs.GetProperty("header");
        Assert.Multiple(() =>
        {
            Assert.That(ours.Endpoint, Is.EqualTo(new Uri(_etcd.ClientUrl)));
            Assert.That(ours.Version, Is.EqualTo(theirs.GetProperty("version").GetString()));
            Assert.That(ours.DbSize, Is.EqualTo(theirs.GetProperty("dbSize").GetInt64()));
            Assert.That(ours.DbSizeInUse, Is.EqualTo(theirs.GetProperty("dbSizeInUse").GetInt64()));
            Assert.That(ours.Leader, Is.EqualTo(theirs.GetProperty("leader").GetUInt64()));
            Assert.That(ours.RaftIndex, Is.EqualTo(theirs.GetProperty("raftIndex").GetUInt64()));
            Assert.That(ours.RaftTerm, Is.EqualTo(theirs.GetProperty("raftTerm").GetUInt64()));
            Assert.That(ours.RaftAppliedIndex, Is.EqualTo(theirs.GetProperty("raftAppliedIndex").GetUInt64()));
            Assert.That(ours.IsLearner, Is.EqualTo(theirs.TryGetProperty("isLearner", out JsonElement learner) && learner.GetBoolean()));
            Assert.That(ours.Errors, Is.Empty);
            Assert.That(theirs.TryGetProperty("errors", out _), Is.False);
            Assert.That(ours.MemberId, Is.EqualTo(header.GetProperty("member_id").GetUInt64()));
            Assert.That(ours.ClusterId, Is.EqualTo(header.GetProperty("cluster_id").GetUInt64()));
            Assert.That(ours.Revision, Is.EqualTo(header.GetProperty("revision").GetInt64()));
            Assert.That(ours.IsLeader, Is.True);
        });
    }

    [Test]
    public async Task MemberList_matches_etcdctl_member_list()
    {
        IReadOnlyList<EtcdMember> ours = await _client.MemberListAsync();
        using JsonDocument theirs = JsonDocument.Parse(await _etcd.EtcdctlAsync("member", "list", "-w", "json"));
        JsonElement[] members = [.. theirs.RootElement.GetProperty("members").EnumerateArray()];

        Assert.That(ours, Has.Count.EqualTo(members.Length).And.Count.EqualTo(1));
        Assert.Multiple(() =>
        {
            Assert.That(ours[0].Id, Is.EqualTo(members[0].GetProperty("ID").GetUInt64()));
            Assert.That(ours[0].Name, Is.EqualTo(members[0].GetProperty("name").GetString()).And.EqualTo("t1"));
            Assert.That(ours[0].PeerUrls, Is.EqualTo(members[0].GetProperty("peerURLs").EnumerateArray().Select(e => e.GetString())));
            Assert.That(ours[0].ClientUrls, Is.EqualTo(members[0].GetProperty("clientURLs").EnumerateArray().Select(e => e.GetString())));
            Assert.That(ours[0].ClientUrls, Is.EqualTo(new[] { _etcd.ClientUrl }));
            Assert.That(ours[0].IsLearner, Is.False);
            Assert.That(ours[0].IsStarted, Is.True);
        });
    }

    [Test]
    public async Task AlarmList_is_empty_on_a_healthy_member_as_etcdctl_says()
    {
        IReadOnlyList<EtcdAlarm> alarms = await _client.AlarmListAsync();
        string etcdctl = await _etcd.EtcdctlAsync("alarm", "list");
        Assert.Multiple(() =>
        {
            Assert.That(alarms, Is.Empty);
            Assert.That(etcdctl.Trim(), Is.Empty);
        });
    }

    [Test]
    public async Task A_closed_first_endpoint_fails_over_to_the_live_second_one()
    {
        var logs = new CapturingLoggerFactory();
        string dead = $"http://127.0.0.1:{EtcdTestProcess.FreePort()}";
        var options = new EtcdClientOptions { LoggerFactory = logs };
        options.Endpoints.Add($"{dead},{_etcd.ClientUrl}");
        using var client = new EtcdClient(options);

        EtcdStatus status = await client.StatusAsync();
        Assert.Multiple(() =>
        {
            Assert.That(status.Endpoint, Is.EqualTo(new Uri(_etcd.ClientUrl)));
            Assert.That(logs.MessagesOf(3500).Single(), Does.Contain(dead));
        });

        // The live endpoint is now preferred: no second attempt on the dead one.
        await client.MemberListAsync();
        Assert.That(logs.MessagesOf(3500).Count(), Is.EqualTo(1));
    }

    [Test]
    public async Task A_snapshot_fails_over_from_a_closed_first_endpoint()
    {
        using var client = new EtcdClient($"http://127.0.0.1:{EtcdTestProcess.FreePort()},{_etcd.ClientUrl}");
        List<byte[]> chunks = await ReadChunksAsync(client);
        Assert.That(chunks[^1], Has.Length.EqualTo(32));
    }

    [Test]
    public void All_endpoints_dead_throws_EtcdUnavailableException_naming_each_endpoint()
    {
        var first = new Uri($"http://127.0.0.1:{EtcdTestProcess.FreePort()}");
        var second = new Uri($"http://127.0.0.1:{EtcdTestProcess.FreePort()}");
        using var client = new EtcdClient($"{first},{second}");

        var status = Assert.ThrowsAsync<EtcdUnavailableException>(() => client.StatusAsync());
        var snapshot = Assert.ThrowsAsync<EtcdUnavailableException>(() => client.WriteSnapshotAsync(Stream.Null));

        foreach (EtcdUnavailableException ex in new[] { status!, snapshot! })
        {
            TestContext.Out.WriteLine(ex.Message);
            Assert.Multiple(() =>
            {
                Assert.That(ex.Message, Does.Contain(first.ToString()).And.Contain(second.ToString()));
                Assert.That(ex.StatusCode, Is.EqualTo(StatusCode.Unavailable));
                Assert.That(ex.Failures.Select(f => f.Endpoint), Is.EqualTo(new[] { first, second }));
                Assert.That(ex.Failures, Has.All.Matches<EtcdClientException>(f => f.StatusCode == StatusCode.Unavailable && f.InnerException is RpcException));
                Assert.That(ex, Is.InstanceOf<TalosRecoveryException>());
            });
        }
    }

    [Test]
    public void A_single_dead_endpoint_throws_EtcdClientException_with_the_endpoint_and_the_RpcException()
    {
        var dead = new Uri($"http://127.0.0.1:{EtcdTestProcess.FreePort()}");
        using var client = new EtcdClient(dead.ToString());

        var ex = Assert.ThrowsAsync<EtcdClientException>(() => client.MemberListAsync());

        TestContext.Out.WriteLine(ex?.Message);
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Endpoint, Is.EqualTo(dead));
            Assert.That(ex.StatusCode, Is.EqualTo(StatusCode.Unavailable));
            Assert.That(ex.InnerException, Is.InstanceOf<RpcException>());
            Assert.That(ex.Message, Does.Contain(dead.ToString()).And.Contain("MemberList"));
        });
    }

    [Test]
    public async Task Credentials_for_a_cluster_without_authentication_are_not_an_error()
    {
        var logs = new CapturingLoggerFactory();
        var options = new EtcdClientOptions { Username = "root", Password = "irrelevant", LoggerFactory = logs };
        options.Endpoints.Add(_etcd.ClientUrl);
        using var client = new EtcdClient(options);

        await client.StatusAsync();
        await client.MemberListAsync();
        Assert.That(logs.MessagesOf(3503).Count(), Is.EqualTo(1), "authentication is found disabled once");
    }

    [Test]
    public void A_disposed_client_throws_ObjectDisposedException()
    {
        var client = new EtcdClient(_etcd.ClientUrl);
        client.Dispose();
        Assert.ThrowsAsync<ObjectDisposedException>(() => client.StatusAsync());
    }

    internal static async Task<List<byte[]>> ReadChunksAsync(EtcdClient client)
    {
        var chunks = new List<byte[]>();
        await foreach (ReadOnlyMemory<byte> chunk in client.SnapshotAsync())
        {
            // Chunks are only valid until the next one is read.
            chunks.Add(chunk.ToArray());
        }

        return chunks;
    }

    private static async Task<long> DrainAsync(EtcdClient client)
    {
        long total = 0;
        await foreach (ReadOnlyMemory<byte> chunk in client.SnapshotAsync())
        {
            total += chunk.Length;
        }

        return total;
    }
}
