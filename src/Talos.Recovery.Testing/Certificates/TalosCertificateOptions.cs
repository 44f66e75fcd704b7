using System.Net;

namespace Talos.Recovery.Testing.Certificates;

/// <summary>The key algorithm of a generated certificate.</summary>
public enum TalosKeyAlgorithm
{
    /// <summary>Ed25519: what <c>talosctl gen secrets</c> makes, and so what a default Talos cluster uses everywhere.</summary>
    Ed25519,

    /// <summary>ECDSA on NIST P-256 (what Talos issues under a user-supplied ECDSA CA).</summary>
    EcdsaP256,
}

/// <summary>An extended key usage, for certificates made deliberately wrong.</summary>
public enum TalosExtendedKeyUsage
{
    /// <summary>TLS server authentication (1.3.6.1.5.5.7.3.1).</summary>
    ServerAuth,

    /// <summary>TLS client authentication (1.3.6.1.5.5.7.3.2).</summary>
    ClientAuth,

    /// <summary>Code signing (1.3.6.1.5.5.7.3.3): a usage apid never accepts.</summary>
    CodeSigning,
}

/// <summary>
/// What to put in a certificate issued by <see cref="TalosCertificateAuthority"/>. Every property has a default that
/// makes a valid Talos-shaped certificate; change one to make a deliberately wrong certificate for refusal tests.
/// </summary>
public sealed class TalosCertificateOptions
{
    /// <summary>The subject common name. Default: <c>talos</c> for a CA, <c>server</c> for a server, <c>client</c> for a client.</summary>
    public string? CommonName { get; init; }

    /// <summary>
    /// The subject O values, in order; for a client certificate these are its Talos roles (<c>os:admin</c>,
    /// <c>os:reader</c>, <c>os:etcd:backup</c>, …). Default: none (a CA gets <c>talos</c>).
    /// </summary>
    public IReadOnlyList<string> Organizations { get; init; } = [];

    /// <summary>IP address SANs (a server certificate is checked against these for IP endpoints). Default: none.</summary>
    public IReadOnlyList<IPAddress> IPAddresses { get; init; } = [];

    /// <summary>DNS name SANs. Default: none.</summary>
    public IReadOnlyList<string> DnsNames { get; init; } = [];

    /// <summary>Start of validity. Default: five minutes ago (tolerates clock skew between test peers).</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>
    /// End of validity. Default: one year after <see cref="NotBefore"/> for leaves, ten years for a CA. Set both in the
    /// past to make an expired certificate.
    /// </summary>
    public DateTimeOffset? NotAfter { get; init; }

    /// <summary>The key algorithm. Default: the issuing CA's (as siderolabs/crypto does), Ed25519 for a CA.</summary>
    public TalosKeyAlgorithm? KeyAlgorithm { get; init; }

    /// <summary>
    /// The extended key usages. Default (<see langword="null"/>): exactly [ServerAuth] for a server, exactly
    /// [ClientAuth] for a client, [ServerAuth, ClientAuth] for a CA. An empty list omits the extension (apid refuses
    /// such a client certificate).
    /// </summary>
    public IReadOnlyList<TalosExtendedKeyUsage>? ExtendedKeyUsages { get; init; }
}
