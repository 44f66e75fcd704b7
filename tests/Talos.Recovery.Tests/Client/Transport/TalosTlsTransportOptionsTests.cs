using System.Security.Cryptography;
using System.Text;
using Talos.Recovery.Client;
using Talos.Recovery.Client.Transport;
using Talos.Recovery.Testing.Certificates;

namespace Talos.Recovery.Tests.Client.Transport;

/// <summary>Loading talosconfig-style PEM into a transport: key formats, stack choice and configuration mistakes.</summary>
[TestFixture]
public sealed class TalosTlsTransportOptionsTests
{
    [Test]
    public void An_Ed25519_key_under_the_standard_PKCS8_label_loads_like_Talos_label()
    {
        TalosCertificateAuthority ca = TalosCertificateAuthority.Create();
        TalosCertificate client = ca.IssueClientCertificate("os:admin");
        string relabelled = Encoding.ASCII.GetString(client.KeyPem.Span).Replace("ED25519 PRIVATE KEY", "PRIVATE KEY", StringComparison.Ordinal);

        using TalosTlsTransport transport = TalosTlsTransport.Create(new TalosTlsTransportOptions
        {
            CaPem = ca.CertificatePem,
            ClientCertificatePem = client.CertificatePem,
            ClientKeyPem = Encoding.ASCII.GetBytes(relabelled),
        });

        Assert.That(transport.Stack, Is.EqualTo(TlsStack.BouncyCastle));
    }

    [Test]
    public void ECDSA_keys_choose_SslStream_under_SEC1_and_PKCS8_labels()
    {
        TalosCertificateAuthority ca = TalosCertificateAuthority.Create(TalosKeyAlgorithm.EcdsaP256);
        TalosCertificate client = ca.IssueClientCertificate("os:admin");
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(Encoding.ASCII.GetString(client.KeyPem.Span));

        using TalosTlsTransport sec1 = Create(ca, client.CertificatePem, client.KeyPem);
        using TalosTlsTransport pkcs8 = Create(ca, client.CertificatePem, Encoding.ASCII.GetBytes(ecdsa.ExportPkcs8PrivateKeyPem()));

        Assert.Multiple(() =>
        {
            Assert.That(sec1.Stack, Is.EqualTo(TlsStack.SslStream));
            Assert.That(pkcs8.Stack, Is.EqualTo(TlsStack.SslStream));
        });
    }

    [Test]
    public void An_RSA_key_under_the_PKCS1_label_is_read()
    {
        using var rsa = RSA.Create(2048);
        using TlsPrivateKey key = TlsPem.ReadPrivateKey(Encoding.ASCII.GetBytes(rsa.ExportRSAPrivateKeyPem()));

        Assert.That(key.Kind, Is.EqualTo(TlsKeyKind.Rsa));
    }

    [Test]
    public void Configuration_mistakes_are_argument_errors_that_never_show_the_key()
    {
        TalosCertificateAuthority ca = TalosCertificateAuthority.Create();
        TalosCertificate client = ca.IssueClientCertificate("os:admin");
        TalosCertificate other = ca.IssueClientCertificate("os:admin");
        string keyBody = Encoding.ASCII.GetString(client.KeyPem.Span).Split('\n')[1];

        Assert.Multiple(() =>
        {
            Assert.That(() => Create(ca, client.CertificatePem, null), Throws.ArgumentException.With.Message.Contains("both"));
            Assert.That(() => Create(ca, client.CertificatePem, other.KeyPem), Throws.ArgumentException.With.Message.Contains("does not belong"));
            Assert.That(() => Create(ca, client.CertificatePem, "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"u8.ToArray()),
                Throws.ArgumentException.With.Message.Contains("OPENSSH PRIVATE KEY"));
            Assert.That(() => Create(ca, "not a certificate"u8.ToArray(), client.KeyPem), Throws.ArgumentException.With.Message.Contains("no PEM CERTIFICATE"));
            Assert.That(() => TalosTlsTransport.Create(new TalosTlsTransportOptions { CaPem = "garbage"u8.ToArray() }), Throws.ArgumentException.With.Message.Contains("CA"));
        });
        try
        {
            Create(ca, client.CertificatePem, other.KeyPem).Dispose();
        }
        catch (ArgumentException ex)
        {
            Assert.That(ex.ToString(), Does.Not.Contain(keyBody));
        }
    }

    [Test]
    public void Channel_addresses_use_the_http_scheme_and_bracket_IPv6()
    {
        Assert.Multiple(() =>
        {
            Assert.That(TalosTlsTransport.GetAddress("10.5.0.2", 50000).ToString(), Is.EqualTo("http://10.5.0.2:50000/"));
            Assert.That(TalosTlsTransport.GetAddress("::1", 50000).ToString(), Is.EqualTo("http://[::1]:50000/"));
            Assert.That(TalosTlsTransport.GetAddress("cp-1.example", 50000).ToString(), Is.EqualTo("http://cp-1.example:50000/"));
        });
    }

    [TestCase("The SSL connection could not be established: error:0A000418:SSL routines::tlsv1 alert unknown ca", TlsAlert.UnknownCA)]
    [TestCase("error:0A00045C:SSL routines::tlsv13 alert certificate required", TlsAlert.CertificateRequired)]
    [TestCase("error:0A000412:SSL routines::sslv3 alert bad certificate", TlsAlert.BadCertificate)]
    [TestCase("Connection reset by peer", null)]
    public void OpenSSL_alert_texts_map_to_alerts(string message, TlsAlert? alert)
        => Assert.That(OpenSslAlert.Find(new IOException("outer", new IOException(message))), Is.EqualTo(alert));

    private static TalosTlsTransport Create(TalosCertificateAuthority ca, ReadOnlyMemory<byte>? certificate, ReadOnlyMemory<byte>? key)
        => TalosTlsTransport.Create(new TalosTlsTransportOptions { CaPem = ca.CertificatePem, ClientCertificatePem = certificate, ClientKeyPem = key });
}
