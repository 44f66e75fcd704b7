using Talos.Recovery.Client;

namespace Talos.Recovery.Tests.Client.Config;

public class TalosEndpointTests
{
    // input, host, port, is IP, host:port text
    private static readonly object[] ValidEndpoints =
    [
        new object[] { "10.5.0.2", "10.5.0.2", 50000, true, "10.5.0.2:50000" },
        new object[] { "10.5.0.2:50001", "10.5.0.2", 50001, true, "10.5.0.2:50001" },
        new object[] { "cp1.example.com", "cp1.example.com", 50000, false, "cp1.example.com:50000" },
        new object[] { "cp1.example.com:443", "cp1.example.com", 443, false, "cp1.example.com:443" },
        new object[] { "localhost", "localhost", 50000, false, "localhost:50000" },
        new object[] { "cp_1.internal.", "cp_1.internal.", 50000, false, "cp_1.internal.:50000" },
        new object[] { "[::1]:50000", "::1", 50000, true, "[::1]:50000" },
        new object[] { "[fd00::2]:50001", "fd00::2", 50001, true, "[fd00::2]:50001" },
        new object[] { "[fd00::2]", "fd00::2", 50000, true, "[fd00::2]:50000" },
        new object[] { "::1", "::1", 50000, true, "[::1]:50000" },
        new object[] { "fd00:10:5::2", "fd00:10:5::2", 50000, true, "[fd00:10:5::2]:50000" },
        new object[] { "fe80::1%eth0", "fe80::1%eth0", 50000, true, "[fe80::1%eth0]:50000" },
        new object[] { "https://omni.example.com", "omni.example.com", 443, false, "omni.example.com:443" },
        new object[] { "HTTPS://omni.example.com", "omni.example.com", 443, false, "omni.example.com:443" },
        new object[] { "https://omni.example.com/", "omni.example.com", 443, false, "omni.example.com:443" },
        new object[] { "https://cp1:50000/", "cp1", 50000, false, "cp1:50000" },
        new object[] { "https://10.5.0.2:8443", "10.5.0.2", 8443, true, "10.5.0.2:8443" },
        new object[] { "grpc://cp1:50002", "cp1", 50002, false, "cp1:50002" },
        new object[] { "tcp://cp1", "cp1", 50000, false, "cp1:50000" },
        new object[] { "http://cp1", "cp1", 50000, false, "cp1:50000" },
        new object[] { "https://[fd00::2]", "fd00::2", 443, true, "[fd00::2]:443" },
        new object[] { "https://[fd00::2]:50000/", "fd00::2", 50000, true, "[fd00::2]:50000" },
        new object[] { "https://user:secret@omni.example.com/path?q=1#f", "omni.example.com", 443, false, "omni.example.com:443" },
        new object[] { "10.5.0.2:1", "10.5.0.2", 1, true, "10.5.0.2:1" },
        new object[] { "10.5.0.2:65535", "10.5.0.2", 65535, true, "10.5.0.2:65535" },
    ];

    // input, a fragment the message must contain (besides the input itself)
    private static readonly object[] InvalidEndpoints =
    [
        new object[] { "", "empty" },
        new object[] { "   ", "empty" },
        new object[] { "cp1 cp2", "white space" },
        new object[] { "cp1:", "port after ':' is missing" },
        new object[] { "cp1:0", "not a port number" },
        new object[] { "cp1:65536", "not a port number" },
        new object[] { "cp1:50000x", "not a port number" },
        new object[] { "cp1:-1", "not a port number" },
        new object[] { ":50000", "host is missing" },
        new object[] { "[::1", "without a closing ']'" },
        new object[] { "[::1]50000", "expected ':port'" },
        new object[] { "[cp1]:50000", "is not an IPv6 address" },
        new object[] { "[10.5.0.2]:50000", "is not an IPv6 address" },
        new object[] { "a:b:c", "not an IPv6 address" },
        new object[] { "10.5.0", "is not an IPv4 address" },
        new object[] { "10.5.0.256", "is not an IPv4 address" },
        new object[] { "010.5.0.2", "is not an IPv4 address" },
        new object[] { "cp1..example", "not a valid host name" },
        new object[] { "-cp1", "not a valid host name" },
        new object[] { "cp!1", "not a valid host name" },
        new object[] { "https://", "host is missing" },
        new object[] { "https://:443", "host is missing" },
        new object[] { "1http://cp1", "is not a URL scheme" },
        new object[] { "://cp1", "is not a URL scheme" },
        new object[] { "https://cp1:https", "not a port number" },
    ];

    [TestCaseSource(nameof(ValidEndpoints))]
    public void Parse_reads_host_port_and_address_kind(string input, string host, int port, bool isIp, string text)
    {
        TalosEndpoint endpoint = TalosEndpoint.Parse(input);

        Assert.Multiple(() =>
        {
            Assert.That(endpoint.Host, Is.EqualTo(host));
            Assert.That(endpoint.Port, Is.EqualTo(port));
            Assert.That(endpoint.IsIpAddress, Is.EqualTo(isIp));
            Assert.That(endpoint.ToString(), Is.EqualTo(text));
            Assert.That(endpoint.OriginalString, Is.EqualTo(input));
        });
    }

    [TestCaseSource(nameof(InvalidEndpoints))]
    public void Parse_refuses_invalid_endpoints_naming_the_value(string input, string reason)
    {
        var error = Assert.Throws<FormatException>(() => TalosEndpoint.Parse(input))!;

        Assert.That(error.Message, Does.Contain($"'{input}' is not a Talos endpoint").And.Contain(reason));
        Assert.That(TalosEndpoint.TryParse(input, out TalosEndpoint? endpoint), Is.False);
        Assert.That(endpoint, Is.Null);
    }

    [Test]
    public void Default_port_is_apid_port() => Assert.That(TalosEndpoint.DefaultPort, Is.EqualTo(50000));

    [Test]
    public void TryParse_of_null_is_false_and_Parse_of_null_throws_ArgumentNullException()
    {
        Assert.That(TalosEndpoint.TryParse(null, out _), Is.False);
        Assert.Throws<ArgumentNullException>(() => TalosEndpoint.Parse(null!));
    }

    [Test]
    public void Equality_ignores_dns_case_and_form_but_not_port()
    {
        Assert.Multiple(() =>
        {
            Assert.That(TalosEndpoint.Parse("CP1.example.com"), Is.EqualTo(TalosEndpoint.Parse("https://cp1.example.com:50000/")));
            Assert.That(TalosEndpoint.Parse("cp1").GetHashCode(), Is.EqualTo(TalosEndpoint.Parse("CP1:50000").GetHashCode()));
            Assert.That(TalosEndpoint.Parse("cp1"), Is.Not.EqualTo(TalosEndpoint.Parse("cp1:50001")));
            Assert.That(TalosEndpoint.Parse("https://cp1"), Is.Not.EqualTo(TalosEndpoint.Parse("cp1")));
        });
    }

    [Test]
    public void ToString_of_a_url_with_credentials_does_not_show_them()
    {
        TalosEndpoint endpoint = TalosEndpoint.Parse("https://user:secret@omni.example.com");

        Assert.That(endpoint.ToString(), Does.Not.Contain("secret"));
    }
}
