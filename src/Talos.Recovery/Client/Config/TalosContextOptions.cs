namespace Talos.Recovery.Client;

/// <summary>
/// What a new talosconfig context holds, for <see cref="TalosConfig.Create"/> and <see cref="TalosConfig.WithContext"/>.
/// Everything is checked when the context is added: endpoints must parse, the certificates and key must be valid PEM,
/// and the key must belong to the certificate.
/// </summary>
public sealed class TalosContextOptions
{
    /// <summary>
    /// The apid endpoints, in any form <see cref="TalosEndpoint.Parse"/> accepts; written as given. Default: empty;
    /// at least one is required.
    /// </summary>
    public IList<string> Endpoints { get; } = new List<string>();

    /// <summary>The default target nodes (addresses or names, no port). Default: empty.</summary>
    public IList<string> Nodes { get; } = new List<string>();

    /// <summary>
    /// PEM text of the CA certificate(s) trusted for server certificates (the Talos OS CA). Default: empty, meaning the
    /// system's trust store (not what a Talos cluster needs).
    /// </summary>
    public ReadOnlyMemory<byte> CertificateAuthorityPem { get; set; }

    /// <summary>PEM text of the client certificate. Default: empty (no client certificate); set together with <see cref="ClientKeyPem"/>.</summary>
    public ReadOnlyMemory<byte> ClientCertificatePem { get; set; }

    /// <summary>
    /// PEM text of the client's private key (<c>ED25519 PRIVATE KEY</c>, <c>PRIVATE KEY</c>, <c>EC PRIVATE KEY</c> or
    /// <c>RSA PRIVATE KEY</c>). Default: empty; set together with <see cref="ClientCertificatePem"/>.
    /// </summary>
    public ReadOnlyMemory<byte> ClientKeyPem { get; set; }

    /// <summary>The cluster name written as <c>cluster</c>. Default: <see langword="null"/> (not written).</summary>
    public string? Cluster { get; set; }

    /// <summary>The proxy written as <c>proxy-url</c>; must be absolute. Default: <see langword="null"/> (not written).</summary>
    public Uri? ProxyUrl { get; set; }

    /// <summary>HTTP basic credentials written as <c>auth.basic</c>. Default: <see langword="null"/> (not written).</summary>
    public TalosBasicAuth? BasicAuth { get; set; }
}
