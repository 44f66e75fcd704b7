using System.Net;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.EdEC;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;

namespace Talos.Recovery.Testing.Certificates;

/// <summary>
/// A Talos-shaped OS certificate authority for tests: generates a CA (Ed25519 by default, like
/// <c>talosctl gen secrets</c>; ECDSA P-256 as an option) and issues the leaves apid and talosctl use: server
/// certificates with IP/DNS SANs and extended key usage exactly [ServerAuth], client certificates whose subject O
/// values are the Talos roles and extended key usage exactly [ClientAuth]. <see cref="TalosCertificateOptions"/> makes
/// deliberately wrong certificates (expired, wrong usage, other key type); another instance is a "wrong CA".
/// </summary>
/// <example>
/// <code>
/// var ca = TalosCertificateAuthority.Create();
/// TalosCertificate server = ca.IssueServerCertificate("127.0.0.1", "localhost");
/// TalosCertificate admin = ca.IssueClientCertificate("os:admin");
/// TalosCertificate expired = ca.IssueClientCertificate(new TalosCertificateOptions
/// {
///     Organizations = ["os:admin"],
///     NotBefore = DateTimeOffset.UtcNow.AddDays(-2),
///     NotAfter = DateTimeOffset.UtcNow.AddDays(-1),
/// });
/// </code>
/// </example>
public sealed class TalosCertificateAuthority
{

    private static readonly SecureRandom Random = new();

    private readonly AsymmetricKeyParameter _privateKey;
    private readonly X509Certificate _certificate;

    private TalosCertificateAuthority(TalosCertificate certificate, X509Certificate bcCertificate, AsymmetricKeyParameter privateKey)
    {
        Certificate = certificate;
        _certificate = bcCertificate;
        _privateKey = privateKey;
    }

    /// <summary>The CA certificate and key.</summary>
    public TalosCertificate Certificate { get; }

    /// <summary>The CA certificate PEM, as talosconfig's <c>ca</c> holds it.</summary>
    public ReadOnlyMemory<byte> CertificatePem => Certificate.CertificatePem;

    /// <summary>The CA's key algorithm (and so the default for the leaves it issues).</summary>
    public TalosKeyAlgorithm KeyAlgorithm => Certificate.KeyAlgorithm;

    /// <summary>Creates a self-signed CA (<c>O=talos, CN=talos</c>, ten years, key usage cert-sign).</summary>
    /// <param name="algorithm">The key algorithm; Ed25519 by default, like Talos.</param>
    public static TalosCertificateAuthority Create(TalosKeyAlgorithm algorithm = TalosKeyAlgorithm.Ed25519)
        => Create(new TalosCertificateOptions { KeyAlgorithm = algorithm });

