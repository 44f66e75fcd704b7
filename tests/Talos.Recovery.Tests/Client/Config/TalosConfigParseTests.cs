using System.Text;
using Talos.Recovery.Client;

namespace Talos.Recovery.Tests.Client.Config;

public class TalosConfigParseTests
{
    [Test]
    public void Parses_a_talosconfig_shaped_exactly_as_talosctl_writes_it()
    {
        TestIdentity identity = TalosTestPki.Ed25519;
        string yaml = TalosConfigText.Single("mycluster", identity, ["10.5.0.2", "10.5.0.3"], ["10.5.0.2"]);

        TalosConfig config = TalosConfig.Parse(yaml);
        TalosContext context = config.GetContext();

        Assert.Multiple(() =>
        {
            Assert.That(config.CurrentContextName, Is.EqualTo("mycluster"));
            Assert.That(config.ContextNames, Is.EqualTo(new[] { "mycluster" }));
            Assert.That(config.SourcePath, Is.Null);
            Assert.That(context.Name, Is.EqualTo("mycluster"));
            Assert.That(context.Endpoints.Select(e => e.ToString()), Is.EqualTo(new[] { "10.5.0.2:50000", "10.5.0.3:50000" }));
            Assert.That(context.Nodes, Is.EqualTo(new[] { "10.5.0.2" }));
            Assert.That(context.CertificateAuthorityPem.ToArray(), Is.EqualTo(identity.CaPem));
            Assert.That(context.CertificateAuthorities, Has.Count.EqualTo(1));
            Assert.That(context.CertificateAuthorities[0].Subject, Is.EqualTo("O=talos"));
            Assert.That(context.ClientIdentity, Is.Not.Null);
            Assert.That(context.ClientIdentity!.KeyType, Is.EqualTo(TalosKeyType.Ed25519));
            Assert.That(context.ClientIdentity.CertificatePem.ToArray(), Is.EqualTo(identity.CertificatePem));
            Assert.That(context.ClientIdentity.PrivateKeyPem.ToArray(), Is.EqualTo(identity.KeyPem));
            Assert.That(context.ClientIdentity.Roles, Is.EqualTo(new[] { "os:admin" }));
            Assert.That(context.BasicAuth, Is.Null);
            Assert.That(context.Cluster, Is.Null);
            Assert.That(context.ProxyUrl, Is.Null);
        });
    }

    [Test]
    public void Parses_what_go_yaml_v3_writes_for_quoted_and_odd_strings()
    {
        // Output of yaml.v3 Marshal (the library talosctl writes talosconfig with) for a config with odd strings.
        const string Yaml = """
            context: 'ctx: with colon'
            contexts:
                bare:
                    endpoints:
                        - cp1
                'ctx: with colon':
                    endpoints:
                        - 127.0.0.1:50001
                        - '[::1]:50002'
                    nodes:
                        - "true"
                        - '- n'
                        - "010"
                    auth:
                        basic:
                            username: "~"
                            password: '#: [x] ''y'' "z" ünï'
                    cluster: "null"
                    proxy-url: http://p:3128

            """;

        TalosConfig config = TalosConfig.Parse(Yaml);
        TalosContext context = config.GetContext();

        Assert.Multiple(() =>
        {
            Assert.That(config.ContextNames, Is.EqualTo(new[] { "bare", "ctx: with colon" }));
            Assert.That(context.Name, Is.EqualTo("ctx: with colon"));
            Assert.That(context.Endpoints.Select(e => e.ToString()), Is.EqualTo(new[] { "127.0.0.1:50001", "[::1]:50002" }));
            Assert.That(context.Nodes, Is.EqualTo(new[] { "true", "- n", "010" }));
            Assert.That(context.BasicAuth!.Username, Is.EqualTo("~"));
            Assert.That(context.BasicAuth.Password, Is.EqualTo("#: [x] 'y' \"z\" ünï"));
            Assert.That(context.Cluster, Is.EqualTo("null"));
            Assert.That(context.ProxyUrl, Is.EqualTo(new Uri("http://p:3128")));
        });
    }

