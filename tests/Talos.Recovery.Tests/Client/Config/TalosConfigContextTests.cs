using Talos.Recovery.Client;

namespace Talos.Recovery.Tests.Client.Config;

public class TalosConfigContextTests
{
    private const string Path = "/home/ops/.talos/config";

    private static TalosConfig TwoContexts(string current) =>
        TalosConfig.Parse($"context: {current}\ncontexts:\n  prod:\n    endpoints: [10.0.0.1]\n  lab:\n    endpoints: [127.0.0.1:50001]\n", Path);

    [Test]
    public void GetContext_without_name_returns_the_current_context()
    {
        TalosConfig config = TwoContexts("lab");

        Assert.That(config.GetContext().Name, Is.EqualTo("lab"));
        Assert.That(config.ContextNames, Is.EqualTo(new[] { "prod", "lab" }));
    }

    [Test]
    public void GetContext_with_a_name_returns_that_context_whatever_is_current()
    {
        Assert.That(TwoContexts("lab").GetContext("prod").Endpoints.Single().ToString(), Is.EqualTo("10.0.0.1:50000"));
    }

    [Test]
    public void GetContext_returns_the_same_checked_instance_each_time()
    {
        TalosConfig config = TwoContexts("lab");

        TalosContext first = config.GetContext("prod");

        Assert.That(config.GetContext("prod"), Is.SameAs(first));
    }

