using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Talos.Recovery.Client.Transport;

/// <summary>Why a peer certificate was refused, and the alert that says so on the wire.</summary>
/// <param name="Failure">The kind of failure (for a client refusing a server).</param>
/// <param name="Alert">The TLS alert to send.</param>
/// <param name="Reason">A sentence naming the certificate and what is wrong with it (no key material).</param>
internal sealed record TlsVerificationFailure(TalosTlsFailure Failure, TlsAlert Alert, string Reason);

/// <summary>
/// Verifies peer certificates the way Go's crypto/tls and Talos's apid do: the chain must lead to one of the configured
/// CAs (the only trust roots; the system store only when none is configured), every certificate must be valid now and
/// fit the purpose (extended key usage server or client authentication). For servers the name is then checked against
/// the endpoint (IP SAN for IP endpoints, DNS SAN otherwise; the common name is ignored, as Go does). For clients
/// apid's extra rule applies: every non-CA certificate of the chain must have extended key usage exactly
/// [client authentication].
/// </summary>
/// <remarks>
/// Built on <see cref="X509Chain"/> with <see cref="X509ChainTrustMode.CustomRootTrust"/>, which verifies Ed25519
/// signatures on Linux (OpenSSL). No network access: certificate downloads and revocation checks are off.
/// Compiled into Talos.Recovery and Talos.Recovery.Testing (shared source).
/// </remarks>
internal sealed class TlsCertificateVerifier : IDisposable
{
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    private readonly X509Certificate2Collection? _roots;

    /// <summary>Creates a verifier.</summary>
    /// <param name="rootsDer">The trust roots (DER); <see langword="null"/> for the system's trust store.</param>
    public TlsCertificateVerifier(IReadOnlyList<byte[]>? rootsDer)
    {
        if (rootsDer is null)
        {
            return;
        }

        _roots = [];
        foreach (byte[] der in rootsDer)
        {
            _roots.Add(X509CertificateLoader.LoadCertificate(der));
        }
    }

    /// <summary>Whether the system trust store is used (no CA configured).</summary>
    public bool UsesSystemTrust => _roots is null;

    /// <summary>Verifies a server's chain (leaf first) and that it is valid for <paramref name="host"/>.</summary>
    /// <returns><see langword="null"/> when the certificate is acceptable.</returns>
    public TlsVerificationFailure? VerifyServer(IReadOnlyList<byte[]> chainDer, string host)
    {
        if (chainDer.Count == 0)
        {
            return new TlsVerificationFailure(TalosTlsFailure.UntrustedServerCertificate, TlsAlert.BadCertificate, "the server sent no certificate");
        }

        using Loaded loaded = Load(chainDer, out TlsVerificationFailure? parseFailure, TalosTlsFailure.UntrustedServerCertificate);
        if (parseFailure is not null)
        {
            return parseFailure;
        }

        X509Certificate2 leaf = loaded.Leaf;
        string subject = Describe(leaf);
        using X509Chain chain = CreateChain(loaded, ServerAuthOid);
        if (!chain.Build(leaf))
        {
            (TlsAlert alert, string detail) = DescribeChainErrors(chain);
            string trust = _roots is null ? "the system trust store" : "the configured CA";
            return new TlsVerificationFailure(
                TalosTlsFailure.UntrustedServerCertificate,
                alert,
                $"the server certificate '{subject}' (issuer '{leaf.Issuer}') is not trusted by {trust}: {detail}");
        }

        if (!MatchesHost(leaf, host))
        {
            return new TlsVerificationFailure(
                TalosTlsFailure.ServerNameMismatch,
                TlsAlert.BadCertificate,
                $"the server certificate '{subject}' is not valid for '{host}' (its names: {DescribeNames(leaf)})");
        }

        return null;
    }

    /// <summary>
    /// Verifies a client's chain (leaf first) against the configured CAs, with apid's rule on extended key usage.
    /// </summary>
    /// <param name="chainDer">The client's certificates, leaf first.</param>
    /// <param name="organizations">The leaf's subject O values (the Talos roles), when accepted.</param>
    /// <returns><see langword="null"/> when the certificate is acceptable.</returns>
    public TlsVerificationFailure? VerifyClient(IReadOnlyList<byte[]> chainDer, out IReadOnlyList<string> organizations)
    {
        organizations = [];
        if (chainDer.Count == 0)
        {
            return new TlsVerificationFailure(TalosTlsFailure.ClientCertificateRejected, TlsAlert.CertificateRequired, "the client sent no certificate");
        }

        using Loaded loaded = Load(chainDer, out TlsVerificationFailure? parseFailure, TalosTlsFailure.ClientCertificateRejected);
        if (parseFailure is not null)
        {
            return parseFailure;
        }

        X509Certificate2 leaf = loaded.Leaf;
        string subject = Describe(leaf);
        using X509Chain chain = CreateChain(loaded, ClientAuthOid);
        if (!chain.Build(leaf))
        {
            (TlsAlert alert, string detail) = DescribeChainErrors(chain);
            return new TlsVerificationFailure(
                TalosTlsFailure.ClientCertificateRejected,
                alert,
                $"the client certificate '{subject}' (issuer '{leaf.Issuer}') is not accepted: {detail}");
        }

        foreach (X509ChainElement element in chain.ChainElements)
        {
            X509Certificate2 certificate = element.Certificate;
            if (IsCertificateAuthority(certificate))
            {
                continue;
            }

            IReadOnlyList<string> usages = GetExtendedKeyUsages(certificate);
            if (usages.Count != 1 || usages[0] != ClientAuthOid)
            {
                string found = usages.Count == 0 ? "none" : string.Join(", ", usages.Select(DescribeUsage));
                return new TlsVerificationFailure(
                    TalosTlsFailure.ClientCertificateRejected,
                    TlsAlert.BadCertificate,
                    $"the client certificate '{Describe(certificate)}' must have extended key usage exactly [client authentication] (found: {found})");
            }
        }

        organizations = GetOrganizations(leaf);
        return null;
    }