    [Test]
    public void Parses_hand_written_yaml_flow_lists_quotes_comments_and_two_space_indent()
    {
        TestIdentity identity = TalosTestPki.Ecdsa;
        string yaml = $"""
            # my clusters
            context: "prod"   # current
            contexts:
              prod:
                endpoints: ['10.0.0.1:50000', "cp2.example.com", https://omni.example.com]
                nodes: [10.0.0.1, 10.0.0.2]
                ca: {TalosConfigText.Base64(identity.CaPem)}
                crt: "{TalosConfigText.Base64(identity.CertificatePem)}"
                key: >-
                  {TalosConfigText.Base64(identity.KeyPem)}
                cluster: prod-cluster
                proxy-url: http://proxy.internal:3128
                auth:
                  basic:
                    username: admin
                    password: "s3cret: with colon"
                  siderov1:
                    identity: ops@example.com
                future-field: {"{"}ignored: true{"}"}
            unknown-top-level: 1
            """;

        TalosContext context = TalosConfig.Parse(yaml).GetContext();

        Assert.Multiple(() =>
        {
            Assert.That(context.Endpoints.Select(e => e.ToString()), Is.EqualTo(new[] { "10.0.0.1:50000", "cp2.example.com:50000", "omni.example.com:443" }));
            Assert.That(context.Nodes, Is.EqualTo(new[] { "10.0.0.1", "10.0.0.2" }));
            Assert.That(context.ClientIdentity!.KeyType, Is.EqualTo(TalosKeyType.Ecdsa));
            Assert.That(context.Cluster, Is.EqualTo("prod-cluster"));
            Assert.That(context.ProxyUrl, Is.EqualTo(new Uri("http://proxy.internal:3128")));
            Assert.That(context.BasicAuth!.Username, Is.EqualTo("admin"));
            Assert.That(context.BasicAuth.Password, Is.EqualTo("s3cret: with colon"));
            Assert.That(context.BasicAuth.ToString(), Does.Not.Contain("s3cret"));
            Assert.That(context.SideroV1Identity, Is.EqualTo("ops@example.com"));
        });
    }

    [Test]
    public void Deprecated_target_is_folded_into_the_endpoints_after_them()
    {
        const string Yaml = "context: old\ncontexts:\n  old:\n    target: 10.5.0.9\n    endpoints: [10.5.0.2]\n";

        TalosContext context = TalosConfig.Parse(Yaml).GetContext();

        Assert.That(context.Endpoints.Select(e => e.ToString()), Is.EqualTo(new[] { "10.5.0.2:50000", "10.5.0.9:50000" }));
    }

    [Test]
    public void Target_alone_is_enough_for_an_endpoint()
    {
        TalosContext context = TalosConfig.Parse("context: old\ncontexts:\n  old:\n    target: cp1\n").GetContext();

        Assert.That(context.Endpoints.Single().ToString(), Is.EqualTo("cp1:50000"));
    }

    [Test]
    public void A_context_without_credentials_has_no_identity_and_no_ca()
    {
        TalosContext context = TalosConfig.Parse("context: a\ncontexts:\n  a:\n    endpoints: [cp1]\n    ca: ''\n    crt: ~\n").GetContext();

        Assert.Multiple(() =>
        {
            Assert.That(context.ClientIdentity, Is.Null);
            Assert.That(context.CertificateAuthorityPem.IsEmpty, Is.True);
            Assert.That(context.CertificateAuthorities, Is.Empty);
        });
    }

    [TestCase("")]
    [TestCase("\n# only a comment\n")]
    [TestCase("---\n")]
    [TestCase("~\n")]
    [TestCase("context: \"\"\ncontexts: {}\n")]
    [TestCase("context:\ncontexts:\n")]
    public void An_empty_config_parses_and_GetContext_says_talos_config_file_is_empty(string yaml)
    {
        TalosConfig config = TalosConfig.Parse(yaml, "/tmp/cfg");

        Assert.That(config.ContextNames, Is.Empty);
        Assert.That(config.CurrentContextName, Is.Null);
        var error = Assert.Throws<TalosConfigException>(() => config.GetContext())!;
        Assert.That(error.Message, Does.StartWith("talosconfig '/tmp/cfg': contexts: talos config file is empty"));
        Assert.That(error.Path, Is.EqualTo("/tmp/cfg"));
    }

    [Test]
    public void Only_the_first_yaml_document_is_read_like_yaml_v3_Decode()
    {
        TalosConfig config = TalosConfig.Parse("context: a\ncontexts:\n  a:\n    endpoints: [cp1]\n---\ncontext: b\n: [broken\n");

        Assert.That(config.CurrentContextName, Is.EqualTo("a"));
    }

    [Test]
    public void Anchors_aliases_and_merge_keys_are_resolved()
    {
        const string Yaml = """
            context: b
            contexts:
              a: &base
                endpoints: &eps [cp1, cp2]
                nodes: [n1]
                cluster: base
              b:
                <<: *base
                cluster: override
                nodes: *eps
            """;

        TalosConfig config = TalosConfig.Parse(Yaml);
        TalosContext b = config.GetContext("b");

        Assert.Multiple(() =>
        {
            Assert.That(b.Endpoints.Select(e => e.Host), Is.EqualTo(new[] { "cp1", "cp2" }));
            Assert.That(b.Nodes, Is.EqualTo(new[] { "cp1", "cp2" }));
            Assert.That(b.Cluster, Is.EqualTo("override"));
            Assert.That(config.GetContext("a").Cluster, Is.EqualTo("base"));
        });
    }

    [Test]
    public void Scalars_of_other_yaml_types_are_read_as_their_text()
    {
        TalosContext context = TalosConfig.Parse("context: 1\ncontexts:\n  1:\n    endpoints: [cp1]\n    nodes: [10, true]\n    cluster: 2024\n").GetContext();

        Assert.Multiple(() =>
        {
            Assert.That(context.Name, Is.EqualTo("1"));
            Assert.That(context.Nodes, Is.EqualTo(new[] { "10", "true" }));
            Assert.That(context.Cluster, Is.EqualTo("2024"));
        });
    }

