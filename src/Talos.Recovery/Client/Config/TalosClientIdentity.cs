using System.Globalization;

namespace Talos.Recovery.Client;

/// <summary>
/// The client certificate and private key of a talosconfig context (<c>crt</c> and <c>key</c>), checked to belong
/// together. Immutable. <see cref="ToString"/> never shows key material.
/// </summary>
/// <remarks>
/// The validity period is exposed but not enforced: a talosconfig with an expired certificate still loads, so a
/// caller can say "expired on …" (see <see cref="TalosCertificateInfo.IsValidAt"/>) rather than fail to start.
/// </remarks>
public sealed class TalosClientIdentity
{
    internal TalosClientIdentity(ReadOnlyMemory<byte> certificatePem, ReadOnlyMemory<byte> privateKeyPem, TalosKeyType keyType, TalosCertificateInfo certificate, IReadOnlyList<TalosCertificateInfo> chain)
    {
        CertificatePem = certificatePem;
        PrivateKeyPem = privateKeyPem;
        KeyType = keyType;
        Certificate = certificate;
        Chain = chain;
    }

    /// <summary>
    /// The <c>crt</c> field decoded: PEM text (ASCII) of the client certificate, optionally followed by intermediate CA
    /// certificates.
    /// </summary>
    public ReadOnlyMemory<byte> CertificatePem { get; }

    /// <summary>
    /// The <c>key</c> field decoded: PEM text (ASCII) of the private key, as written. Its label is one of
    /// <c>ED25519 PRIVATE KEY</c> (Talos's non-standard label over a PKCS#8 body), <c>PRIVATE KEY</c> (PKCS#8),
    /// <c>EC PRIVATE KEY</c> (SEC1) or <c>RSA PRIVATE KEY</c> (PKCS#1).
    /// </summary>
    public ReadOnlyMemory<byte> PrivateKeyPem { get; }

    /// <summary>The key's algorithm, which decides the TLS implementation.</summary>
    public TalosKeyType KeyType { get; }

    /// <summary>The client (leaf) certificate, the first certificate of <see cref="CertificatePem"/>.</summary>
    public TalosCertificateInfo Certificate { get; }

    /// <summary>Further certificates that followed the leaf in <see cref="CertificatePem"/> (usually none).</summary>
    public IReadOnlyList<TalosCertificateInfo> Chain { get; }

    /// <summary>
    /// The Talos roles the certificate carries: its subject's Organization values (<c>os:admin</c>, <c>os:operator</c>,
    /// <c>os:reader</c>, <c>os:etcd:backup</c>, …). Unknown values are kept; apid grants them nothing.
    /// </summary>
    public IReadOnlyList<string> Roles => Certificate.Organizations;

    /// <summary>The key type, roles and validity period, for diagnostics; no key material.</summary>
    public override string ToString() =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"{KeyType} client certificate, roles [{string.Join(", ", Roles)}], valid {Certificate.NotBefore:u} to {Certificate.NotAfter:u}");
}
