using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Talos.Recovery.Client.Transport;
using Talos.Recovery.Testing.Certificates;

namespace Talos.Recovery.Tests.Tls;

/// <summary>The Talos-shaped PKI generator: what its certificates and keys contain, read back with .NET's parsers.</summary>
[TestFixture]
public sealed class TalosCertificateAuthorityTests
{
    [Test]
    public void The_default_CA_is_Ed25519_self_signed_for_certificate_signing_with_its_key_under_Talos_label()
    {
        TalosCertificateAuthority ca = TalosCertificateAuthority.Create();
        using X509Certificate2 certificate = ca.Certificate.ToX509Certificate2();
        string keyPem = Encoding.ASCII.GetString(ca.Certificate.KeyPem.Span);
        using TlsPrivateKey key = TlsPem.ReadPrivateKey(ca.Certificate.KeyPem.Span);

        Assert.Multiple(() =>
        {
            Assert.That(ca.KeyAlgorithm, Is.EqualTo(TalosKeyAlgorithm.Ed25519));
            Assert.That(certificate.PublicKey.Oid.Value, Is.EqualTo("1.3.101.112"), "Ed25519");
            Assert.That(certificate.Subject, Is.EqualTo(certificate.Issuer));
            Assert.That(certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority, Is.True);
            Assert.That(certificate.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages & X509KeyUsageFlags.KeyCertSign, Is.EqualTo(X509KeyUsageFlags.KeyCertSign));
            Assert.That(keyPem, Does.StartWith("-----BEGIN ED25519 PRIVATE KEY-----"));
            Assert.That(key.Kind, Is.EqualTo(TlsKeyKind.Ed25519));
            Assert.That(certificate.NotAfter - certificate.NotBefore, Is.GreaterThan(TimeSpan.FromDays(3000)));
        });
    }

    [Test]
    public void A_client_certificate_carries_the_roles_as_O_values_in_order_and_client_auth_only()
    {
        TalosCertificateAuthority ca = TalosCertificateAuthority.Create();
        TalosCertificate client = ca.IssueClientCertificate("os:reader", "os:etcd:backup");
        using X509Certificate2 certificate = client.ToX509Certificate2();

        Assert.Multiple(() =>
        {
            Assert.That(TlsCertificateVerifier.GetOrganizations(certificate), Is.EqualTo(new[] { "os:reader", "os:etcd:backup" }));
            Assert.That(Usages(certificate), Is.EqualTo(new[] { "1.3.6.1.5.5.7.3.2" }));
            Assert.That(certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority, Is.False);
            Assert.That(ChainsTo(certificate, ca, "1.3.6.1.5.5.7.3.2"), Is.True);
        });
    }

    [Test]
    public void A_server_certificate_has_IP_and_DNS_SANs_and_server_auth_only()
    {
        TalosCertificateAuthority ca = TalosCertificateAuthority.Create();
        using X509Certificate2 certificate = ca.IssueServerCertificate("10.5.0.2", "::1", "talos-cp-1").ToX509Certificate2();
        X509SubjectAlternativeNameExtension san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();

        Assert.Multiple(() =>
        {
            Assert.That(san.EnumerateIPAddresses(), Is.EquivalentTo(new[] { IPAddress.Parse("10.5.0.2"), IPAddress.IPv6Loopback }));
            Assert.That(san.EnumerateDnsNames(), Is.EqualTo(new[] { "talos-cp-1" }));
            Assert.That(Usages(certificate), Is.EqualTo(new[] { "1.3.6.1.5.5.7.3.1" }));
            Assert.That(ChainsTo(certificate, ca, "1.3.6.1.5.5.7.3.1"), Is.True);
        });
    }

    [Test]
    public void An_ECDSA_CA_issues_P256_leaves_with_SEC1_keys_that_NET_loads()
    {
        TalosCertificateAuthority ca = TalosCertificateAuthority.Create(TalosKeyAlgorithm.EcdsaP256);
        TalosCertificate client = ca.IssueClientCertificate("os:admin");
        string keyPem = Encoding.ASCII.GetString(client.KeyPem.Span);
        using X509Certificate2 withKey = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(client.CertificatePem.Span), keyPem);
        using ECDsa? ecdsa = withKey.GetECDsaPrivateKey();

        Assert.Multiple(() =>
        {
            Assert.That(client.KeyAlgorithm, Is.EqualTo(TalosKeyAlgorithm.EcdsaP256));
            Assert.That(keyPem, Does.StartWith("-----BEGIN EC PRIVATE KEY-----"));
            Assert.That(ecdsa, Is.Not.Null);
            Assert.That(ecdsa!.ExportParameters(false).Curve.Oid.Value, Is.EqualTo("1.2.840.10045.3.1.7"), "P-256");
            Assert.That(ChainsTo(withKey, ca, "1.3.6.1.5.5.7.3.2"), Is.True);
        });
    }

    [Test]
    public void Options_make_deliberately_wrong_certificates()
    {
        TalosCertificateAuthority ca = TalosCertificateAuthority.Create();
        using X509Certificate2 expired = ca.IssueClientCertificate(new TalosCertificateOptions
        {
            Organizations = ["os:admin"],
            NotBefore = DateTimeOffset.UtcNow.AddDays(-3),
            NotAfter = DateTimeOffset.UtcNow.AddDays(-1),
        }).ToX509Certificate2();
        using X509Certificate2 noUsage = ca.IssueClientCertificate(new TalosCertificateOptions { ExtendedKeyUsages = [] }).ToX509Certificate2();
        using X509Certificate2 ecdsaUnderEd25519 = ca.IssueClientCertificate(new TalosCertificateOptions { KeyAlgorithm = TalosKeyAlgorithm.EcdsaP256 }).ToX509Certificate2();

        Assert.Multiple(() =>
        {
            Assert.That(expired.NotAfter, Is.LessThan(DateTime.Now));
            Assert.That(noUsage.Extensions.OfType<X509EnhancedKeyUsageExtension>(), Is.Empty);
            Assert.That(ecdsaUnderEd25519.PublicKey.Oid.Value, Is.EqualTo("1.2.840.10045.2.1"));
            Assert.That(ChainsTo(ecdsaUnderEd25519, ca, "1.3.6.1.5.5.7.3.2"), Is.True);
            Assert.That(() => ca.IssueClientCertificate(new TalosCertificateOptions { NotBefore = DateTimeOffset.UtcNow, NotAfter = DateTimeOffset.UtcNow.AddDays(-1) }), Throws.ArgumentException);
        });
    }

    [Test]
    public void Key_files_are_written_readable_by_the_owner_only()
    {
        TalosCertificate client = TalosCertificateAuthority.Create().IssueClientCertificate("os:admin");
        string directory = Directory.CreateTempSubdirectory("talos-pki-").FullName;
        try
        {
            client.WritePemFiles(Path.Combine(directory, "client.crt"), Path.Combine(directory, "client.key"));

            Assert.Multiple(() =>
            {
                Assert.That(File.ReadAllBytes(Path.Combine(directory, "client.key")), Is.EqualTo(client.KeyPem.ToArray()));
                if (!OperatingSystem.IsWindows())
                {
                    Assert.That(File.GetUnixFileMode(Path.Combine(directory, "client.key")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
                }
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string[] Usages(X509Certificate2 certificate)
        => certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(oid => oid.Value!).ToArray();

    private static bool ChainsTo(X509Certificate2 certificate, TalosCertificateAuthority ca, string usage)
    {
        using X509Certificate2 root = ca.Certificate.ToX509Certificate2();
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(usage));
        return chain.Build(certificate);
    }
}
