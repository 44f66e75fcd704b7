using System.Net;
using System.Net.Http;
using Microsoft.Extensions.Logging;
using Talos.Recovery.Client;
using Talos.Recovery.Client.Transport;
using Talos.Recovery.Testing.Certificates;

namespace Talos.Recovery.Tests.Client.Transport;

/// <summary>Builds client transports from generated certificates and makes HTTP/2 requests through them.</summary>
internal static class TlsClientKit
{
    public static TalosTlsTransport Transport(
        TalosCertificateAuthority? trustedCa,
        TalosCertificate? client,
        bool insecureSkipVerify = false,
        ILoggerFactory? loggerFactory = null,
        TlsStack? stack = null)
        => TalosTlsTransport.Create(new TalosTlsTransportOptions
        {
            CaPem = trustedCa?.CertificatePem,
            ClientCertificatePem = client?.CertificatePem,
            ClientKeyPem = client?.KeyPem,
            InsecureSkipVerify = insecureSkipVerify,
            LoggerFactory = loggerFactory ?? Talos.Recovery.Tests.Tls.TestLogs.Factory,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            Stack = stack,
        });

    /// <summary>GET over HTTP/2 (prior knowledge on the transport's TLS stream); returns the body.</summary>
    public static async Task<string> GetAsync(TalosTlsTransport transport, string host, int port, string path = "/whoami")
    {
        using SocketsHttpHandler handler = transport.CreateHandler(host, port);
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(TalosTlsTransport.GetAddress(host, port), path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using HttpResponseMessage response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        Assert.That(response.Version, Is.EqualTo(HttpVersion.Version20));
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Runs <paramref name="action"/>, which must fail because of TLS, and returns the TLS failure.</summary>
    public static async Task<TalosTlsException> RefusedAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex)
        {
            TalosTlsException? tls = TalosTlsException.Find(ex);
            Assert.That(tls, Is.Not.Null, () => $"Expected a TalosTlsException inside: {ex}");
            return tls!;
        }

        Assert.Fail("The call succeeded; a TLS refusal was expected.");
        throw new InvalidOperationException("unreachable");
    }
}
