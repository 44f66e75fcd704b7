using System.Text;
using Talos.Recovery.Testing.Etcd;

namespace Talos.Recovery.Tests.Integration.Harness;

/// <summary>The JSON-gateway data helpers against one shared real etcd (each test uses its own key prefix).</summary>
[TestFixture]
public sealed class EtcdGatewayClientTests
{
    private EtcdCluster _etcd = null!;

    private EtcdGatewayClient Client => _etcd.Client;

    [OneTimeSetUp]
    public async Task StartEtcd()
    {
        EtcdRequirement.Require();
        _etcd = await EtcdCluster.StartAsync();
    }

    [OneTimeTearDown]
    public async Task StopEtcd()
    {
        if (_etcd is not null)
        {
            await _etcd.DisposeAsync();
        }
    }

    [Test]
    public async Task Put_then_get_returns_the_value_and_revisions()
    {
        var first = await Client.PutAsync("/put/a", "1");
        var second = await Client.PutAsync("/put/a", "2");

        var kv = await Client.GetAsync("/put/a");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(second, Is.EqualTo(first + 1));
            Assert.That(kv!.ValueString, Is.EqualTo("2"));
            Assert.That(kv.CreateRevision, Is.EqualTo(first));
            Assert.That(kv.ModRevision, Is.EqualTo(second));
            Assert.That(kv.Version, Is.EqualTo(2));
            Assert.That(await Client.GetAsync("/put/missing"), Is.Null);
        }
    }

    [Test]
    public async Task Binary_keys_and_values_round_trip()
    {
        byte[] key = [0x2F, 0x00, 0xFF, 0x80, 0x01];
        byte[] value = [0x00, 0x01, 0xFE, 0xFF];

        await Client.PutAsync(key, value);

        Assert.That((await Client.GetAsync(key))!.Value.ToArray(), Is.EqualTo(value));
    }

    [Test]
    public async Task Delete_and_delete_prefix_remove_keys_and_report_counts()
    {
        await Client.PutAsync("/del/a", "1");
        await Client.PutAsync("/del/b/1", "1");
        await Client.PutAsync("/del/b/2", "1");
        await Client.PutAsync("/del/c", "1");

        var single = await Client.DeleteAsync("/del/a");
        var prefix = await Client.DeletePrefixAsync("/del/b/");
        var missing = await Client.DeleteAsync("/del/zzz");
        var rest = await Client.RangeAsync(new EtcdRangeRequest { Key = "/del/"u8.ToArray(), RangeEnd = EtcdGatewayClient.PrefixEnd("/del/"u8), CountOnly = true });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(single, Is.EqualTo(1));
            Assert.That(prefix, Is.EqualTo(2));
            Assert.That(missing, Is.Zero);
            Assert.That(rest.Count, Is.EqualTo(1));
        }
    }

    [Test]
    public async Task Compaction_removes_old_revisions()
    {
        var old = await Client.PutAsync("/compact/k", "old");
        await Client.PutAsync("/compact/k", "new");

        await Client.CompactAsync(old + 1);

        var ex = Assert.ThrowsAsync<EtcdGatewayException>(() => Client.RangeAsync(new EtcdRangeRequest { Key = "/compact/k"u8.ToArray(), Revision = old }));
        Assert.That(ex!.EtcdError, Does.Contain("compacted"));
        Assert.That((await Client.GetAsync("/compact/k"))!.ValueString, Is.EqualTo("new"));
    }

    [Test]
    public async Task Keys_attached_to_a_revoked_lease_are_deleted()
    {
        var lease = await Client.GrantLeaseAsync(3600);
        await Client.PutAsync("/lease/k", "v", lease.Id);
        var attached = await Client.GetAsync("/lease/k");

        await Client.RevokeLeaseAsync(lease.Id);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(lease.TtlSeconds, Is.EqualTo(3600));
            Assert.That(attached!.Lease, Is.EqualTo(lease.Id));
            Assert.That(await Client.GetAsync("/lease/k"), Is.Null);
        }
    }

    [Test]
    public async Task ReadAll_pages_through_every_key_of_a_prefix_in_order()
    {
        for (var i = 0; i < 25; i++)
        {
            await Client.PutAsync($"/page/{i:D2}", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        await Client.PutAsync("/pagf", "outside the prefix");

        var keys = new List<string>();
        await foreach (var kv in Client.ReadAllAsync("/page/"u8.ToArray(), pageSize: 7))
        {
            keys.Add(kv.KeyString);
        }

        Assert.That(keys, Is.EqualTo(Enumerable.Range(0, 25).Select(i => $"/page/{i:D2}")));
    }

    [Test]
    public async Task PutMany_loads_every_key_in_batched_transactions()
    {
        var items = EtcdTestData.Sequential("/bulk/", 5000, 100).ToList();

        var result = await Client.PutManyAsync(items, new EtcdBulkLoadOptions { Concurrency = 4, MaxOperationsPerTransaction = 100 });

        var count = await Client.RangeAsync(new EtcdRangeRequest { Key = "/bulk/"u8.ToArray(), RangeEnd = EtcdGatewayClient.PrefixEnd("/bulk/"u8), CountOnly = true });
        var sample = await Client.GetAsync(items[4321].Key);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Keys, Is.EqualTo(5000));
            Assert.That(result.Requests, Is.EqualTo(50));
            Assert.That(result.Bytes, Is.EqualTo(5000 * (100 + "/bulk/00000000".Length)));
            Assert.That(count.Count, Is.EqualTo(5000));
            Assert.That(sample!.Value.ToArray(), Is.EqualTo(items[4321].Value.ToArray()));
        }
    }

    [Test]
    public async Task PutMany_splits_a_batch_at_a_repeated_key_and_keeps_the_last_value()
    {
        var items = new[]
        {
            EtcdPut.FromStrings("/dup/a", "1"),
            EtcdPut.FromStrings("/dup/b", "1"),
            EtcdPut.FromStrings("/dup/a", "2"),
        };

        var result = await Client.PutManyAsync(items, new EtcdBulkLoadOptions { Concurrency = 1 });

        Assert.That(result.Requests, Is.EqualTo(2));
        Assert.That((await Client.GetAsync("/dup/a"))!.ValueString, Is.EqualTo("2"));
    }

    [Test]
    public async Task PutMany_sends_values_larger_than_the_batch_limit_alone_and_reports_progress()
    {
        var items = EtcdTestData.Sequential("/bigbulk/", 6, 300_000).ToList();
        var reports = new List<long>();
        var progress = new SynchronousProgress(reports);

        var result = await Client.PutManyAsync(items, new EtcdBulkLoadOptions { Concurrency = 2, MaxBytesPerTransaction = 512 * 1024 }, progress);

        Assert.That(result.Keys, Is.EqualTo(6));
        Assert.That(result.Requests, Is.EqualTo(6), "two 300 kB values do not fit in 512 KiB, so each goes alone");
        Assert.That(reports, Has.Count.EqualTo(result.Requests));
        Assert.That(reports.Max(), Is.EqualTo(6));
    }

    [Test]
    public async Task The_content_digest_changes_with_the_content_and_only_then()
    {
        await Client.PutAsync("/digest/a", "1");
        var before = await Client.ComputeDigestAsync("/digest/"u8.ToArray());
        var again = await Client.ComputeDigestAsync("/digest/"u8.ToArray());
        await Client.PutAsync("/digest/a", "2");
        var after = await Client.ComputeDigestAsync("/digest/"u8.ToArray());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(again, Is.EqualTo(before));
            Assert.That(after.Sha256, Is.Not.EqualTo(before.Sha256));
            Assert.That(after.Keys, Is.EqualTo(1));
            Assert.That(after.Sha256, Has.Length.EqualTo(64));
        }
    }

    [Test]
    public void Etcd_errors_surface_as_typed_exceptions_with_etcds_text()
    {
        var ex = Assert.ThrowsAsync<EtcdGatewayException>(() => Client.RevokeLeaseAsync(12345));

        Assert.That(ex!.EtcdError, Does.Contain("lease not found"));
        Assert.That(ex.GrpcStatusCode, Is.EqualTo(5));
        Assert.That(ex.HttpStatusCode, Is.EqualTo(404));
    }

    [Test]
    public void PrefixEnd_increments_the_last_byte_below_0xFF()
    {
        Assert.That(EtcdGatewayClient.PrefixEnd("/a/"u8), Is.EqualTo("/a0"u8.ToArray()));
        Assert.That(EtcdGatewayClient.PrefixEnd([0x61, 0xFF]), Is.EqualTo(new byte[] { 0x62 }));
        Assert.That(EtcdGatewayClient.PrefixEnd([0xFF]), Is.EqualTo(new byte[] { 0 }));
        Assert.That(EtcdGatewayClient.PrefixEnd(ReadOnlySpan<byte>.Empty), Is.EqualTo(new byte[] { 0 }));
    }

    private sealed class SynchronousProgress(List<long> reports) : IProgress<long>
    {
        public void Report(long value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }
}

