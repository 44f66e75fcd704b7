using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Talos.Recovery.Client.Transport;
using Talos.Recovery.Testing.Certificates;
using Talos.Recovery.Testing.Tls;
using Talos.Recovery.Tests.Client.Transport;

namespace Talos.Recovery.Tests.Tls;

/// <summary>
/// The server side on its own terms: apid's TLS rules as seen by a stock .NET client (SslStream), the identity handed
/// to the application, and what the server logs.
/// </summary>
[TestFixture]
public sealed class TalosTlsMiddlewareTests
{
    [SetUp]
    public void ClearLogs() => TestLogs.Clear();

    [TearDown]
    public void PrintLogs() => TestLogs.PrintIfFailed();

    [Test]
    public async Task TLS12_falls_back_to_apids_only_suite_with_ALPN_h2()
    {
        var ca = TalosCertificateAuthority.Create(TalosKeyAlgorithm.EcdsaP256);
        await using TlsTestServer server = await TlsTestServer.StartTalosTlsAsync(TalosTlsServerOptions.Create(ca.IssueServerCertificate("127.0.0.1"), ca));

        await using SslStream tls = await ConnectAsync(server.Port, ca.IssueClientCertificate("os:admin"), SslProtocols.Tls12, SslApplicationProtocol.Http2);

        Assert.Multiple(() =>
        {
            Assert.That(tls.SslProtocol, Is.EqualTo(SslProtocols.Tls12));
            Assert.That(tls.NegotiatedCipherSuite, Is.EqualTo(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384));
            Assert.That(tls.NegotiatedApplicationProtocol, Is.EqualTo(SslApplicationProtocol.Http2));
        });
    }

    [Test]
    public async Task A_client_offering_only_http11_is_refused()
    {
        var ca = TalosCertificateAuthority.Create(TalosKeyAlgorithm.EcdsaP256);
        await using TlsTestServer server = await TlsTestServer.StartTalosTlsAsync(TalosTlsServerOptions.Create(ca.IssueServerCertificate("127.0.0.1"), ca));

        Exception? error = null;
        try
        {
            await using SslStream tls = await ConnectAsync(server.Port, ca.IssueClientCertificate("os:admin"), SslProtocols.Tls13, SslApplicationProtocol.Http11);
            _ = await tls.ReadAsync(new byte[1]);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            error = ex;
        }

        Assert.That(OpenSslAlert.Find(error) ?? (Talos.Recovery.Client.TlsAlert?)null, Is.EqualTo(Talos.Recovery.Client.TlsAlert.NoApplicationProtocol), () => error?.ToString() ?? "no error");
    }

    [Test]
    public async Task Clients_of_every_accepted_CA_get_in_and_the_server_logs_who_was_refused()
    {
        var osCa = TalosCertificateAuthority.Create();
        var acceptedCa = TalosCertificateAuthority.Create();
        var strangerCa = TalosCertificateAuthority.Create();
        await using TlsTestServer server = await TlsTestServer.StartTalosTlsAsync(TalosTlsServerOptions.Create(osCa.IssueServerCertificate("127.0.0.1"), osCa, acceptedCa));
        using TalosTlsTransport accepted = TlsClientKit.Transport(osCa, acceptedCa.IssueClientCertificate("os:operator"));
        using TalosTlsTransport stranger = TlsClientKit.Transport(osCa, strangerCa.IssueClientCertificate("os:admin"));

        string who = await TlsClientKit.GetAsync(accepted, "127.0.0.1", server.Port);
        await TlsClientKit.RefusedAsync(() => TlsClientKit.GetAsync(stranger, "127.0.0.1", server.Port));

        Assert.Multiple(() =>
        {
            Assert.That(TlsTestServer.ParseWhoAmI(who)["roles"], Is.EqualTo("os:operator"));
            Assert.That(TestLogs.Factory.MessagesOf(9100).Single(), Does.Contain("unknown_ca").And.Contain("O=os:admin"));
        });
    }

    [Test]
    public void Invalid_server_material_is_refused_when_the_endpoint_is_configured()
    {
        var ca = TalosCertificateAuthority.Create();
        TalosCertificate server = ca.IssueServerCertificate("127.0.0.1");

        Assert.That(
            () => TlsTestServer.StartTalosTlsAsync(new TalosTlsServerOptions { CertificatePem = server.CertificatePem, KeyPem = server.KeyPem }),
            Throws.InstanceOf<ArgumentException>().With.Message.Contains("ClientCaPem"));
    }

    private static async Task<SslStream> ConnectAsync(int port, TalosCertificate client, SslProtocols protocols, SslApplicationProtocol alpn)
    {
        using X509Certificate2 ephemeral = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(client.CertificatePem.Span), Encoding.ASCII.GetString(client.KeyPem.Span));
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            EnabledSslProtocols = protocols,
            ApplicationProtocols = [alpn],
            ClientCertificates = [X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null)],
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        return tls;
    }
}
