using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Talos.Recovery.Tests.Client.Etcd;

/// <summary>
/// A throw-away PKI made at test time (ECDSA P-256): a CA, a server certificate for 127.0.0.1 and etcd.test (not localhost) and a
/// client certificate, plus a second, unrelated CA with its own client certificate. PEM files go to a directory.
/// Nothing here is ever committed.
/// </summary>
internal sealed class TestCertificates : IDisposable
{
    public const string ServerDnsName = "etcd.test";

    private TestCertificates(string directory)
    {
        Directory = directory;
        using ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Ca = CreateCa("CN=Talos.Recovery test CA", caKey);
        using ECDsa otherCaKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        OtherCa = CreateCa("CN=Unrelated test CA", otherCaKey);

        Server = CreateLeaf("CN=etcd test server", Ca, caKey, server: true);
        Client = CreateLeaf("CN=root", Ca, caKey, server: false);
        ForeignClient = CreateLeaf("CN=root", OtherCa, otherCaKey, server: false);

        CaFile = Write("ca.pem", Ca.ExportCertificatePem());
        OtherCaFile = Write("other-ca.pem", OtherCa.ExportCertificatePem());
        ServerCertFile = Write("server.pem", Server.ExportCertificatePem());
        ServerKeyFile = Write("server-key.pem", Server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        ClientCertFile = Write("client.pem", Client.ExportCertificatePem());
        ClientKeyFile = Write("client-key.pem", Client.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        ForeignClientCertFile = Write("foreign-client.pem", ForeignClient.ExportCertificatePem());
        ForeignClientKeyFile = Write("foreign-client-key.pem", ForeignClient.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }

    public string Directory { get; }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 OtherCa { get; }

    public X509Certificate2 Server { get; }

    /// <summary>Client certificate with private key, issued by <see cref="Ca"/>.</summary>
    public X509Certificate2 Client { get; }

    /// <summary>Client certificate with private key, issued by <see cref="OtherCa"/>.</summary>
    public X509Certificate2 ForeignClient { get; }

    public string CaFile { get; }

    public string OtherCaFile { get; }

    public string ServerCertFile { get; }

    public string ServerKeyFile { get; }

    public string ClientCertFile { get; }

    public string ClientKeyFile { get; }

    public string ForeignClientCertFile { get; }

    public string ForeignClientKeyFile { get; }

    public static TestCertificates Create(string directory) => new(directory);

    private static X509Certificate2 CreateCa(string subject, ECDsa key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddHours(-1), now.AddDays(1));
    }

    private static X509Certificate2 CreateLeaf(string subject, X509Certificate2 issuer, ECDsa issuerKey, bool server)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var usages = new OidCollection { new Oid("1.3.6.1.5.5.7.3.2") };
        if (server)
        {
            usages.Add(new Oid("1.3.6.1.5.5.7.3.1"));
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            names.AddDnsName(ServerDnsName);
            request.CertificateExtensions.Add(names.Build());
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using X509Certificate2 certificate = request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(issuerKey), now.AddHours(-1), now.AddDays(1), serial);
        return certificate.CopyWithPrivateKey(key);
    }

    private string Write(string name, string pem)
    {
        string path = Path.Combine(Directory, name);
        File.WriteAllText(path, pem);
        return path;
    }

    public void Dispose()
    {
        Ca.Dispose();
        OtherCa.Dispose();
        Server.Dispose();
        Client.Dispose();
        ForeignClient.Dispose();
    }
}