/// <summary>Authentication: enabling it, tokens through the gateway, credentials for etcdctl.</summary>
[TestFixture]
public sealed class EtcdAuthTests
{
    [Test]
    public async Task With_auth_enabled_the_cluster_clients_authenticate_and_anonymous_requests_are_refused()
    {
        EtcdRequirement.Require();
        await using var etcd = await EtcdCluster.StartAsync(new EtcdClusterOptions { EnableAuth = true, RootPassword = "s3cret" });

        await etcd.Client.PutAsync("/auth/k", "v");
        using var anonymous = new EtcdGatewayClient(etcd.Members[0].ClientUrl);
        var refused = Assert.ThrowsAsync<EtcdGatewayException>(() => anonymous.PutAsync("/auth/k", "x"));
        using var wrongPassword = new EtcdGatewayClient(etcd.Members[0].ClientUrl, new EtcdGatewayClientOptions { Username = "root", Password = "nope" });
        var badLogin = Assert.ThrowsAsync<EtcdGatewayException>(() => wrongPassword.GetAsync("/auth/k"));
        var viaEtcdctl = await etcd.Etcdctl.RunCheckedAsync(["get", "/auth/k", "--print-value-only"]);
        var etcdctlWithoutUser = await new Etcdctl(etcd.Binaries.EtcdctlPath) { Endpoints = etcd.Endpoints }.RunAsync(["get", "/auth/k"]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(etcd.AuthEnabled, Is.True);
            Assert.That(refused!.EtcdError, Does.Contain("user name is empty"));
            Assert.That(badLogin!.EtcdError, Does.Contain("authentication failed"));
            Assert.That(viaEtcdctl.StandardOutput.Trim(), Is.EqualTo("v"));
            Assert.That(viaEtcdctl.Arguments, Has.None.Contains("s3cret"), "the password is masked in the recorded arguments");
            Assert.That(etcdctlWithoutUser.Succeeded, Is.False);
        }
    }

    [Test]
    public async Task Users_roles_and_permissions_can_be_created_through_the_gateway()
    {
        EtcdRequirement.Require();
        await using var etcd = await EtcdCluster.StartAsync(new EtcdClusterOptions { EnableAuth = true });
        await etcd.Client.AddRoleAsync("reader");
        await etcd.Client.GrantPermissionAsync("reader", EtcdPermissionType.Read, "/registry/"u8.ToArray(), EtcdGatewayClient.PrefixEnd("/registry/"u8));
        await etcd.Client.AddUserAsync("alice", "alice-pw");
        await etcd.Client.GrantRoleAsync("alice", "reader");
        await etcd.Client.PutAsync("/registry/pods/p", "v");

        using var alice = new EtcdGatewayClient(etcd.Members[0].ClientUrl, new EtcdGatewayClientOptions { Username = "alice", Password = "alice-pw" });
        var read = await alice.GetAsync("/registry/pods/p");
        var denied = Assert.ThrowsAsync<EtcdGatewayException>(() => alice.PutAsync("/registry/pods/p", "w"));

        Assert.That(read!.ValueString, Is.EqualTo("v"));
        Assert.That(denied!.EtcdError, Does.Contain("permission denied"));
    }
}
