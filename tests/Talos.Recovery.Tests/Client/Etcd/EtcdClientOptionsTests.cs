using Talos.Recovery.Client.Etcd;

namespace Talos.Recovery.Tests.Client.Etcd;

/// <summary>Endpoint parsing and option validation (no etcd needed).</summary>
public class EtcdClientOptionsTests
{
    [Test]
    public void Comma_separated_endpoints_are_split_trimmed_and_deduplicated()
    {
        using var client = new EtcdClient(" http://10.0.0.1:2379 , https://10.0.0.2:12379,,http://10.0.0.1:2379");
        Assert.That(client.Endpoints, Is.EqualTo(new[] { new Uri("http://10.0.0.1:2379"), new Uri("https://10.0.0.2:12379") }));
    }

    [Test]
    public void A_bare_host_and_port_means_http_without_TLS_settings()
    {
        using var client = new EtcdClient("127.0.0.1:2379");
        Assert.That(client.Endpoints.Single(), Is.EqualTo(new Uri("http://127.0.0.1:2379")));
    }

    [Test]
    public void A_missing_port_means_2379_but_an_explicit_default_port_is_kept()
    {
        var options = new EtcdClientOptions();
        options.Endpoints.Add("etcd-a");
        options.Endpoints.Add("http://etcd-b");
        options.Endpoints.Add("https://etcd-c:443");
        options.Endpoints.Add("http://[::1]");
        using var client = new EtcdClient(options);
        Assert.That(client.Endpoints, Is.EqualTo(new[]
        {
            new Uri("http://etcd-a:2379"), new Uri("http://etcd-b:2379"), new Uri("https://etcd-c:443"), new Uri("http://[::1]:2379"),
        }));
    }

    [TestCase("")]
    [TestCase(" , ")]
    [TestCase("ftp://10.0.0.1:2379")]
    [TestCase("http://10.0.0.1:2379/v3")]
    [TestCase("http://user@10.0.0.1:2379")]
    [TestCase("http://10.0.0.1:2379?x=1")]
    [TestCase("not a host:12")]
    public void Invalid_endpoints_are_argument_errors(string endpoints)
    {
        Assert.Throws<ArgumentException>(() => new EtcdClient(endpoints).Dispose());
    }

    [Test]
    public void Conflicting_and_incomplete_settings_are_argument_errors()
    {
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentException>(() => Create(o => { o.CaCertificateFile = "a.pem"; o.CaCertificates = []; }));
            Assert.Throws<ArgumentException>(() => Create(o => o.ClientKeyFile = "key.pem"));
            Assert.Throws<ArgumentException>(() => Create(o => o.Password = "pw"));
            Assert.Throws<ArgumentException>(() => Create(o => o.Username = ""));
            Assert.Throws<ArgumentException>(() => Create(o => o.TlsServerName = "not a name"));
            Assert.Throws<ArgumentOutOfRangeException>(() => Create(o => o.ConnectTimeout = TimeSpan.Zero));
            Assert.Throws<ArgumentOutOfRangeException>(() => Create(o => o.CallTimeout = TimeSpan.FromSeconds(-1)));
        });
    }

    [Test]
    public void Unreadable_certificate_files_throw_EtcdConfigurationException_naming_the_file()
    {
        string missing = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".pem");
        var ca = Assert.Throws<EtcdConfigurationException>(() => Create(o => o.CaCertificateFile = missing));
        var client = Assert.Throws<EtcdConfigurationException>(() => Create(o => o.ClientCertificateFile = missing));
        Assert.Multiple(() =>
        {
            Assert.That(ca!.Path, Is.EqualTo(missing));
            Assert.That(ca.Message, Does.Contain(missing));
            Assert.That(client!.Path, Is.EqualTo(missing));
        });
    }

    [Test]
    public void A_file_without_certificates_is_a_configuration_error()
    {
        string empty = Path.GetTempFileName();
        try
        {
            File.WriteAllText(empty, "no PEM here\n");
            var ex = Assert.Throws<EtcdConfigurationException>(() => Create(o => o.CaCertificateFile = empty));
            Assert.That(ex!.Message, Does.Contain("no PEM certificate"));
        }
        finally
        {
            File.Delete(empty);
        }
    }

    [Test]
    public void Defaults_are_documented_values()
    {
        var options = new EtcdClientOptions();
        Assert.Multiple(() =>
        {
            Assert.That(options.ConnectTimeout, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(options.CallTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(options.Endpoints, Is.Empty);
            Assert.That(options.LoggerFactory, Is.SameAs(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance));
        });
    }

    [Test]
    public async Task A_mock_can_override_every_call()
    {
        var fake = new FakeEtcdClient();
        Assert.That((await fake.StatusAsync()).Version, Is.EqualTo("fake"));
        Assert.ThrowsAsync<InvalidOperationException>(() => fake.MemberListAsync(), "not overridden");
    }

    private static void Create(Action<EtcdClientOptions> configure)
    {
        var options = new EtcdClientOptions();
        options.Endpoints.Add("127.0.0.1:2379");
        configure(options);
        new EtcdClient(options).Dispose();
    }

    private sealed class FakeEtcdClient : EtcdClient
    {
        public override Task<EtcdStatus> StatusAsync(CancellationToken cancellationToken = default)
            => Task.FromResult(new EtcdStatus(new Uri("http://fake:2379"), "fake", 0, 0, 0, 0, 0, 0, [], false, 1, 2, 3));
    }
}
