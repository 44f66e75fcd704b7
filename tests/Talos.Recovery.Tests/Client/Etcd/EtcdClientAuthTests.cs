using Google.Protobuf;
using Grpc.Core;
using Talos.Recovery.Api.Etcd;
using Talos.Recovery.Client.Etcd;

namespace Talos.Recovery.Tests.Client.Etcd;

/// <summary>
/// The etcd client against a real etcd with authentication enabled (<c>user add root</c>, <c>auth enable</c>) and
/// simple tokens that expire after one idle second, so token refresh can be observed quickly.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class EtcdClientAuthTests
{
    private const string RootPassword = "root-pw";
    private const string AlicePassword = "alice-pw";

    private EtcdTestProcess _etcd = null!;

    [OneTimeSetUp]
    public async Task StartEtcdWithAuthentication()
    {
        _etcd = await EtcdTestProcess.StartAsync(extraArguments: ["--auth-token", "simple", "--auth-token-ttl", "1"]);
        await _etcd.EtcdctlAsync("user", "add", "root:" + RootPassword, "--interactive=false");
        await _etcd.EtcdctlAsync("user", "add", "alice:" + AlicePassword, "--interactive=false");
        await _etcd.EtcdctlAsync("auth", "enable");
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
    public async Task With_root_credentials_every_call_and_the_snapshot_work()
    {
        using EtcdClient client = CreateClient("root", RootPassword);

        await client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("/auth/k"), Value = ByteString.CopyFromUtf8("v") });
        EtcdStatus status = await client.StatusAsync();
        IReadOnlyList<EtcdMember> members = await client.MemberListAsync();
        IReadOnlyList<EtcdAlarm> alarms = await client.AlarmListAsync();
        List<byte[]> chunks = await EtcdClientTests.ReadChunksAsync(client);

        Assert.Multiple(() =>
        {
            Assert.That(status.Revision, Is.GreaterThanOrEqualTo(2));
            Assert.That(members, Has.Count.EqualTo(1));
            Assert.That(alarms, Is.Empty);
            Assert.That(chunks[^1], Has.Length.EqualTo(32));
        });
    }

    [Test]
    public void A_wrong_password_throws_InvalidCredentials()
    {
        using EtcdClient client = CreateClient("root", "wrong");

        var ex = Assert.ThrowsAsync<EtcdAuthenticationException>(() => client.StatusAsync());

        TestContext.Out.WriteLine(ex?.Message);
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Reason, Is.EqualTo(EtcdAuthenticationFailure.InvalidCredentials));
            Assert.That(ex.Username, Is.EqualTo("root"));
            Assert.That(ex.Endpoint, Is.EqualTo(new Uri(_etcd.ClientUrl)));
            Assert.That(ex.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(ex.InnerException, Is.InstanceOf<RpcException>());
            Assert.That(ex.Message, Does.Not.Contain("wrong"), "the password is never in a message");
        });
    }

    [Test]
    public void An_unknown_user_throws_InvalidCredentials()
    {
        using EtcdClient client = CreateClient("nobody", "x");
        var ex = Assert.ThrowsAsync<EtcdAuthenticationException>(() => EtcdClientTests.ReadChunksAsync(client));
        TestContext.Out.WriteLine(ex?.Message);
        Assert.That(ex!.Reason, Is.EqualTo(EtcdAuthenticationFailure.InvalidCredentials));
    }

    [Test]
    public void Without_credentials_a_snapshot_throws_CredentialsRequired()
    {
        using var client = new EtcdClient(_etcd.ClientUrl);
        var ex = Assert.ThrowsAsync<EtcdAuthenticationException>(() => client.WriteSnapshotAsync(Stream.Null));
        TestContext.Out.WriteLine(ex?.Message);
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Reason, Is.EqualTo(EtcdAuthenticationFailure.CredentialsRequired));
            Assert.That(ex.Username, Is.Null);
            Assert.That(ex.Message, Does.Contain("Snapshot").And.Contain(_etcd.ClientUrl));
        });
    }

    [Test]
    public void Without_credentials_a_key_read_throws_CredentialsRequired()
    {
        using var client = new EtcdClient(_etcd.ClientUrl);
        var ex = Assert.ThrowsAsync<EtcdAuthenticationException>(() => client.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("/auth/k") }));
        TestContext.Out.WriteLine(ex?.Message);
        Assert.That(ex!.Reason, Is.EqualTo(EtcdAuthenticationFailure.CredentialsRequired));
    }

    [Test]
    public void A_user_without_the_root_role_gets_PermissionDenied_for_a_snapshot()
    {
        using EtcdClient client = CreateClient("alice", AlicePassword);
        var ex = Assert.ThrowsAsync<EtcdAuthenticationException>(() => client.WriteSnapshotAsync(Stream.Null));
        TestContext.Out.WriteLine(ex?.Message);
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Reason, Is.EqualTo(EtcdAuthenticationFailure.PermissionDenied));
            Assert.That(ex.Username, Is.EqualTo("alice"));
        });
    }

    [Test]
    public async Task An_expired_token_is_renewed_once_for_a_unary_call()
    {
        var logs = new CapturingLoggerFactory();
        using EtcdClient client = CreateClient("root", RootPassword, logs);
        await client.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("/auth/k") });

        await Task.Delay(TimeSpan.FromSeconds(3)); // TTL 1 s, checked every second
        RangeResponse response = await client.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("/auth/k") });

        Assert.Multiple(() =>
        {
            Assert.That(response.Header.Revision, Is.Positive);
            Assert.That(logs.MessagesOf(3502).Count(), Is.EqualTo(1), "one refresh");
            Assert.That(logs.MessagesOf(3501).Count(), Is.EqualTo(2), "authenticated twice");
        });
    }

    [Test]
    public async Task An_expired_token_is_renewed_once_for_a_snapshot()
    {
        var logs = new CapturingLoggerFactory();
        using EtcdClient client = CreateClient("root", RootPassword, logs);
        await EtcdClientTests.ReadChunksAsync(client);

        await Task.Delay(TimeSpan.FromSeconds(3));
        List<byte[]> chunks = await EtcdClientTests.ReadChunksAsync(client);

        Assert.Multiple(() =>
        {
            Assert.That(chunks[^1], Has.Length.EqualTo(32));
            Assert.That(logs.MessagesOf(3502).Count(), Is.EqualTo(1), "one refresh");
            Assert.That(logs.MessagesOf(3502).Single(), Does.Contain("invalid auth token"));
        });
    }

    private EtcdClient CreateClient(string user, string password, CapturingLoggerFactory? logs = null)
    {
        var options = new EtcdClientOptions { Username = user, Password = password };
        if (logs is not null)
        {
            options.LoggerFactory = logs;
        }

        options.Endpoints.Add(_etcd.ClientUrl);
        return new EtcdClient(options);
    }
}