    [Test]
    public void A_missing_current_context_is_reported_as_talosctl_words_it_with_the_names_available()
    {
        var error = Assert.Throws<TalosConfigException>(() => TwoContexts("staging").GetContext())!;

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Is.EqualTo(
                $"talosconfig '{Path}': context: default context \"staging\" not found in config; it has \"lab\", \"prod\". Set 'context' to one of them (talosctl config context NAME)."));
            Assert.That(error.Field, Is.EqualTo("context"));
            Assert.That(error.ContextName, Is.EqualTo("staging"));
        });
    }

    [Test]
    public void An_unknown_requested_context_is_reported_with_the_names_available()
    {
        var error = Assert.Throws<TalosConfigException>(() => TwoContexts("lab").GetContext("staging"))!;

        Assert.That(error.Message, Is.EqualTo($"talosconfig '{Path}': context \"staging\" not found in config; it has \"lab\", \"prod\"."));
        Assert.That(error.ContextName, Is.EqualTo("staging"));
    }

    [Test]
    public void No_current_context_and_no_name_is_reported()
    {
        TalosConfig config = TalosConfig.Parse("context: ''\ncontexts:\n  a:\n    endpoints: [cp1]\n");

        var error = Assert.Throws<TalosConfigException>(() => config.GetContext())!;

        Assert.That(error.Message, Is.EqualTo("talosconfig: context: no current context is set ('context' is empty); set it to one of \"a\" or ask for a context by name."));
        Assert.That(config.GetContext("a").Name, Is.EqualTo("a"));
    }

    [TestCase("contexts:\n  a:\n    nodes: [n1]\n")]
    [TestCase("contexts:\n  a:\n    endpoints: []\n")]
    [TestCase("contexts:\n  a:\n")]
    [TestCase("contexts:\n  a: {}\n")]
    public void A_context_without_endpoints_is_refused(string yaml)
    {
        var error = Assert.Throws<TalosConfigException>(() => TalosConfig.Parse("context: a\n" + yaml, Path).GetContext())!;

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Is.EqualTo(
                $"talosconfig '{Path}': contexts.a.endpoints: the context has no endpoints; add the address of at least one control-plane node (talosctl config endpoint ADDRESS)."));
            Assert.That(error.Field, Is.EqualTo("contexts.a.endpoints"));
            Assert.That(error.ContextName, Is.EqualTo("a"));
        });
    }

    [Test]
    public void An_invalid_endpoint_is_refused_naming_its_index_and_value()
    {
        TalosConfig config = TalosConfig.Parse("context: a\ncontexts:\n  a:\n    endpoints: [cp1, 'cp2:99999']\n", Path);

        var error = Assert.Throws<TalosConfigException>(() => config.GetContext())!;

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Is.EqualTo(
                $"talosconfig '{Path}': contexts.a.endpoints[1]: 'cp2:99999' is not a Talos endpoint: '99999' is not a port number (1-65535). Write host, host:port, [IPv6 address]:port or https://host[:port]."));
            Assert.That(error.Field, Is.EqualTo("contexts.a.endpoints[1]"));
            Assert.That(error.InnerException, Is.InstanceOf<FormatException>());
        });
    }

    [Test]
    public void An_invalid_target_is_refused_naming_the_target_field()
    {
        var error = Assert.Throws<TalosConfigException>(() => TalosConfig.Parse("context: a\ncontexts:\n  a:\n    target: 'a b'\n").GetContext())!;

        Assert.That(error.Field, Is.EqualTo("contexts.a.target"));
    }

    [Test]
    public void An_empty_node_is_refused()
    {
        var error = Assert.Throws<TalosConfigException>(() => TalosConfig.Parse("context: a\ncontexts:\n  a:\n    endpoints: [cp1]\n    nodes: [n1, '']\n").GetContext())!;

        Assert.That(error.Message, Does.EndWith("contexts.a.nodes[1]: an empty node; remove it or write a node address."));
    }

    [TestCase("proxy.internal")]
    [TestCase("/var/run/proxy.sock")]
    [TestCase("proxy:3128")]
    public void A_proxy_url_without_scheme_and_host_is_refused(string url)
    {
        TalosConfig config = TalosConfig.Parse($"context: a\ncontexts:\n  a:\n    endpoints: [cp1]\n    proxy-url: {url}\n");

        var error = Assert.Throws<TalosConfigException>(() => config.GetContext())!;

        Assert.That(error.Field, Is.EqualTo("contexts.a.proxy-url"));
        Assert.That(error.Message, Does.EndWith($"contexts.a.proxy-url: '{url}' is not a proxy URL; write scheme://host:port, for example http://proxy:3128."));
    }

    [Test]
    public void A_broken_context_does_not_make_the_others_unusable()
    {
        TalosConfig config = TalosConfig.Parse(
            "context: good\ncontexts:\n  broken:\n    endpoints: [cp1]\n    key: '!!!'\n    crt: '!!!'\n  good:\n    endpoints: [cp2]\n");

        Assert.That(config.GetContext().Name, Is.EqualTo("good"));
        Assert.Throws<TalosConfigException>(() => config.GetContext("broken"));
    }

    [Test]
    public void The_lists_of_a_context_cannot_be_changed_through_a_cast()
    {
        TestIdentity identity = TalosTestPki.Ecdsa;
        TalosConfig config = TalosConfig.Parse(TalosConfigText.Single("c", identity, ["cp1"], ["n1"]));
        TalosContext context = config.GetContext();

        Assert.Multiple(() =>
        {
            Assert.Throws<NotSupportedException>(() => ((IList<string>)context.Nodes)[0] = "x");
            Assert.Throws<NotSupportedException>(() => ((IList<TalosEndpoint>)context.Endpoints)[0] = TalosEndpoint.Parse("evil"));
            Assert.Throws<NotSupportedException>(() => ((IList<TalosCertificateInfo>)context.CertificateAuthorities).Clear());
            Assert.Throws<NotSupportedException>(() => ((IList<string>)context.ClientIdentity!.Roles)[0] = "os:admin");
            Assert.Throws<NotSupportedException>(() => ((IList<string>)config.ContextNames).Clear());
        });
    }

    [Test]
    public void GetContext_with_an_empty_name_is_an_argument_mistake() =>
        Assert.Throws<ArgumentException>(() => TwoContexts("lab").GetContext(string.Empty));

    [Test]
    public void ToString_of_a_context_shows_name_and_endpoints_but_no_key_material()
    {
        TestIdentity identity = TalosTestPki.Ed25519;
        TalosContext context = TalosConfig.Parse(TalosConfigText.Single("c", identity, ["cp1"])).GetContext();

        string text = context + " " + context.ClientIdentity;

        Assert.That(text, Does.StartWith("c (cp1:50000)").And.Contain("Ed25519 client certificate, roles [os:admin]"));
        Assert.That(text, Does.Not.Contain(TalosConfigText.Base64(identity.KeyPem)[..20]));
    }
}