    /// <summary>Creates a self-signed CA with the given subject, validity and key algorithm.</summary>
    public static TalosCertificateAuthority Create(TalosCertificateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        TalosKeyAlgorithm algorithm = options.KeyAlgorithm ?? TalosKeyAlgorithm.Ed25519;
        AsymmetricCipherKeyPair pair = GenerateKeyPair(algorithm);
        IReadOnlyList<string> organizations = options.Organizations.Count == 0 ? ["talos"] : options.Organizations;
        X509Name subject = BuildName(organizations, options.CommonName ?? "talos");
        (DateTimeOffset notBefore, DateTimeOffset notAfter) = Validity(options, TimeSpan.FromDays(3650));

        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(NewSerialNumber());
        generator.SetIssuerDN(subject);
        generator.SetSubjectDN(subject);
        generator.SetNotBefore(notBefore.UtcDateTime);
        generator.SetNotAfter(notAfter.UtcDateTime);
        generator.SetPublicKey(pair.Public);
        generator.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(true));
        generator.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(KeyUsage.KeyCertSign | KeyUsage.DigitalSignature));
        AddExtendedKeyUsage(generator, options.ExtendedKeyUsages ?? [TalosExtendedKeyUsage.ServerAuth, TalosExtendedKeyUsage.ClientAuth]);
        generator.AddExtension(X509Extensions.SubjectKeyIdentifier, false, X509ExtensionUtilities.CreateSubjectKeyIdentifier(pair.Public));
        X509Certificate certificate = generator.Generate(SignatureFactory(algorithm, pair.Private));

        var result = new TalosCertificate(certificate.GetEncoded(), EncodeKey(algorithm, pair.Private), algorithm, subject.ToString(), notBefore, notAfter);
        return new TalosCertificateAuthority(result, certificate, pair.Private);
    }

    /// <summary>
    /// Issues a server certificate for the given names (each an IP address or a DNS name), extended key usage exactly
    /// [ServerAuth], valid for one year.
    /// </summary>
    public TalosCertificate IssueServerCertificate(params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var addresses = new List<IPAddress>();
        var dnsNames = new List<string>();
        foreach (string name in names)
        {
            if (IPAddress.TryParse(name, out IPAddress? address))
            {
                addresses.Add(address);
            }
            else
            {
                dnsNames.Add(name);
            }
        }

        return IssueServerCertificate(new TalosCertificateOptions { IPAddresses = addresses, DnsNames = dnsNames });
    }

    /// <summary>Issues a server certificate (default extended key usage exactly [ServerAuth], CN <c>server</c>).</summary>
    public TalosCertificate IssueServerCertificate(TalosCertificateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Issue(options, "server", [TalosExtendedKeyUsage.ServerAuth]);
    }

    /// <summary>Issues a client certificate whose subject O values are <paramref name="roles"/> (e.g. <c>os:admin</c>).</summary>
    public TalosCertificate IssueClientCertificate(params string[] roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        return IssueClientCertificate(new TalosCertificateOptions { Organizations = roles });
    }

    /// <summary>Issues a client certificate (default extended key usage exactly [ClientAuth], CN <c>client</c>).</summary>
    public TalosCertificate IssueClientCertificate(TalosCertificateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Issue(options, "client", [TalosExtendedKeyUsage.ClientAuth]);
    }

    private TalosCertificate Issue(TalosCertificateOptions options, string defaultCommonName, IReadOnlyList<TalosExtendedKeyUsage> defaultUsages)
    {
        TalosKeyAlgorithm algorithm = options.KeyAlgorithm ?? KeyAlgorithm;
        AsymmetricCipherKeyPair pair = GenerateKeyPair(algorithm);
        X509Name subject = BuildName(options.Organizations, options.CommonName ?? defaultCommonName);
        (DateTimeOffset notBefore, DateTimeOffset notAfter) = Validity(options, TimeSpan.FromDays(365));

        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(NewSerialNumber());
        generator.SetIssuerDN(_certificate.SubjectDN);
        generator.SetSubjectDN(subject);
        generator.SetNotBefore(notBefore.UtcDateTime);
        generator.SetNotAfter(notAfter.UtcDateTime);
        generator.SetPublicKey(pair.Public);
        generator.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(false));
        generator.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(KeyUsage.DigitalSignature));
        AddExtendedKeyUsage(generator, options.ExtendedKeyUsages ?? defaultUsages);
        var alternativeNames = new List<GeneralName>();
        foreach (string dnsName in options.DnsNames)
        {
            alternativeNames.Add(new GeneralName(GeneralName.DnsName, dnsName));
        }

        foreach (IPAddress address in options.IPAddresses)
        {
            alternativeNames.Add(new GeneralName(GeneralName.IPAddress, new DerOctetString(address.GetAddressBytes())));
        }

        if (alternativeNames.Count != 0)
        {
            generator.AddExtension(X509Extensions.SubjectAlternativeName, false, new GeneralNames(alternativeNames.ToArray()));
        }

        generator.AddExtension(X509Extensions.SubjectKeyIdentifier, false, X509ExtensionUtilities.CreateSubjectKeyIdentifier(pair.Public));
        generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, X509ExtensionUtilities.CreateAuthorityKeyIdentifier(_certificate));
        X509Certificate certificate = generator.Generate(SignatureFactory(KeyAlgorithm, _privateKey));
        return new TalosCertificate(certificate.GetEncoded(), EncodeKey(algorithm, pair.Private), algorithm, subject.ToString(), notBefore, notAfter);
    }

    private static AsymmetricCipherKeyPair GenerateKeyPair(TalosKeyAlgorithm algorithm)
    {
        switch (algorithm)
        {
            case TalosKeyAlgorithm.Ed25519:
                var ed25519 = new Ed25519KeyPairGenerator();
                ed25519.Init(new Ed25519KeyGenerationParameters(Random));
                return ed25519.GenerateKeyPair();
            case TalosKeyAlgorithm.EcdsaP256:
                var ecdsa = new ECKeyPairGenerator("ECDSA");
                ecdsa.Init(new ECKeyGenerationParameters(SecObjectIdentifiers.SecP256r1, Random));
                return ecdsa.GenerateKeyPair();
            default:
                throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unknown key algorithm.");
        }
    }

    private static Asn1SignatureFactory SignatureFactory(TalosKeyAlgorithm algorithm, AsymmetricKeyParameter key)
        => new(algorithm == TalosKeyAlgorithm.Ed25519 ? "Ed25519" : "SHA256WITHECDSA", key, Random);

    private static byte[] EncodeKey(TalosKeyAlgorithm algorithm, AsymmetricKeyParameter key)
    {
        if (algorithm == TalosKeyAlgorithm.Ed25519)
        {
            // PKCS#8 v1 without the optional public key, as Go's x509.MarshalPKCS8PrivateKey writes it.
            var info = new PrivateKeyInfo(
                new AlgorithmIdentifier(EdECObjectIdentifiers.id_Ed25519),
                new DerOctetString(((Ed25519PrivateKeyParameters)key).GetEncoded()));
            byte[] der = info.GetEncoded(Asn1Encodable.Der);
            try
            {
                return Encoding.ASCII.GetBytes(PemEncoding.WriteString("ED25519 PRIVATE KEY", der) + "\n");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(der);
            }
        }

        byte[] pkcs8 = PrivateKeyInfoFactory.CreatePrivateKeyInfo(key).GetEncoded(Asn1Encodable.Der);
        try
        {
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportPkcs8PrivateKey(pkcs8, out _);
            return Encoding.ASCII.GetBytes(ecdsa.ExportECPrivateKeyPem() + "\n");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    private static void AddExtendedKeyUsage(X509V3CertificateGenerator generator, IReadOnlyList<TalosExtendedKeyUsage> usages)
    {
        if (usages.Count == 0)
        {
            return;
        }

        var purposes = new List<KeyPurposeID>();
        foreach (TalosExtendedKeyUsage usage in usages)
        {
            purposes.Add(usage switch
            {
                TalosExtendedKeyUsage.ServerAuth => KeyPurposeID.id_kp_serverAuth,
                TalosExtendedKeyUsage.ClientAuth => KeyPurposeID.id_kp_clientAuth,
                TalosExtendedKeyUsage.CodeSigning => KeyPurposeID.id_kp_codeSigning,
                _ => throw new ArgumentOutOfRangeException(nameof(usages), usage, "Unknown extended key usage."),
            });
        }

        generator.AddExtension(X509Extensions.ExtendedKeyUsage, false, new ExtendedKeyUsage(purposes));
    }

    private static X509Name BuildName(IReadOnlyList<string> organizations, string commonName)
    {
        var oids = new List<DerObjectIdentifier>();
        var values = new List<string>();
        foreach (string organization in organizations)
        {
            oids.Add(X509Name.O);
            values.Add(organization);
        }

        if (commonName.Length != 0)
        {
            oids.Add(X509Name.CN);
            values.Add(commonName);
        }

        return new X509Name(oids, values);
    }

    private static (DateTimeOffset NotBefore, DateTimeOffset NotAfter) Validity(TalosCertificateOptions options, TimeSpan defaultLifetime)
    {
        DateTimeOffset notBefore = options.NotBefore ?? DateTimeOffset.UtcNow.AddMinutes(-5);
        DateTimeOffset notAfter = options.NotAfter ?? notBefore + defaultLifetime;
        if (notAfter <= notBefore)
        {
            throw new ArgumentException($"{nameof(TalosCertificateOptions.NotAfter)} must be later than {nameof(TalosCertificateOptions.NotBefore)}.", nameof(options));
        }

        // X.509 times have whole seconds.
        return (TruncateToSeconds(notBefore), TruncateToSeconds(notAfter));
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) => new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    private static BigInteger NewSerialNumber() => new BigInteger(127, Random).SetBit(126);

}
