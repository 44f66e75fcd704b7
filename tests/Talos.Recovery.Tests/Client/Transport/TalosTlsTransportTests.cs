using System.Net;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Talos.Recovery.Client;
using Talos.Recovery.Client.Transport;
using Talos.Recovery.Testing.Certificates;
using Talos.Recovery.Testing.Tls;
using Talos.Recovery.Tests.Client.Etcd;
using Talos.Recovery.Tests.Tls;

namespace Talos.Recovery.Tests.Client.Transport;

/// <summary>
/// The client transport against real servers on loopback: the Talos BouncyCastle middleware on Kestrel (Ed25519 and
/// ECDSA) and Kestrel's own HTTPS (ECDSA), over plain HTTP/2 and through a real <see cref="GrpcChannel"/>.
/// </summary>
[TestFixture]
public sealed class TalosTlsTransportTests
{
    private TalosCertificateAuthority _ca = null!;
    private TalosCertificateAuthority _otherCa = null!;
    private TlsTestServer _server = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        _ca = TalosCertificateAuthority.Create();
        _otherCa = TalosCertificateAuthority.Create();
        _server = await TlsTestServer.StartTalosTlsAsync(TalosTlsServerOptions.Create(_ca.IssueServerCertificate("127.0.0.1", "localhost"), _ca));
    }

    [OneTimeTearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [SetUp]
    public void ClearLogs() => TestLogs.Clear();

    [TearDown]
    public void PrintLogs() => TestLogs.PrintIfFailed();

    [Test]
    public async Task Ed25519_client_and_server_complete_a_TLS13_HTTP2_request_and_the_server_sees_the_roles()
    {
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _ca.IssueClientCertificate("os:reader", "os:etcd:backup"));
        Assert.That(transport.Stack, Is.EqualTo(TlsStack.BouncyCastle));

        Dictionary<string, string> who = TlsTestServer.ParseWhoAmI(await TlsClientKit.GetAsync(transport, "127.0.0.1", _server.Port));

        Assert.Multiple(() =>
        {
            Assert.That(who["roles"], Is.EqualTo("os:reader,os:etcd:backup"));
            Assert.That(who["tls"], Is.EqualTo("TLS 1.3"));
            Assert.That(who["protocol"], Is.EqualTo("HTTP/2"));
            Assert.That(who["cert"], Is.EqualTo("present"));
        });
    }

    [Test]
    public async Task A_grpc_channel_on_http_address_runs_unary_and_streaming_calls_over_the_Ed25519_transport()
    {
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _ca.IssueClientCertificate("os:admin"));
        using GrpcChannel channel = transport.CreateChannel("127.0.0.1", _server.Port);
        CallInvoker invoker = channel.CreateCallInvoker();

        byte[] reply = await invoker.AsyncUnaryCall(RawGrpc.Unary, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20)), [1, 2, 3]);
        Assert.That(reply, Is.EqualTo(new byte[] { 1, 2, 3 }));

        using AsyncServerStreamingCall<byte[]> call = invoker.AsyncServerStreamingCall(RawGrpc.Stream, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20)), RawGrpc.StreamRequest(500, 1024));
        long total = 0;
        int messages = 0;
        await foreach (byte[] message in call.ResponseStream.ReadAllAsync())
        {
            total += message.Length;
            messages++;
        }

        Assert.Multiple(() =>
        {
            Assert.That(messages, Is.EqualTo(500));
            Assert.That(total, Is.EqualTo(500 * 1024));
            Assert.That(call.GetStatus().StatusCode, Is.EqualTo(StatusCode.OK));
        });
    }

    [Test]
    public async Task Concurrent_requests_share_one_connection_without_hanging()
    {
        // HTTP/2 reads and writes the connection from different threads at once: the pitfall of BC's blocking stream.
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _ca.IssueClientCertificate("os:admin"));
        using GrpcChannel channel = transport.CreateChannel("127.0.0.1", _server.Port);
        CallInvoker invoker = channel.CreateCallInvoker();
        byte[] payload = new byte[16 * 1024];
        Random.Shared.NextBytes(payload);

        Task<byte[]>[] calls = Enumerable.Range(0, 32)
            .Select(_ => invoker.AsyncUnaryCall(RawGrpc.Unary, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), payload).ResponseAsync)
            .ToArray();
        byte[][] replies = await Task.WhenAll(calls);

        Assert.That(replies, Has.All.EqualTo(payload));
    }

    [Test]
    public async Task A_DNS_endpoint_is_checked_against_the_DNS_SAN()
    {
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _ca.IssueClientCertificate("os:admin"));

        string body = await TlsClientKit.GetAsync(transport, "localhost", _server.Port);

        Assert.That(TlsTestServer.ParseWhoAmI(body)["roles"], Is.EqualTo("os:admin"));
    }

    [Test]
    public async Task A_server_certificate_without_the_endpoint_IP_is_refused_as_a_name_mismatch()
    {
        await using TlsTestServer server = await TlsTestServer.StartTalosTlsAsync(TalosTlsServerOptions.Create(_ca.IssueServerCertificate("10.5.0.2", "node-1"), _ca));
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _ca.IssueClientCertificate("os:admin"));

        TalosTlsException error = await TlsClientKit.RefusedAsync(() => TlsClientKit.GetAsync(transport, "127.0.0.1", server.Port));

        Assert.Multiple(() =>
        {
            Assert.That(error.Failure, Is.EqualTo(TalosTlsFailure.ServerNameMismatch));
            Assert.That(error.Message, Does.Contain("127.0.0.1").And.Contain("10.5.0.2"));
            Assert.That(error.Endpoint, Is.EqualTo($"127.0.0.1:{server.Port}"));
            Assert.That(error.AlertReceived, Is.False);
        });
    }

    [Test]
    public async Task A_server_certificate_from_another_CA_is_refused_as_untrusted_with_unknown_ca()
    {
        await using TlsTestServer server = await TlsTestServer.StartTalosTlsAsync(TalosTlsServerOptions.Create(_otherCa.IssueServerCertificate("127.0.0.1"), _ca));
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _ca.IssueClientCertificate("os:admin"));

        TalosTlsException error = await TlsClientKit.RefusedAsync(() => TlsClientKit.GetAsync(transport, "127.0.0.1", server.Port));

        Assert.Multiple(() =>
        {
            Assert.That(error.Failure, Is.EqualTo(TalosTlsFailure.UntrustedServerCertificate));
            Assert.That(error.Alert, Is.EqualTo(TlsAlert.UnknownCA));
            Assert.That(error.AlertReceived, Is.False, "this client sent the alert");
            Assert.That(error.Message, Does.Contain("configured CA"));
        });
    }

    [Test]
    public async Task An_expired_server_certificate_is_refused_with_certificate_expired()
    {
        var expired = new TalosCertificateOptions
        {
            IPAddresses = [IPAddress.Loopback],
            NotBefore = DateTimeOffset.UtcNow.AddDays(-10),
            NotAfter = DateTimeOffset.UtcNow.AddDays(-1),
        };
        await using TlsTestServer server = await TlsTestServer.StartTalosTlsAsync(TalosTlsServerOptions.Create(_ca.IssueServerCertificate(expired), _ca));
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _ca.IssueClientCertificate("os:admin"));

        TalosTlsException error = await TlsClientKit.RefusedAsync(() => TlsClientKit.GetAsync(transport, "127.0.0.1", server.Port));

        Assert.Multiple(() =>
        {
            Assert.That(error.Failure, Is.EqualTo(TalosTlsFailure.UntrustedServerCertificate));
            Assert.That(error.Alert, Is.EqualTo(TlsAlert.CertificateExpired));
        });
    }

    [Test]
    public async Task InsecureSkipVerify_accepts_an_untrusted_server_and_warns()
    {
        await using TlsTestServer server = await TlsTestServer.StartTalosTlsAsync(TalosTlsServerOptions.Create(_otherCa.IssueServerCertificate("10.9.9.9"), _ca));
        var logs = new CapturingLoggerFactory();
        using TalosTlsTransport transport = TlsClientKit.Transport(null, _ca.IssueClientCertificate("os:admin"), insecureSkipVerify: true, loggerFactory: logs);

        string body = await TlsClientKit.GetAsync(transport, "127.0.0.1", server.Port);

        Assert.Multiple(() =>
        {
            Assert.That(TlsTestServer.ParseWhoAmI(body)["roles"], Is.EqualTo("os:admin"));
            Assert.That(logs.Entries.Where(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning).Select(e => e.EventId.Id), Is.SupersetOf(new[] { 3300, 3301 }));
        });
    }

    [TestCase("wrong CA", TlsAlert.UnknownCA)]
    [TestCase("expired", TlsAlert.CertificateExpired)]
    [TestCase("EKU server+client", TlsAlert.BadCertificate)]
    [TestCase("EKU server only", TlsAlert.BadCertificate)]
    [TestCase("no EKU", TlsAlert.BadCertificate)]
    public async Task A_refused_client_certificate_surfaces_the_servers_alert(string kind, TlsAlert alert)
    {
        TalosCertificate client = kind switch
        {
            "wrong CA" => _otherCa.IssueClientCertificate("os:admin"),
            "expired" => _ca.IssueClientCertificate(new TalosCertificateOptions
            {
                Organizations = ["os:admin"],
                NotBefore = DateTimeOffset.UtcNow.AddDays(-30),
                NotAfter = DateTimeOffset.UtcNow.AddDays(-1),
            }),
            "EKU server+client" => _ca.IssueClientCertificate(new TalosCertificateOptions
            {
                Organizations = ["os:admin"],
                ExtendedKeyUsages = [TalosExtendedKeyUsage.ServerAuth, TalosExtendedKeyUsage.ClientAuth],
            }),
            "EKU server only" => _ca.IssueClientCertificate(new TalosCertificateOptions { Organizations = ["os:admin"], ExtendedKeyUsages = [TalosExtendedKeyUsage.ServerAuth] }),
            _ => _ca.IssueClientCertificate(new TalosCertificateOptions { Organizations = ["os:admin"], ExtendedKeyUsages = [] }),
        };
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, client);

        TalosTlsException error = await TlsClientKit.RefusedAsync(() => TlsClientKit.GetAsync(transport, "127.0.0.1", _server.Port));

        Assert.Multiple(() =>
        {
            Assert.That(error.Failure, Is.EqualTo(TalosTlsFailure.ClientCertificateRejected));
            Assert.That(error.Alert, Is.EqualTo(alert));
            Assert.That(error.AlertReceived, Is.True);
            Assert.That(error.Message, Does.Contain(TlsAlertNames.GetName(alert)));
        });
    }

    [Test]
    public async Task No_client_certificate_is_refused_with_certificate_required()
    {
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, null);

        TalosTlsException error = await TlsClientKit.RefusedAsync(() => TlsClientKit.GetAsync(transport, "127.0.0.1", _server.Port));

        Assert.Multiple(() =>
        {
            Assert.That(error.Failure, Is.EqualTo(TalosTlsFailure.ClientCertificateRejected));
            Assert.That(error.Alert, Is.EqualTo(TlsAlert.CertificateRequired));
            Assert.That(error.Message, Does.Contain("certificate_required").And.Contain("no client certificate is configured"));
        });
    }

    [Test]
    public async Task A_refused_client_certificate_fails_a_grpc_call_with_Unavailable_and_the_alert_inside()
    {
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _otherCa.IssueClientCertificate("os:admin"));
        using GrpcChannel channel = transport.CreateChannel("127.0.0.1", _server.Port);

        RpcException error = Assert.ThrowsAsync<RpcException>(async () =>
            await channel.CreateCallInvoker().AsyncUnaryCall(RawGrpc.Unary, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20)), [1]))!;

        Assert.Multiple(() =>
        {
            Assert.That(error.StatusCode, Is.EqualTo(StatusCode.Unavailable));
            Assert.That(TalosTlsException.Find(error)?.Alert, Is.EqualTo(TlsAlert.UnknownCA));
        });
    }

    [Test]
    public async Task ECDSA_client_uses_SslStream_against_the_BouncyCastle_server_with_an_ECDSA_certificate()
    {
        var ca = TalosCertificateAuthority.Create(TalosKeyAlgorithm.EcdsaP256);
        await using TlsTestServer server = await TlsTestServer.StartTalosTlsAsync(TalosTlsServerOptions.Create(ca.IssueServerCertificate("127.0.0.1"), ca));
        using TalosTlsTransport transport = TlsClientKit.Transport(ca, ca.IssueClientCertificate("os:operator"));
        Assert.That(transport.Stack, Is.EqualTo(TlsStack.SslStream));

        Dictionary<string, string> who = TlsTestServer.ParseWhoAmI(await TlsClientKit.GetAsync(transport, "127.0.0.1", server.Port));

        Assert.Multiple(() =>
        {
            Assert.That(who["roles"], Is.EqualTo("os:operator"));
            Assert.That(who["tls"], Is.EqualTo("TLS 1.3"));
        });
    }

    [Test]
    public async Task ECDSA_client_certificate_refused_by_the_BouncyCastle_server_surfaces_the_alert_through_SslStream()
    {
        var ca = TalosCertificateAuthority.Create(TalosKeyAlgorithm.EcdsaP256);
        var other = TalosCertificateAuthority.Create(TalosKeyAlgorithm.EcdsaP256);
        await using TlsTestServer server = await TlsTestServer.StartTalosTlsAsync(TalosTlsServerOptions.Create(ca.IssueServerCertificate("127.0.0.1"), ca));
        using TalosTlsTransport transport = TlsClientKit.Transport(ca, other.IssueClientCertificate("os:admin"));

        TalosTlsException error = await TlsClientKit.RefusedAsync(() => TlsClientKit.GetAsync(transport, "127.0.0.1", server.Port));

        Assert.Multiple(() =>
        {
            Assert.That(error.Failure, Is.EqualTo(TalosTlsFailure.ClientCertificateRejected));
            Assert.That(error.Alert, Is.EqualTo(TlsAlert.UnknownCA));
        });
    }

    [Test]
    public async Task ECDSA_client_works_against_Kestrels_own_HTTPS_and_refuses_its_certificate_for_a_wrong_name()
    {
        var ca = TalosCertificateAuthority.Create(TalosKeyAlgorithm.EcdsaP256);
        TalosCertificate serverCertificate = ca.IssueServerCertificate("127.0.0.1");
        using X509Certificate2 serverWithKey = X509Certificate2.CreateFromPem(
            System.Text.Encoding.ASCII.GetString(serverCertificate.CertificatePem.Span), System.Text.Encoding.ASCII.GetString(serverCertificate.KeyPem.Span));
        await using TlsTestServer server = await TlsTestServer.StartAsync(listen =>
        {
            listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2;
            listen.KestrelServerOptions.AllowAlternateSchemes = true;
            listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = serverWithKey,
                ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                ClientCertificateValidation = (_, _, _) => true,
            });
        });
        using TalosTlsTransport transport = TlsClientKit.Transport(ca, ca.IssueClientCertificate("os:admin"));

        Dictionary<string, string> who = TlsTestServer.ParseWhoAmI(await TlsClientKit.GetAsync(transport, "127.0.0.1", server.Port));
        TalosTlsException error = await TlsClientKit.RefusedAsync(() => TlsClientKit.GetAsync(transport, "localhost", server.Port));

        Assert.Multiple(() =>
        {
            Assert.That(who["roles"], Is.EqualTo("os:admin"));
            Assert.That(who["scheme"], Is.EqualTo("http"), "the client addresses the channel as http:// over its own TLS");
            Assert.That(error.Failure, Is.EqualTo(TalosTlsFailure.ServerNameMismatch));
        });
    }

    [Test]
    public async Task The_BouncyCastle_path_also_serves_an_ECDSA_key_when_forced()
    {
        var ca = TalosCertificateAuthority.Create(TalosKeyAlgorithm.EcdsaP256);
        await using TlsTestServer server = await TlsTestServer.StartTalosTlsAsync(TalosTlsServerOptions.Create(ca.IssueServerCertificate("127.0.0.1"), ca));
        using TalosTlsTransport transport = TlsClientKit.Transport(ca, ca.IssueClientCertificate("os:admin"), stack: TlsStack.BouncyCastle);

        Dictionary<string, string> who = TlsTestServer.ParseWhoAmI(await TlsClientKit.GetAsync(transport, "127.0.0.1", server.Port));

        Assert.That(who["roles"], Is.EqualTo("os:admin"));
    }

    [Test]
    public void A_connection_refused_is_a_socket_error_not_a_TLS_error()
    {
        using TalosTlsTransport transport = TlsClientKit.Transport(_ca, _ca.IssueClientCertificate("os:admin"));
        int closedPort = FreePort();

        HttpRequestException error = Assert.ThrowsAsync<HttpRequestException>(() => TlsClientKit.GetAsync(transport, "127.0.0.1", closedPort))!;

        Assert.Multiple(() =>
        {
            Assert.That(TalosTlsException.Find(error), Is.Null);
            Assert.That(error.InnerException, Is.InstanceOf<System.Net.Sockets.SocketException>());
        });
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
