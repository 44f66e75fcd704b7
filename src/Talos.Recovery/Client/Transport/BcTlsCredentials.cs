using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Talos.Recovery.Client.Transport;

/// <summary>
/// Builds BouncyCastle signing credentials (certificate chain + key) for either side of a handshake.
/// Compiled into Talos.Recovery and Talos.Recovery.Testing (shared source).
/// </summary>
internal static class BcTlsCredentials
{
    /// <summary>The signature algorithms this SDK accepts from peers and asks clients for.</summary>
    public static IList<SignatureAndHashAlgorithm> SupportedSignatureAlgorithms { get; } =
    [
        SignatureAndHashAlgorithm.ed25519,
        SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa),
        SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha384, SignatureAlgorithm.ecdsa),
        SignatureAndHashAlgorithm.rsa_pss_rsae_sha256,
        SignatureAndHashAlgorithm.rsa_pss_rsae_sha384,
        SignatureAndHashAlgorithm.rsa_pss_rsae_sha512,
        SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha256, SignatureAlgorithm.rsa),
        SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha384, SignatureAlgorithm.rsa),
    ];

    /// <summary>The signature scheme to sign with for a key kind, among those the peer offered; <see langword="null"/> if none fits.</summary>
    public static SignatureAndHashAlgorithm? SelectSignatureAlgorithm(TlsKeyKind kind, bool tls13, IList<SignatureAndHashAlgorithm>? offered)
    {
        SignatureAndHashAlgorithm[] candidates = kind switch
        {
            TlsKeyKind.Ed25519 => [SignatureAndHashAlgorithm.ed25519],
            TlsKeyKind.Ecdsa =>
            [
                SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa),
                SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha384, SignatureAlgorithm.ecdsa),
            ],
            _ => tls13
                ? [SignatureAndHashAlgorithm.rsa_pss_rsae_sha256, SignatureAndHashAlgorithm.rsa_pss_rsae_sha384]
                : [SignatureAndHashAlgorithm.rsa_pss_rsae_sha256, SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha256, SignatureAlgorithm.rsa)],
        };
        foreach (SignatureAndHashAlgorithm candidate in candidates)
        {
            if (offered is null || offered.Contains(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The signer for <paramref name="chain"/> and <paramref name="key"/>, or <see langword="null"/> when the peer accepts none of the key's schemes.</summary>
    public static TlsCredentialedSigner? CreateSigner(
        TlsContext context,
        BcTlsCrypto crypto,
        IReadOnlyList<byte[]> chain,
        TlsPrivateKey key,
        byte[]? certificateRequestContext,
        IList<SignatureAndHashAlgorithm>? offered)
    {
        bool tls13 = TlsUtilities.IsTlsV13(context);
        SignatureAndHashAlgorithm? algorithm = SelectSignatureAlgorithm(key.Kind, tls13, offered);
        if (algorithm is null)
        {
            return null;
        }

        var certificates = new TlsCertificate[chain.Count];
        for (int i = 0; i < chain.Count; i++)
        {
            certificates[i] = crypto.CreateCertificate(CertificateType.X509, chain[i]);
        }

        Certificate certificate;
        if (tls13)
        {
            var entries = new CertificateEntry[certificates.Length];
            for (int i = 0; i < certificates.Length; i++)
            {
                entries[i] = new CertificateEntry(certificates[i], null);
            }

            certificate = new Certificate(certificateRequestContext ?? TlsUtilities.EmptyBytes, entries);
        }
        else
        {
            certificate = new Certificate(certificates);
        }

        return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), crypto, key.Key, certificate, algorithm);
    }

    /// <summary>The DER encodings of a peer's certificate chain, leaf first.</summary>
    public static List<byte[]> GetChain(Certificate? certificate)
    {
        TlsCertificate[] list = certificate?.GetCertificateList() ?? [];
        var chain = new List<byte[]>(list.Length);
        foreach (TlsCertificate entry in list)
        {
            chain.Add(entry.GetEncoded());
        }

        return chain;
    }
}