    [TestCase("context: [a]\n", "context", "expected a string, found a list (line 1)")]
    [TestCase("contexts: [a]\n", "contexts", "expected a mapping of context names to contexts, found a list (line 1)")]
    [TestCase("contexts:\n  a: [x]\n", "contexts.a", "expected a mapping (endpoints, nodes, ca, crt, key, …), found a list (line 2)")]
    [TestCase("contexts:\n  a:\n    endpoints: cp1\n", "contexts.a.endpoints", "expected a list of strings, found a string (line 3)")]
    [TestCase("contexts:\n  a:\n    endpoints: {cp1: 1}\n", "contexts.a.endpoints", "expected a list of strings, found a mapping (line 3)")]
    [TestCase("contexts:\n  a:\n    endpoints:\n      - [cp1]\n", "contexts.a.endpoints[0]", "expected a string, found a list (line 4)")]
    [TestCase("contexts:\n  a:\n    nodes: {}\n", "contexts.a.nodes", "expected a list of strings, found a mapping (line 3)")]
    [TestCase("contexts:\n  a:\n    key: [x]\n", "contexts.a.key", "expected a string, found a list (line 3)")]
    [TestCase("contexts:\n  a:\n    auth: basic\n", "contexts.a.auth", "expected a mapping, found a string (line 3)")]
    [TestCase("contexts:\n  a:\n    auth:\n      basic:\n        password: [x]\n", "contexts.a.auth.basic.password", "expected a string, found a list (line 5)")]
    [TestCase("contexts:\n  '':\n    endpoints: [cp1]\n", "contexts", "a context has an empty name")]
    public void Wrong_shapes_are_refused_naming_field_and_line(string yaml, string field, string problem)
    {
        var error = Assert.Throws<TalosConfigException>(() => TalosConfig.Parse(yaml, "/etc/talos/cfg"))!;

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.StartWith($"talosconfig '/etc/talos/cfg': {field}: {problem}"));
            Assert.That(error.Field, Is.EqualTo(field));
            Assert.That(error.Path, Is.EqualTo("/etc/talos/cfg"));
        });
    }

    [Test]
    public void A_shape_error_inside_a_context_names_the_context()
    {
        var error = Assert.Throws<TalosConfigException>(() => TalosConfig.Parse("contexts:\n  prod.eu:\n    nodes: x\n"))!;

        Assert.That(error.ContextName, Is.EqualTo("prod.eu"));
        Assert.That(error.Field, Is.EqualTo("contexts.prod.eu.nodes"));
    }

    [TestCase("context: a\ncontext: b\n", "line 2, column 1: duplicate key 'context'")]
    [TestCase("contexts:\n  a: {}\n  a: {}\n", "line 3, column 3: duplicate key 'a'")]
    [TestCase("context: [a\n", "line 2, column 1: invalid YAML")]
    [TestCase("contexts:\n  a:\n    endpoints: *nowhere\n", "line 3, column 16: alias *nowhere refers to no anchor")]
    [TestCase("a: &x [*x]\n", "alias *x refers to no anchor")]
    [TestCase("contexts:\n  a:\n    <<: 5\n", "a '<<' merge key must refer to a mapping")]
    [TestCase("? [a]\n: b\n", "a mapping key is a list")]
    public void Invalid_yaml_is_refused_with_line_and_column(string yaml, string fragment)
    {
        var error = Assert.Throws<TalosConfigException>(() => TalosConfig.Parse(yaml))!;

        Assert.That(error.Message, Does.StartWith("talosconfig: ").And.Contain(fragment));
    }

    [Test]
    public void A_document_that_is_not_a_mapping_is_refused()
    {
        var error = Assert.Throws<TalosConfigException>(() => TalosConfig.Parse("- a\n- b\n"))!;

        Assert.That(error.Message, Does.Contain("the document is a list, expected a mapping with 'context' and 'contexts'"));
    }

    [TestCase(40)]
    [TestCase(200_000)]
    public void Deep_nesting_is_refused_without_exhausting_the_stack(int depth)
    {
        string yaml = "context: a\nextra: " + new string('[', depth) + new string(']', depth) + "\n";

        var error = Assert.Throws<TalosConfigException>(() => TalosConfig.Parse(yaml))!;

        Assert.That(error.Message, Does.Contain("nesting deeper than 32 levels"));
    }

    [Test]
    public void Many_aliases_to_one_node_are_not_expanded()
    {
        // A "billion laughs" document: every level refers nine times to the previous one.
        var yaml = new StringBuilder("context: a\nl0: &l0 [x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 20; i++)
        {
            yaml.Append($"l{i}: &l{i} [*l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}]\n");
        }

        TalosConfig config = TalosConfig.Parse(yaml.ToString());

        Assert.That(config.CurrentContextName, Is.EqualTo("a"));
    }

    [Test]
    public void Parse_of_null_throws_ArgumentNullException() =>
        Assert.Throws<ArgumentNullException>(() => TalosConfig.Parse(null!));
}