    /// <summary>The subject O values of <paramref name="certificate"/>, in order, empty values skipped.</summary>
    public static IReadOnlyList<string> GetOrganizations(X509Certificate2 certificate)
    {
        var values = new List<string>();
        foreach (X500RelativeDistinguishedName rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames(reversed: false))
        {
            if (rdn.GetSingleElementType().Value == "2.5.4.10" && rdn.GetSingleElementValue() is { Length: > 0 } value)
            {
                values.Add(value);
            }
        }

        return values;
    }

    private X509Chain CreateChain(Loaded loaded, string usage)
    {
        var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(usage));
        chain.ChainPolicy.VerificationTime = DateTime.Now;
        if (_roots is not null)
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(_roots);
        }

        foreach (X509Certificate2 intermediate in loaded.Intermediates)
        {
            chain.ChainPolicy.ExtraStore.Add(intermediate);
        }
        return chain;
    }

    private static Loaded Load(IReadOnlyList<byte[]> chainDer, out TlsVerificationFailure? failure, TalosTlsFailure kind)
    {
        var loaded = new Loaded();
        failure = null;
        try
        {
            for (int i = 0; i < chainDer.Count; i++)
            {
                X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(chainDer[i]);
                if (i == 0)
                {
                    loaded.Leaf = certificate;
                }
                else
                {
                    loaded.Intermediates.Add(certificate);
                }
            }
        }
        catch (CryptographicException ex)
        {
            failure = new TlsVerificationFailure(kind, TlsAlert.BadCertificate, $"a certificate of the peer's chain cannot be parsed: {ex.Message}");
        }

        return loaded;
    }

    private static (TlsAlert Alert, string Detail) DescribeChainErrors(X509Chain chain)
    {
        X509ChainStatusFlags flags = X509ChainStatusFlags.NoError;
        var parts = new List<string>();
        foreach (X509ChainStatus status in chain.ChainStatus)
        {
            flags |= status.Status;
            string information = status.StatusInformation.Trim();
            parts.Add(information.Length != 0 ? $"{status.Status} ({information})" : status.Status.ToString());
        }

        // The alert Go (1.21+) sends for the same problem.
        TlsAlert alert =
            (flags & (X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.UntrustedRoot)) != 0 ? TlsAlert.UnknownCA
            : (flags & X509ChainStatusFlags.NotTimeValid) != 0 ? TlsAlert.CertificateExpired
            : TlsAlert.BadCertificate;
        string detail = parts.Count == 0 ? "unknown chain error" : string.Join("; ", parts);
        if ((flags & X509ChainStatusFlags.NotTimeValid) != 0 && chain.ChainElements.Count > 0)
        {
            X509Certificate2 leaf = chain.ChainElements[0].Certificate;
            detail += $" (valid from {leaf.NotBefore.ToUniversalTime():u} to {leaf.NotAfter.ToUniversalTime():u})";
        }

        return (alert, detail);
    }

    private static bool MatchesHost(X509Certificate2 leaf, string host)
    {
        if (IPAddress.TryParse(host, out IPAddress? address))
        {
            foreach (X509Extension extension in leaf.Extensions)
            {
                if (extension is X509SubjectAlternativeNameExtension san)
                {
                    foreach (IPAddress candidate in san.EnumerateIPAddresses())
                    {
                        if (candidate.Equals(address) ||
                            (candidate.IsIPv4MappedToIPv6 && candidate.MapToIPv4().Equals(address)) ||
                            (address.IsIPv4MappedToIPv6 && address.MapToIPv4().Equals(candidate)))
                        {
                            return true;
                        }
                    }
                }
            }

            return false;
        }

        return leaf.MatchesHostname(host, allowWildcards: true, allowCommonName: false);
    }

    private static bool IsCertificateAuthority(X509Certificate2 certificate)
    {
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509BasicConstraintsExtension basic)
            {
                return basic.CertificateAuthority;
            }
        }

        return false;
    }

    private static List<string> GetExtendedKeyUsages(X509Certificate2 certificate)
    {
        var usages = new List<string>();
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509EnhancedKeyUsageExtension eku)
            {
                foreach (Oid oid in eku.EnhancedKeyUsages)
                {
                    usages.Add(oid.Value ?? string.Empty);
                }
            }
        }

        return usages;
    }

    private static string DescribeUsage(string oid) => oid switch
    {
        ServerAuthOid => "server authentication",
        ClientAuthOid => "client authentication",
        _ => oid,
    };

    private static string Describe(X509Certificate2 certificate) => certificate.Subject.Length != 0 ? certificate.Subject : "(empty subject)";

    private static string DescribeNames(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
                names.AddRange(san.EnumerateIPAddresses().Select(address => address.ToString()));
            }
        }

        return names.Count == 0 ? "none" : string.Join(", ", names);
    }

    public void Dispose()
    {
        if (_roots is not null)
        {
            foreach (X509Certificate2 root in _roots)
            {
                root.Dispose();
            }
        }
    }

    private sealed class Loaded : IDisposable
    {
        public X509Certificate2 Leaf { get; set; } = null!;

        public List<X509Certificate2> Intermediates { get; } = [];

        public void Dispose()
        {
            Leaf?.Dispose();
            foreach (X509Certificate2 certificate in Intermediates)
            {
                certificate.Dispose();
            }
        }
    }
}
