using System.Text;
using Talos.Recovery.Client;

namespace Talos.Recovery.Tests.Client.Config;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class TalosConfigSaveTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Directory.CreateTempSubdirectory("talos-recovery-talosconfig-save-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    private static TalosContextOptions Options(TestIdentity identity, params string[] endpoints)
    {
        var options = new TalosContextOptions
        {
            CertificateAuthorityPem = identity.CaPem,
            ClientCertificatePem = identity.CertificatePem,
            ClientKeyPem = identity.KeyPem,
        };
        foreach (string endpoint in endpoints.Length == 0 ? ["127.0.0.1:50001"] : endpoints)
        {
            options.Endpoints.Add(endpoint);
        }

        return options;
    }

    [Test]
    public void ToYaml_writes_the_exact_shape_talosctl_writes()
    {
        TestIdentity identity = TalosTestPki.Ed25519;
        TalosContextOptions options = Options(identity, "127.0.0.1:50001", "[::1]:50002");
        options.Nodes.Add("10.5.0.2");

        string yaml = TalosConfig.Create("lab", options).ToYaml();

        string b64(byte[] data) => Convert.ToBase64String(data);
        Assert.That(yaml, Is.EqualTo(
            "context: lab\n" +
            "contexts:\n" +
            "    lab:\n" +
            "        endpoints:\n" +
            "            - 127.0.0.1:50001\n" +
            "            - '[::1]:50002'\n" +
            "        nodes:\n" +
            "            - 10.5.0.2\n" +
            $"        ca: {b64(identity.CaPem)}\n" +
            $"        crt: {b64(identity.CertificatePem)}\n" +
            $"        key: {b64(identity.KeyPem)}\n"));
    }

    [TestCase(TalosKeyType.Ed25519)]
    [TestCase(TalosKeyType.Ecdsa)]
    [TestCase(TalosKeyType.Rsa)]
    public void Save_then_Load_gives_back_the_same_context(TalosKeyType type)
    {
        TestIdentity identity = TalosTestPki.Get(type);
        TalosContextOptions options = Options(identity, "cp1.lab", "https://omni.example.com");
        options.Nodes.Add("10.5.0.2");
        options.Nodes.Add("10.5.0.3");
        options.Cluster = "lab-cluster";
        options.ProxyUrl = new Uri("socks5://proxy.lab:1080");
        options.BasicAuth = new TalosBasicAuth("admin", "pw");
        string path = Path.Combine(_directory, "config");

        TalosConfig.Create("lab", options).Save(path);
        TalosContext context = TalosConfig.Load(path).GetContext();

        Assert.Multiple(() =>
        {
            Assert.That(context.Name, Is.EqualTo("lab"));
            Assert.That(context.Endpoints.Select(e => e.OriginalString), Is.EqualTo(new[] { "cp1.lab", "https://omni.example.com" }));
            Assert.That(context.Nodes, Is.EqualTo(new[] { "10.5.0.2", "10.5.0.3" }));
            Assert.That(context.CertificateAuthorityPem.ToArray(), Is.EqualTo(identity.CaPem));
            Assert.That(context.ClientIdentity!.CertificatePem.ToArray(), Is.EqualTo(identity.CertificatePem));
            Assert.That(context.ClientIdentity.PrivateKeyPem.ToArray(), Is.EqualTo(identity.KeyPem));
            Assert.That(context.ClientIdentity.KeyType, Is.EqualTo(type));
            Assert.That(context.Cluster, Is.EqualTo("lab-cluster"));
            Assert.That(context.ProxyUrl, Is.EqualTo(new Uri("socks5://proxy.lab:1080")));
            Assert.That(context.BasicAuth!.Username, Is.EqualTo("admin"));
            Assert.That(context.BasicAuth.Password, Is.EqualTo("pw"));
        });
    }

    [Test]
    public void Save_writes_an_owner_only_file_even_over_a_world_readable_one_and_leaves_no_temporary_file()
    {
        string path = Path.Combine(_directory, "config");
        File.WriteAllText(path, "old");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        TalosConfig.Create("lab", Options(TalosTestPki.Ecdsa)).Save(path);

        Assert.Multiple(() =>
        {
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            Assert.That(Directory.GetFiles(_directory), Is.EqualTo(new[] { path }));
            Assert.That(File.ReadAllText(path), Does.StartWith("context: lab\n"));
        });
    }

    [Test]
    public void Save_creates_a_missing_parent_directory_owner_only()
    {
        string path = Path.Combine(_directory, "home", ".talos", "config");

        TalosConfig.Create("lab", Options(TalosTestPki.Ecdsa)).Save(path);

        Assert.That(File.Exists(path), Is.True);
        Assert.That(File.GetUnixFileMode(Path.GetDirectoryName(path)!), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
    }

    [Test]
    public void Save_through_a_symbolic_link_replaces_the_target_and_keeps_the_link()
    {
        string target = Path.Combine(_directory, "dotfiles", "talosconfig");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.WriteAllText(target, "old");
        string link = Path.Combine(_directory, "config");
        File.CreateSymbolicLink(link, target);

        TalosConfig.Create("lab", Options(TalosTestPki.Ecdsa)).Save(link);

        Assert.That(new FileInfo(link).LinkTarget, Is.EqualTo(target));
        Assert.That(File.ReadAllText(target), Does.StartWith("context: lab\n"));
    }

    [Test]
    public void Save_to_an_impossible_path_is_a_config_error_with_the_io_cause()
    {
        string file = Path.Combine(_directory, "a-file");
        File.WriteAllText(file, "x");
        string path = Path.Combine(file, "config");

        var error = Assert.Throws<TalosConfigException>(() => TalosConfig.Create("lab", Options(TalosTestPki.Ecdsa)).Save(path))!;

        Assert.That(error.Message, Does.StartWith($"talosconfig '{path}' cannot be written: "));
        Assert.That(error.InnerException, Is.InstanceOf<IOException>());
    }

    [Test]
    public void Saving_a_loaded_config_keeps_every_context_including_broken_and_deprecated_ones()
    {
        TestIdentity identity = TalosTestPki.Ed25519;
        string yaml = "context: prod\ncontexts:\n" + TalosConfigText.Context("prod", identity, ["10.0.0.1"], ["10.0.0.2"]) +
            "    broken:\n        endpoints:\n            - cp1\n        crt: '!!!'\n        key: '!!!'\n" +
            "    old:\n        target: 10.9.9.9\n        auth:\n            siderov1:\n                identity: ops@example.com\n";
        string path = Path.Combine(_directory, "config");
        TalosConfig.Parse(yaml).Save(path);

        TalosConfig reloaded = TalosConfig.Load(path);

        Assert.Multiple(() =>
        {
            Assert.That(reloaded.ContextNames, Is.EqualTo(new[] { "broken", "old", "prod" }));
            Assert.That(reloaded.CurrentContextName, Is.EqualTo("prod"));
            Assert.That(reloaded.GetContext().ClientIdentity!.PrivateKeyPem.ToArray(), Is.EqualTo(identity.KeyPem));
            Assert.That(reloaded.GetContext("old").Endpoints.Single().Host, Is.EqualTo("10.9.9.9"));
            Assert.That(reloaded.GetContext("old").SideroV1Identity, Is.EqualTo("ops@example.com"));
            Assert.Throws<TalosConfigException>(() => reloaded.GetContext("broken"));
        });
    }

    [Test]
    public void Strings_that_yaml_would_read_as_something_else_survive_a_round_trip()
    {
        var options = new TalosContextOptions
        {
            Cluster = "null",
            BasicAuth = new TalosBasicAuth("~", "#: [x] 'y' \"z\" ünï"),
            Endpoints = { "cp1" },
            Nodes = { "true", "- n", "010" },
        };

        TalosConfig config = TalosConfig.Parse(TalosConfig.Create("ctx: with colon", options).ToYaml());
        TalosContext context = config.GetContext();

        Assert.Multiple(() =>
        {
            Assert.That(config.CurrentContextName, Is.EqualTo("ctx: with colon"));
            Assert.That(context.Cluster, Is.EqualTo("null"));
            Assert.That(context.BasicAuth!.Username, Is.EqualTo("~"));
            Assert.That(context.BasicAuth.Password, Is.EqualTo("#: [x] 'y' \"z\" ünï"));
            Assert.That(context.Nodes, Is.EqualTo(new[] { "true", "- n", "010" }));
        });
    }

    [Test]
    public void Strings_that_would_read_as_other_types_are_double_quoted_as_yaml_v3_does()
    {
        var options = new TalosContextOptions { Endpoints = { "cp1" }, Nodes = { "true", "yes", "010", "1:20", "0x1F", "1.5", ".inf", "2024-01-01", "~", "10.5.0.2", "cp-1" } };

        string yaml = TalosConfig.Create("c", options).ToYaml();

        Assert.That(yaml, Does.Contain(
            "        nodes:\n" +
            "            - \"true\"\n            - \"yes\"\n            - \"010\"\n            - \"1:20\"\n            - \"0x1F\"\n" +
            "            - \"1.5\"\n            - \".inf\"\n            - \"2024-01-01\"\n            - \"~\"\n" +
            "            - 10.5.0.2\n            - cp-1\n"));
    }

    [Test]
    public void A_context_without_credentials_is_written_without_ca_crt_key()
    {
        string yaml = TalosConfig.Create("bare", new TalosContextOptions { Endpoints = { "cp1" } }).ToYaml();

        Assert.That(yaml, Is.EqualTo("context: bare\ncontexts:\n    bare:\n        endpoints:\n            - cp1\n"));
    }

    [Test]
    public void WithContext_adds_or_replaces_a_context_and_leaves_the_original_unchanged()
    {
        TalosConfig first = TalosConfig.Create("a", new TalosContextOptions { Endpoints = { "cp1" } });

        TalosConfig second = first.WithContext("b", new TalosContextOptions { Endpoints = { "cp2" } });
        TalosConfig third = second.WithContext("a", new TalosContextOptions { Endpoints = { "cp3" } }, makeCurrent: false);

        Assert.Multiple(() =>
        {
            Assert.That(first.ContextNames, Is.EqualTo(new[] { "a" }));
            Assert.That(first.GetContext().Endpoints.Single().Host, Is.EqualTo("cp1"));
            Assert.That(second.ContextNames, Is.EqualTo(new[] { "a", "b" }));
            Assert.That(second.CurrentContextName, Is.EqualTo("b"));
            Assert.That(third.ContextNames, Is.EqualTo(new[] { "a", "b" }));
            Assert.That(third.CurrentContextName, Is.EqualTo("b"));
            Assert.That(third.GetContext("a").Endpoints.Single().Host, Is.EqualTo("cp3"));
        });
    }

    [Test]
    public void WithContext_on_a_loaded_config_keeps_its_source_path()
    {
        string path = Path.Combine(_directory, "config");
        TalosConfig.Create("a", new TalosContextOptions { Endpoints = { "cp1" } }).Save(path);

        TalosConfig updated = TalosConfig.Load(path).WithContext("b", new TalosContextOptions { Endpoints = { "cp2" } });

        Assert.That(updated.SourcePath, Is.EqualTo(path));
    }

    [Test]
    public void Create_refuses_options_without_endpoints()
    {
        var error = Assert.Throws<ArgumentException>(() => TalosConfig.Create("lab", new TalosContextOptions()))!;

        Assert.That(error.Message, Does.StartWith("Endpoints is empty; a context needs at least one endpoint."));
        Assert.That(error.ParamName, Is.EqualTo("options"));
    }

    [Test]
    public void Create_refuses_an_invalid_endpoint_naming_it()
    {
        var error = Assert.Throws<ArgumentException>(() => TalosConfig.Create("lab", new TalosContextOptions { Endpoints = { "cp1:0" } }))!;

        Assert.That(error.Message, Does.StartWith("Endpoints: 'cp1:0' is not a Talos endpoint: '0' is not a port number (1-65535)."));
    }

    [Test]
    public void Create_refuses_an_empty_node() =>
        Assert.Throws<ArgumentException>(() => TalosConfig.Create("lab", new TalosContextOptions { Endpoints = { "cp1" }, Nodes = { " " } }));

    [Test]
    public void Create_refuses_a_relative_proxy_url() =>
        Assert.Throws<ArgumentException>(() => TalosConfig.Create("lab", new TalosContextOptions { Endpoints = { "cp1" }, ProxyUrl = new Uri("proxy", UriKind.Relative) }));

    [Test]
    public void Create_refuses_a_certificate_without_key()
    {
        var options = new TalosContextOptions { Endpoints = { "cp1" }, ClientCertificatePem = TalosTestPki.Ecdsa.CertificatePem };

        var error = Assert.Throws<ArgumentException>(() => TalosConfig.Create("lab", options))!;

        Assert.That(error.Message, Does.StartWith("Set both ClientCertificatePem and ClientKeyPem, or neither; only ClientCertificatePem is set."));
    }

    [Test]
    public void Create_refuses_a_key_of_another_certificate_naming_the_properties()
    {
        TalosContextOptions options = Options(TalosTestPki.Ed25519);
        options.ClientKeyPem = TalosTestPki.CreateEd25519(["os:admin"]).KeyPem;

        var error = Assert.Throws<ArgumentException>(() => TalosConfig.Create("lab", options))!;

        Assert.That(error.Message, Does.StartWith("ClientKeyPem: the private key does not belong to the certificate in ClientCertificatePem: "));
    }

    [Test]
    public void Create_refuses_a_ca_that_is_not_pem()
    {
        TalosContextOptions options = Options(TalosTestPki.Ecdsa);
        options.CertificateAuthorityPem = Encoding.ASCII.GetBytes("not pem");

        var error = Assert.Throws<ArgumentException>(() => TalosConfig.Create("lab", options))!;

        Assert.That(error.Message, Does.StartWith("CertificateAuthorityPem: holds text that is not PEM"));
    }

    [Test]
    public void Create_refuses_an_empty_name_or_null_options()
    {
        Assert.Throws<ArgumentException>(() => TalosConfig.Create(string.Empty, new TalosContextOptions { Endpoints = { "cp1" } }));
        Assert.Throws<ArgumentNullException>(() => TalosConfig.Create(null!, new TalosContextOptions { Endpoints = { "cp1" } }));
        Assert.Throws<ArgumentNullException>(() => TalosConfig.Create("lab", null!));
    }

    [Test]
    public void Save_with_an_empty_path_is_an_argument_mistake() =>
        Assert.Throws<ArgumentException>(() => TalosConfig.Create("lab", new TalosContextOptions { Endpoints = { "cp1" } }).Save(string.Empty));
}
