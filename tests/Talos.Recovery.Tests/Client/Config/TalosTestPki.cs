using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using Talos.Recovery.Client;
using BcBigInteger = Org.BouncyCastle.Math.BigInteger;

namespace Talos.Recovery.Tests.Client.Config;

/// <summary>
/// A CA, a client certificate and its key, as PEM text, made at test time (never committed). Ed25519 pairs are made
/// the way Talos makes them: an Ed25519 CA, the key as Go's PKCS#8 (version 0, no public key) under the non-standard
/// label <c>ED25519 PRIVATE KEY</c>, the roles as one multi-valued O RDN.
/// </summary>
internal sealed class TestIdentity
{
    public required TalosKeyType KeyType { get; init; }

    public required byte[] CaPem { get; init; }

    public required byte[] CertificatePem { get; init; }

    /// <summary>The key in Talos's default form for the type: ED25519 PRIVATE KEY, EC PRIVATE KEY (SEC1), RSA PRIVATE KEY (PKCS#1).</summary>
    public required byte[] KeyPem { get; init; }

    /// <summary>The same key as PKCS#8 DER.</summary>
    public required byte[] KeyPkcs8 { get; init; }

    public required DateTimeOffset NotBefore { get; init; }

    public required DateTimeOffset NotAfter { get; init; }

    /// <summary>The key's PKCS#8 DER under another PEM label.</summary>
    public byte[] KeyPemWithLabel(string label) => Ascii(PemEncoding.WriteString(label, KeyPkcs8));

    public static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);
}

internal static class TalosTestPki
{
    private static readonly Lazy<TestIdentity> SharedEd25519 = new(() => CreateEd25519(["os:admin"]));
    private static readonly Lazy<TestIdentity> SharedEcdsa = new(() => CreateEcdsa(["os:admin"]));
    private static readonly Lazy<TestIdentity> SharedRsa = new(() => CreateRsa(["os:admin"]));

    public static TestIdentity Ed25519 => SharedEd25519.Value;

    public static TestIdentity Ecdsa => SharedEcdsa.Value;

    public static TestIdentity Rsa => SharedRsa.Value;

    public static TestIdentity Get(TalosKeyType type) => type switch
    {
        TalosKeyType.Ed25519 => Ed25519,
        TalosKeyType.Ecdsa => Ecdsa,
        _ => Rsa,
    };

    public static TestIdentity CreateEd25519(string[] roles, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        DateTimeOffset from = notBefore ?? DateTimeOffset.UtcNow.AddHours(-1);
        DateTimeOffset to = notAfter ?? DateTimeOffset.UtcNow.AddDays(365);
        AsymmetricCipherKeyPair caKey = NewEd25519Key();
        AsymmetricCipherKeyPair clientKey = NewEd25519Key();
        X509Name caName = new("O=talos");
        Org.BouncyCastle.X509.X509Certificate ca = SignWithBc(caName, caName, caKey.Public, caKey.Private, isCa: true, from, to);
        X509Name subject = X509Name.GetInstance(Asn1Object.FromByteArray(EncodeSubject(roles, utf8: false)));
        Org.BouncyCastle.X509.X509Certificate client = SignWithBc(caName, subject, clientKey.Public, caKey.Private, isCa: false, from, to);
        byte[] seed = ((Ed25519PrivateKeyParameters)clientKey.Private).GetEncoded();
        byte[] pkcs8 = Ed25519Pkcs8(seed);
        return new TestIdentity
        {
            KeyType = TalosKeyType.Ed25519,
            CaPem = CertificatePem(ca.GetEncoded()),
            CertificatePem = CertificatePem(client.GetEncoded()),
            KeyPem = TestIdentity.Ascii(PemEncoding.WriteString("ED25519 PRIVATE KEY", pkcs8)),
            KeyPkcs8 = pkcs8,
            NotBefore = Truncate(from),
            NotAfter = Truncate(to),
        };
    }

