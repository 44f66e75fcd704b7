using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Talos.Recovery.Testing.Certificates;

/// <summary>
/// A generated certificate and its private key, as PEM in the formats talosconfig and Talos use: the certificate
/// under <c>CERTIFICATE</c>; an Ed25519 key as PKCS#8 under Talos's label <c>ED25519 PRIVATE KEY</c>, an ECDSA key as
/// SEC1 under <c>EC PRIVATE KEY</c>. Immutable. The key is test material: never use it for anything real.
/// </summary>
public sealed class TalosCertificate
{
    private readonly byte[] _certificateDer;
    private readonly byte[] _certificatePem;
    private readonly byte[] _keyPem;

    internal TalosCertificate(byte[] certificateDer, byte[] keyPem, TalosKeyAlgorithm keyAlgorithm, string subject, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        _certificateDer = certificateDer;
        _certificatePem = Encoding.ASCII.GetBytes(PemEncoding.WriteString("CERTIFICATE", certificateDer) + "\n");
        _keyPem = keyPem;
        KeyAlgorithm = keyAlgorithm;
        Subject = subject;
        NotBefore = notBefore;
        NotAfter = notAfter;
    }

    /// <summary>The certificate, DER.</summary>
    public ReadOnlyMemory<byte> CertificateDer => _certificateDer;

    /// <summary>The certificate, PEM (<c>CERTIFICATE</c>), as talosconfig's <c>crt</c>/<c>ca</c> hold it (before base64).</summary>
    public ReadOnlyMemory<byte> CertificatePem => _certificatePem;

    /// <summary>The private key, PEM (<c>ED25519 PRIVATE KEY</c> or <c>EC PRIVATE KEY</c>), as talosconfig's <c>key</c> holds it.</summary>
    public ReadOnlyMemory<byte> KeyPem => _keyPem;

    /// <summary>The key algorithm.</summary>
    public TalosKeyAlgorithm KeyAlgorithm { get; }

    /// <summary>The subject distinguished name, e.g. <c>O=os:admin, CN=client</c>.</summary>
    public string Subject { get; }

    /// <summary>Start of validity.</summary>
    public DateTimeOffset NotBefore { get; }

    /// <summary>End of validity.</summary>
    public DateTimeOffset NotAfter { get; }

    /// <summary>The certificate as an <see cref="X509Certificate2"/> without private key (.NET cannot hold an Ed25519 key).</summary>
    public X509Certificate2 ToX509Certificate2() => X509CertificateLoader.LoadCertificate(_certificateDer);

    /// <summary>
    /// Writes the certificate and key PEM to files (the key file readable by its owner only on Unix), for peers that
    /// read files, such as a Go or OpenSSL server.
    /// </summary>
    public void WritePemFiles(string certificatePath, string keyPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(certificatePath);
        ArgumentException.ThrowIfNullOrEmpty(keyPath);
        File.WriteAllBytes(certificatePath, _certificatePem);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var key = new FileStream(keyPath, options);
        key.Write(_keyPem);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Subject} ({KeyAlgorithm}, valid {NotBefore:u} to {NotAfter:u})";
}
