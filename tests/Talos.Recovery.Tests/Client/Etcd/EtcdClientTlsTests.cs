using System.Security.Cryptography.X509Certificates;
using Talos.Recovery.Client.Etcd;

namespace Talos.Recovery.Tests.Client.Etcd;

/// <summary>
/// The etcd client against a real etcd serving TLS with client certificate authentication
/// (<c>--cert-file --key-file --trusted-ca-file --client-cert-auth</c>), with a PKI generated at test time.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class EtcdClientTlsTests
{
    private string _directory = null!;
    private TestCertificates _pki = null!;
    private EtcdTestProcess _etcd = null!;

    [OneTimeSetUp]
    public async Task StartEtcdWithTls()
    {
        _directory = Directory.CreateTempSubdirectory("talos-recovery-pki-").FullName;
        _pki = TestCertificates.Create(_directory);
        _etcd = await EtcdTestProcess.StartAsync(new EtcdTestTls(_pki.ServerCertFile, _pki.ServerKeyFile, _pki.CaFile, ClientCertAuth: true));
    }

    [OneTimeTearDown]
    public async Task StopEtcd()
    {
        if (_etcd is not null)
        {
            await _etcd.DisposeAsync();
        }

        _pki?.Dispose();
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public async Task CA_and_client_certificate_PEM_files_work_like_etcdctl()
    {
        using var client = new EtcdClient(Options(o =>
        {
            o.CaCertificateFile = _pki.CaFile;
            o.ClientCertificateFile = _pki.ClientCertFile;
            o.ClientKeyFile = _pki.ClientKeyFile;
        }));

        EtcdStatus status = await client.StatusAsync();
        List<byte[]> chunks = await EtcdClientTests.ReadChunksAsync(client);
        string etcdctl = await _etcd.EtcdctlAsync("--cert=" + _pki.ClientCertFile, "--key=" + _pki.ClientKeyFile, "endpoint", "status", "-w", "json");

        Assert.Multiple(() =>
        {
            Assert.That(status.Endpoint.Scheme, Is.EqualTo("https"));
            Assert.That(etcdctl, Does.Contain($"\"member_id\":{status.MemberId}"));
            Assert.That(chunks[^1], Has.Length.EqualTo(32));
        });
    }

    [Test]
    public async Task CA_and_client_certificate_objects_work()
    {
        using var client = new EtcdClient(Options(o =>
        {
            o.CaCertificates = new X509Certificate2Collection(_pki.Ca);
            o.ClientCertificate = _pki.Client;
        }));

        IReadOnlyList<EtcdMember> members = await client.MemberListAsync();
        Assert.That(members.Single().ClientUrls, Is.EqualTo(new[] { _etcd.ClientUrl }));
    }

    [Test]
    public async Task A_bare_host_and_port_means_https_when_TLS_is_configured()
    {
        using var client = new EtcdClient(Options(
            o =>
            {
                o.CaCertificateFile = _pki.CaFile;
                o.ClientCertificate = _pki.Client;
            },
            endpoint: $"127.0.0.1:{_etcd.ClientPort}"));

        EtcdStatus status = await client.StatusAsync();
        Assert.That(status.Endpoint, Is.EqualTo(new Uri(_etcd.ClientUrl)));
    }

    [Test]
    public void A_server_certificate_from_another_CA_throws_UntrustedServerCertificate()
    {
        using var client = new EtcdClient(Options(o =>
        {
            o.CaCertificateFile = _pki.OtherCaFile;
            o.ClientCertificate = _pki.Client;
        }));

        var ex = Assert.ThrowsAsync<EtcdTlsException>(() => client.StatusAsync());

        TestContext.Out.WriteLine(ex?.Message);
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Failure, Is.EqualTo(EtcdTlsFailure.UntrustedServerCertificate));
            Assert.That(ex.Endpoint, Is.EqualTo(new Uri(_etcd.ClientUrl)));
            Assert.That(ex.Message, Does.Contain("etcd test server").And.Contain("configured CA"));
        });
    }

    [Test]
    public void Without_a_CA_the_system_trust_store_does_not_trust_a_private_CA()
    {
        using var client = new EtcdClient(Options(o => o.ClientCertificate = _pki.Client));
        var ex = Assert.ThrowsAsync<EtcdTlsException>(() => client.StatusAsync());
        TestContext.Out.WriteLine(ex?.Message);
        Assert.That(ex!.Failure, Is.EqualTo(EtcdTlsFailure.UntrustedServerCertificate));
    }

    [Test]
    public void Without_a_client_certificate_throws_ClientCertificateRejected()
    {
        using var client = new EtcdClient(Options(o => o.CaCertificateFile = _pki.CaFile));

        var ex = Assert.ThrowsAsync<EtcdTlsException>(() => client.StatusAsync());

        TestContext.Out.WriteLine(ex?.Message);
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Failure, Is.EqualTo(EtcdTlsFailure.ClientCertificateRejected), ex.ToString());
            Assert.That(ex.Message, Does.Contain("none is configured"));
        });
    }

    [Test]
    public void A_snapshot_without_a_client_certificate_throws_ClientCertificateRejected()
    {
        using var client = new EtcdClient(Options(o => o.CaCertificateFile = _pki.CaFile));
        var ex = Assert.ThrowsAsync<EtcdTlsException>(() => client.WriteSnapshotAsync(Stream.Null));
        TestContext.Out.WriteLine(ex?.Message);
        Assert.That(ex!.Failure, Is.EqualTo(EtcdTlsFailure.ClientCertificateRejected), ex.ToString());
    }

    [Test]
    public void A_client_certificate_from_another_CA_throws_ClientCertificateRejected()
    {
        using var client = new EtcdClient(Options(o =>
        {
            o.CaCertificateFile = _pki.CaFile;
            o.ClientCertificateFile = _pki.ForeignClientCertFile;
            o.ClientKeyFile = _pki.ForeignClientKeyFile;
        }));

        var ex = Assert.ThrowsAsync<EtcdTlsException>(() => client.StatusAsync());

        TestContext.Out.WriteLine(ex?.Message);
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Failure, Is.EqualTo(EtcdTlsFailure.ClientCertificateRejected), ex.ToString());
            Assert.That(ex.Message, Does.Contain("refused the client certificate"));
        });
    }

    [Test]
    public void A_server_name_the_certificate_does_not_carry_throws_ServerNameMismatch()
    {
        using var client = new EtcdClient(Options(o =>
        {
            o.CaCertificateFile = _pki.CaFile;
            o.ClientCertificate = _pki.Client;
            o.TlsServerName = "other.example";
        }));

        var ex = Assert.ThrowsAsync<EtcdTlsException>(() => client.StatusAsync());

        TestContext.Out.WriteLine(ex?.Message);
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Failure, Is.EqualTo(EtcdTlsFailure.ServerNameMismatch));
            Assert.That(ex.Message, Does.Contain("other.example").And.Contain(TestCertificates.ServerDnsName).And.Contain("127.0.0.1"));
        });
    }

    [Test]
    public async Task A_server_name_override_matching_a_DNS_name_of_the_certificate_works()
    {
        using var client = new EtcdClient(Options(o =>
        {
            o.CaCertificateFile = _pki.CaFile;
            o.ClientCertificate = _pki.Client;
            o.TlsServerName = TestCertificates.ServerDnsName;
        }));

        EtcdStatus status = await client.StatusAsync();
        Assert.That(status.Endpoint, Is.EqualTo(new Uri(_etcd.ClientUrl)), "the endpoint, not the server name, is reported");
    }

    [Test]
    public async Task A_TLS_failure_on_the_first_endpoint_fails_over_to_the_second()
    {
        // The first endpoint reaches the same etcd as "localhost", a name its certificate does not carry.
        var logs = new CapturingLoggerFactory();
        using var client = new EtcdClient(Options(
            o =>
            {
                o.CaCertificateFile = _pki.CaFile;
                o.ClientCertificate = _pki.Client;
                o.LoggerFactory = logs;
            },
            endpoint: $"https://localhost:{_etcd.ClientPort},{_etcd.ClientUrl}"));

        EtcdStatus status = await client.StatusAsync();
        Assert.Multiple(() =>
        {
            Assert.That(status.Endpoint, Is.EqualTo(new Uri(_etcd.ClientUrl)));
            Assert.That(logs.MessagesOf(3500).Single(), Does.Contain("localhost").And.Contain("not valid for"));
        });
    }

    private EtcdClientOptions Options(Action<EtcdClientOptions> configure, string? endpoint = null)
    {
        var options = new EtcdClientOptions { ConnectTimeout = TimeSpan.FromSeconds(5) };
        options.Endpoints.Add(endpoint ?? _etcd.ClientUrl);
        configure(options);
        return options;
    }
}