    public static TestIdentity CreateEcdsa(string[] roles, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, bool utf8Roles = false)
    {
        DateTimeOffset from = notBefore ?? DateTimeOffset.UtcNow.AddHours(-1);
        DateTimeOffset to = notAfter ?? DateTimeOffset.UtcNow.AddDays(365);
        using ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using ECDsa clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("O=talos", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using X509Certificate2 ca = caRequest.CreateSelfSigned(from, to);
        var request = new CertificateRequest(new X500DistinguishedName(EncodeSubject(roles, utf8Roles)), clientKey, HashAlgorithmName.SHA256);
        AddClientExtensions(request);
        using X509Certificate2 client = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), from, to, [1, 2, 3]);
        return new TestIdentity
        {
            KeyType = TalosKeyType.Ecdsa,
            CaPem = TestIdentity.Ascii(ca.ExportCertificatePem()),
            CertificatePem = TestIdentity.Ascii(client.ExportCertificatePem()),
            KeyPem = TestIdentity.Ascii(clientKey.ExportECPrivateKeyPem()),
            KeyPkcs8 = clientKey.ExportPkcs8PrivateKey(),
            NotBefore = Truncate(from),
            NotAfter = Truncate(to),
        };
    }

    public static TestIdentity CreateRsa(string[] roles)
    {
        DateTimeOffset from = DateTimeOffset.UtcNow.AddHours(-1);
        DateTimeOffset to = DateTimeOffset.UtcNow.AddDays(365);
        using RSA caKey = RSA.Create(2048);
        using RSA clientKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("O=talos", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using X509Certificate2 ca = caRequest.CreateSelfSigned(from, to);
        var request = new CertificateRequest(new X500DistinguishedName(EncodeSubject(roles, utf8: false)), clientKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        AddClientExtensions(request);
        using X509Certificate2 client = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1), from, to, [4, 5, 6]);
        return new TestIdentity
        {
            KeyType = TalosKeyType.Rsa,
            CaPem = TestIdentity.Ascii(ca.ExportCertificatePem()),
            CertificatePem = TestIdentity.Ascii(client.ExportCertificatePem()),
            KeyPem = TestIdentity.Ascii(clientKey.ExportRSAPrivateKeyPem()),
            KeyPkcs8 = clientKey.ExportPkcs8PrivateKey(),
            NotBefore = Truncate(from),
            NotAfter = Truncate(to),
        };
    }

    /// <summary>A certificate for an arbitrary public key (e.g. an Ed448 one .NET cannot make keys for), signed by a fresh ECDSA CA.</summary>
    public static byte[] CertificateForPublicKey(string algorithmOid, byte[] publicKey)
    {
        using ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var key = new PublicKey(new Oid(algorithmOid), null, new AsnEncodedData(publicKey));
        var request = new CertificateRequest(new X500DistinguishedName("O=os:admin"), key, HashAlgorithmName.SHA256);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 certificate = request.Create(new X500DistinguishedName("O=talos"), X509SignatureGenerator.CreateForECDsa(caKey), now.AddHours(-1), now.AddDays(1), [7]);
        return TestIdentity.Ascii(certificate.ExportCertificatePem());
    }

    /// <summary>Go's PKCS#8 for Ed25519 (RFC 8410): version 0, algorithm without parameters, the seed wrapped in an OCTET STRING.</summary>
    public static byte[] Ed25519Pkcs8(byte[] seed, string algorithmOid = "1.3.101.112")
    {
        var inner = new AsnWriter(AsnEncodingRules.DER);
        inner.WriteOctetString(seed);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(0);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(algorithmOid);
            }

            writer.WriteOctetString(inner.Encode());
        }

        return writer.Encode();
    }

    /// <summary>PKCS#8 version 1 with the public key appended ([1] BIT STRING), as BouncyCastle and OpenSSL 3 may write.</summary>
    public static byte[] Ed25519Pkcs8WithPublicKey(byte[] seed, byte[] publicKey)
    {
        var inner = new AsnWriter(AsnEncodingRules.DER);
        inner.WriteOctetString(seed);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(1);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier("1.3.101.112");
            }

            writer.WriteOctetString(inner.Encode());
            writer.WriteBitString(publicKey, 0, new Asn1Tag(TagClass.ContextSpecific, 1));
        }

        return writer.Encode();
    }

    /// <summary>The 32-byte seed inside a Go-style Ed25519 PKCS#8.</summary>
    public static byte[] Ed25519Seed(byte[] pkcs8)
    {
        AsnReader info = new AsnReader(pkcs8, AsnEncodingRules.DER).ReadSequence();
        _ = info.ReadInteger();
        _ = info.ReadSequence();
        return new AsnReader(info.ReadOctetString(), AsnEncodingRules.DER).ReadOctetString();
    }

    public static byte[] Ed25519PublicKey(byte[] seed) => new Ed25519PrivateKeyParameters(seed, 0).GeneratePublicKey().GetEncoded();

    /// <summary>A subject whose O values form one multi-valued RDN, as Go's crypto/x509 encodes pkix.Name.Organization.</summary>
    public static byte[] EncodeSubject(string[] organizations, bool utf8)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            if (organizations.Length > 0)
            {
                using (writer.PushSetOf())
                {
                    foreach (string organization in organizations)
                    {
                        using (writer.PushSequence())
                        {
                            writer.WriteObjectIdentifier("2.5.4.10");
                            writer.WriteCharacterString(utf8 ? UniversalTagNumber.UTF8String : UniversalTagNumber.PrintableString, organization);
                        }
                    }
                }
            }
        }

        return writer.Encode();
    }

    private static void AddClientExtensions(CertificateRequest request)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
    }

    private static AsymmetricCipherKeyPair NewEd25519Key()
    {
        var generator = new Ed25519KeyPairGenerator();
        generator.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
        return generator.GenerateKeyPair();
    }

    private static Org.BouncyCastle.X509.X509Certificate SignWithBc(X509Name issuer, X509Name subject, AsymmetricKeyParameter publicKey, AsymmetricKeyParameter issuerKey, bool isCa, DateTimeOffset from, DateTimeOffset to)
    {
        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(BcBigInteger.ValueOf(RandomNumberGenerator.GetInt32(1, int.MaxValue)));
        generator.SetIssuerDN(issuer);
        generator.SetSubjectDN(subject);
        generator.SetNotBefore(from.UtcDateTime);
        generator.SetNotAfter(to.UtcDateTime);
        generator.SetPublicKey(publicKey);
        generator.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(isCa));
        if (!isCa)
        {
            generator.AddExtension(X509Extensions.ExtendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeID.id_kp_clientAuth));
        }

        return generator.Generate(new Asn1SignatureFactory("Ed25519", issuerKey));
    }

    private static byte[] CertificatePem(byte[] der) => TestIdentity.Ascii(PemEncoding.WriteString("CERTIFICATE", der));

    private static DateTimeOffset Truncate(DateTimeOffset value) =>
        new(value.UtcDateTime.Ticks - (value.UtcDateTime.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
}

/// <summary>Writes talosconfig YAML the way talosctl (Go yaml.v3) writes it, with base64 credential fields.</summary>
internal static class TalosConfigText
{
    public static string Base64(byte[] data) => Convert.ToBase64String(data);

    /// <summary>One context in talosctl's exact layout (4-space indent, indented lists).</summary>
    public static string Single(string name, TestIdentity identity, string[] endpoints, string[]? nodes = null) =>
        $"context: {name}\ncontexts:\n" + Context(name, identity, endpoints, nodes);

    public static string Context(string name, TestIdentity identity, string[] endpoints, string[]? nodes = null)
    {
        var text = new StringBuilder();
        text.Append("    ").Append(name).Append(":\n");
        text.Append("        endpoints:\n");
        foreach (string endpoint in endpoints)
        {
            text.Append("            - ").Append(endpoint).Append('\n');
        }

        if (nodes is { Length: > 0 })
        {
            text.Append("        nodes:\n");
            foreach (string node in nodes)
            {
                text.Append("            - ").Append(node).Append('\n');
            }
        }

        text.Append("        ca: ").Append(Base64(identity.CaPem)).Append('\n');
        text.Append("        crt: ").Append(Base64(identity.CertificatePem)).Append('\n');
        text.Append("        key: ").Append(Base64(identity.KeyPem)).Append('\n');
        return text.ToString();
    }

    /// <summary>A single context "t" with endpoint 10.5.0.2 and the given raw field values (null = left out).</summary>
    public static string WithFields(string? ca, string? crt, string? key)
    {
        var text = new StringBuilder("context: t\ncontexts:\n    t:\n        endpoints:\n            - 10.5.0.2\n");
        if (ca is not null)
        {
            text.Append("        ca: ").Append(ca).Append('\n');
        }

        if (crt is not null)
        {
            text.Append("        crt: ").Append(crt).Append('\n');
        }

        if (key is not null)
        {
            text.Append("        key: ").Append(key).Append('\n');
        }

        return text.ToString();
    }
}
