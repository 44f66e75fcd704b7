using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Talos.Recovery.Client;
using Talos.Recovery.Client.Transport;
using Talos.Recovery.Testing.Certificates;
using Talos.Recovery.Tests.Client.Transport;

namespace Talos.Recovery.Tests.Tls;

/// <summary>
/// The client transport against an independent TLS peer: Go's crypto/tls with apid's settings (the Go apid stand-in),
/// which refuses client certificates the way a real Talos node does.
/// </summary>
[TestFixture]
public sealed class ApidStandInTests
{
    // Go 1.19 (Debian bookworm) answers every client-certificate problem with bad_certificate; newer Go sends the
    // more specific alert. Either is a refusal of the client certificate.
    private static readonly TlsAlert[] MissingCertificateAlerts = [TlsAlert.BadCertificate, TlsAlert.CertificateRequired];
    private static readonly TlsAlert[] UnknownCaAlerts = [TlsAlert.BadCertificate, TlsAlert.UnknownCA];
    private static readonly TlsAlert[] ExpiredAlerts = [TlsAlert.BadCertificate, TlsAlert.CertificateExpired];

    private TalosCertificateAuthority _ca = null!;
    private TalosCertificateAuthority _otherCa = null!;
    private ApidStandIn _apid = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _ca = TalosCertificateAuthority.Create();
        _otherCa = TalosCertificateAuthority.Create();
        _apid = await ApidStandIn.StartAsync(_ca.IssueServerCertificate("127.0.0.1", "localhost"), _ca);
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        if (_apid is not null)
        {
            await _apid.DisposeAsync();
        }
    }

    [SetUp]
    public void ClearLogs() => TestLogs.Clear();

    [TearDown]
    public void PrintLogs()
    {
        TestLogs.PrintIfFailed();
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
        {
            TestContext.Out.WriteLine("apid stand-in stderr: " + _apid?.Errors);
        }
    }

    [Test]
    public async Task Ed25519_handshake_with_Go_crypto_tls_carries_an_HTTP2_request_without_an_IP_in_SNI()
    {
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _ca.IssueClientCertificate("os:admin", "os:etcd:backup"));

        string body = await TlsClientKit.GetAsync(transport, "127.0.0.1", _apid.Port, "/machine.MachineService/Version");

        Assert.That(body.Trim(), Is.EqualTo("proto=HTTP/2.0 tls=TLS1.3 alpn=h2 sni= roles=os:admin,os:etcd:backup path=/machine.MachineService/Version"));
    }

    [Test]
    public async Task A_DNS_endpoint_sends_its_name_in_SNI()
    {
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _ca.IssueClientCertificate("os:reader"));

        string body = await TlsClientKit.GetAsync(transport, "localhost", _apid.Port);

        Assert.That(body, Does.Contain("sni=localhost ").And.Contain("roles=os:reader "));
    }

    [Test]
    public async Task ECDSA_client_over_SslStream_is_accepted_by_Go_and_refused_when_from_another_CA()
    {
        var ca = TalosCertificateAuthority.Create(TalosKeyAlgorithm.EcdsaP256);
        await using ApidStandIn apid = await ApidStandIn.StartAsync(ca.IssueServerCertificate("127.0.0.1"), ca);
        using TalosTlsTransport good = TlsClientKit.Transport(ca, ca.IssueClientCertificate("os:admin"));
        using TalosTlsTransport bad = TlsClientKit.Transport(ca, TalosCertificateAuthority.Create(TalosKeyAlgorithm.EcdsaP256).IssueClientCertificate("os:admin"));
        Assert.That(good.Stack, Is.EqualTo(TlsStack.SslStream));

        string body = await TlsClientKit.GetAsync(good, "127.0.0.1", apid.Port);
        TalosTlsException error = await TlsClientKit.RefusedAsync(() => TlsClientKit.GetAsync(bad, "127.0.0.1", apid.Port));

        Assert.Multiple(() =>
        {
            Assert.That(body, Does.Contain("tls=TLS1.3").And.Contain("roles=os:admin"));
            Assert.That(error.Failure, Is.EqualTo(TalosTlsFailure.ClientCertificateRejected));
            Assert.That(error.Alert, Is.AnyOf(UnknownCaAlerts.Cast<object>().ToArray()));
        });
    }

    [Test]
    public async Task A_client_certificate_from_another_CA_is_refused_with_a_typed_error_naming_the_alert()
    {
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _otherCa.IssueClientCertificate("os:admin"));

        TalosTlsException error = await TlsClientKit.RefusedAsync(() => TlsClientKit.GetAsync(transport, "127.0.0.1", _apid.Port));

        AssertClientRefused(error, UnknownCaAlerts);
    }

    [Test]
    public async Task An_expired_client_certificate_is_refused()
    {
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _ca.IssueClientCertificate(new TalosCertificateOptions
        {
            Organizations = ["os:admin"],
            NotBefore = DateTimeOffset.UtcNow.AddDays(-30),
            NotAfter = DateTimeOffset.UtcNow.AddDays(-1),
        }));

        TalosTlsException error = await TlsClientKit.RefusedAsync(() => TlsClientKit.GetAsync(transport, "127.0.0.1", _apid.Port));

        AssertClientRefused(error, ExpiredAlerts);
    }

    [TestCase(new[] { TalosExtendedKeyUsage.ServerAuth, TalosExtendedKeyUsage.ClientAuth })]
    [TestCase(new[] { TalosExtendedKeyUsage.ClientAuth, TalosExtendedKeyUsage.CodeSigning })]
    public async Task A_client_certificate_whose_extended_key_usage_is_not_exactly_client_auth_is_refused(TalosExtendedKeyUsage[] usages)
    {
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _ca.IssueClientCertificate(new TalosCertificateOptions
        {
            Organizations = ["os:admin"],
            ExtendedKeyUsages = usages,
        }));

        TalosTlsException error = await TlsClientKit.RefusedAsync(() => TlsClientKit.GetAsync(transport, "127.0.0.1", _apid.Port));

        AssertClientRefused(error, [TlsAlert.BadCertificate]);
        Assert.That(await _apid.WaitForErrorAsync("not exactly [ClientAuth]"), Does.Contain("not exactly [ClientAuth]"));
    }

    [Test]
    public async Task No_client_certificate_is_refused()
    {
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, null);

        TalosTlsException error = await TlsClientKit.RefusedAsync(() => TlsClientKit.GetAsync(transport, "127.0.0.1", _apid.Port));

        AssertClientRefused(error, MissingCertificateAlerts);
    }

    [Test]
    public async Task A_server_certificate_for_another_name_is_refused_by_the_client()
    {
        await using ApidStandIn apid = await ApidStandIn.StartAsync(_ca.IssueServerCertificate("10.5.0.2", "talos-cp-1"), _ca);
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _ca.IssueClientCertificate("os:admin"));

        TalosTlsException error = await TlsClientKit.RefusedAsync(() => TlsClientKit.GetAsync(transport, "127.0.0.1", apid.Port));

        Assert.Multiple(() =>
        {
            Assert.That(error.Failure, Is.EqualTo(TalosTlsFailure.ServerNameMismatch));
            Assert.That(error.Message, Does.Contain("10.5.0.2").And.Contain("talos-cp-1"));
        });
    }

    [Test]
    public async Task A_server_certificate_from_another_CA_is_refused_by_the_client()
    {
        await using ApidStandIn apid = await ApidStandIn.StartAsync(_otherCa.IssueServerCertificate("127.0.0.1"), _ca);
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _ca.IssueClientCertificate("os:admin"));

        TalosTlsException error = await TlsClientKit.RefusedAsync(() => TlsClientKit.GetAsync(transport, "127.0.0.1", apid.Port));

        Assert.Multiple(() =>
        {
            Assert.That(error.Failure, Is.EqualTo(TalosTlsFailure.UntrustedServerCertificate));
            Assert.That(error.Alert, Is.EqualTo(TlsAlert.UnknownCA));
        });
        Assert.That(await apid.WaitForErrorAsync("unknown certificate authority"), Does.Contain("unknown certificate authority"), "Go received this client's unknown_ca alert");
    }

    [Test]
    public async Task The_stand_in_proxies_gRPC_to_an_h2c_backend_and_injects_the_certificate_roles()
    {
        await using TlsTestServer backend = await TlsTestServer.StartAsync(listen => listen.Protocols = HttpProtocols.Http2);
        await using ApidStandIn apid = await ApidStandIn.StartAsync(_ca.IssueServerCertificate("127.0.0.1"), _ca, new Uri($"http://127.0.0.1:{backend.Port}"));
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _ca.IssueClientCertificate("os:etcd:backup"));
        using GrpcChannel channel = transport.CreateChannel("127.0.0.1", apid.Port);
        CallInvoker invoker = channel.CreateCallInvoker();

        byte[] echoed = await invoker.AsyncUnaryCall(RawGrpc.Unary, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20)), [7, 8, 9]);
        using AsyncServerStreamingCall<byte[]> stream = invoker.AsyncServerStreamingCall(RawGrpc.Stream, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20)), RawGrpc.StreamRequest(200, 1024));
        int messages = await stream.ResponseStream.ReadAllAsync().CountAsync();
        string who = await TlsClientKit.GetAsync(transport, "127.0.0.1", apid.Port);

        Assert.Multiple(() =>
        {
            Assert.That(echoed, Is.EqualTo(new byte[] { 7, 8, 9 }));
            Assert.That(messages, Is.EqualTo(200));
            Assert.That(stream.GetStatus().StatusCode, Is.EqualTo(StatusCode.OK));
            Assert.That(TlsTestServer.ParseWhoAmI(who)["talos-role"], Is.EqualTo("os:etcd:backup"));
        });
    }

    private static void AssertClientRefused(TalosTlsException error, TlsAlert[] alerts)
    {
        Assert.Multiple(() =>
        {
            Assert.That(error.Failure, Is.EqualTo(TalosTlsFailure.ClientCertificateRejected));
            Assert.That(error.Alert, Is.AnyOf(alerts.Cast<object>().ToArray()));
            Assert.That(error.AlertReceived, Is.True);
            Assert.That(error.Message, Does.Contain("refused the client certificate with TLS alert '" + error.AlertName + "'"));
        });
    }
}
