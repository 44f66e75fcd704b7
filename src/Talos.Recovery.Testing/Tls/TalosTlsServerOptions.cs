using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Talos.Recovery.Testing.Certificates;

namespace Talos.Recovery.Testing.Tls;

/// <summary>
/// The certificates of a Talos-like TLS endpoint (see <see cref="TalosTlsListenOptionsExtensions.UseTalosTls"/>): its
/// own certificate and key, and the CAs whose client certificates it accepts (apid: the OS CA plus
/// <c>machine.acceptedCAs</c>).
/// </summary>
public sealed class TalosTlsServerOptions
{
    /// <summary>The server certificate PEM (leaf first, then any intermediates). Ed25519 or ECDSA. Required.</summary>
    public ReadOnlyMemory<byte> CertificatePem { get; init; }

    /// <summary>The server key PEM (<c>ED25519 PRIVATE KEY</c>, <c>PRIVATE KEY</c> or <c>EC PRIVATE KEY</c>). Required.</summary>
    public ReadOnlyMemory<byte> KeyPem { get; init; }

    /// <summary>PEM of one or more CA certificates that client certificates must chain to. Required.</summary>
    public ReadOnlyMemory<byte> ClientCaPem { get; init; }

    /// <summary>How long a client may take to complete the handshake. Default 10 seconds.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Where refusals and handshakes are logged. Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Options for a server presenting <paramref name="serverCertificate"/> and accepting clients of <paramref name="clientCas"/>.</summary>
    /// <param name="serverCertificate">The server's certificate and key (e.g. from <see cref="TalosCertificateAuthority.IssueServerCertificate(string[])"/>).</param>
    /// <param name="clientCas">The CAs whose client certificates are accepted; at least one.</param>
    public static TalosTlsServerOptions Create(TalosCertificate serverCertificate, params TalosCertificateAuthority[] clientCas)
    {
        ArgumentNullException.ThrowIfNull(serverCertificate);
        ArgumentNullException.ThrowIfNull(clientCas);
        if (clientCas.Length == 0)
        {
            throw new ArgumentException("At least one client CA is needed.", nameof(clientCas));
        }

        var pem = new List<byte>();
        foreach (TalosCertificateAuthority ca in clientCas)
        {
            pem.AddRange(ca.CertificatePem.Span);
        }

        return new TalosTlsServerOptions
        {
            CertificatePem = serverCertificate.CertificatePem,
            KeyPem = serverCertificate.KeyPem,
            ClientCaPem = pem.ToArray(),
        };
    }
}
