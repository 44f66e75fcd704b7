using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Talos.Recovery.Client.Transport;

/// <summary>The kind of a private key, which decides the TLS stack used with it.</summary>
internal enum TlsKeyKind
{
    /// <summary>Ed25519: BouncyCastle TLS (.NET's <c>SslStream</c> cannot use it).</summary>
    Ed25519,

    /// <summary>ECDSA (any named curve .NET knows; Talos uses P-256).</summary>
    Ecdsa,

    /// <summary>RSA.</summary>
    Rsa,
}

/// <summary>
/// A private key read from PEM: the PKCS#8 encoding (for .NET) and the BouncyCastle key (for BC TLS). The PKCS#8
/// bytes are zeroed on <see cref="Dispose"/>. Never logged, never part of a message.
/// </summary>
internal sealed class TlsPrivateKey : IDisposable
{
    private readonly byte[] _pkcs8;

    public TlsPrivateKey(TlsKeyKind kind, byte[] pkcs8, AsymmetricKeyParameter key)
    {
        Kind = kind;
        _pkcs8 = pkcs8;
        Key = key;
    }

    public TlsKeyKind Kind { get; }

    /// <summary>The key in PKCS#8 (<c>PrivateKeyInfo</c>) DER.</summary>
    public ReadOnlySpan<byte> Pkcs8 => _pkcs8;

    /// <summary>The key as BouncyCastle parameters.</summary>
    public AsymmetricKeyParameter Key { get; }

    public void Dispose() => CryptographicOperations.ZeroMemory(_pkcs8);
}

/// <summary>
/// Reads PEM the way talosconfig holds it: certificates (<c>CERTIFICATE</c>) and one private key under any of the
/// labels Talos and OpenSSL use (<c>ED25519 PRIVATE KEY</c> and <c>PRIVATE KEY</c> for PKCS#8, <c>EC PRIVATE KEY</c>
/// for SEC1, <c>RSA PRIVATE KEY</c> for PKCS#1).
/// </summary>
/// <remarks>Compiled into Talos.Recovery and Talos.Recovery.Testing (shared source).</remarks>
internal static class TlsPem
{
    /// <summary>Reads every <c>CERTIFICATE</c> block, in order.</summary>
    /// <exception cref="FormatException">No certificate block, or a block that is not valid base64 / DER.</exception>
    public static List<byte[]> ReadCertificates(ReadOnlySpan<byte> pem, string what)
    {
        var certificates = new List<byte[]>();
        string text = Encoding.ASCII.GetString(pem);
        ReadOnlySpan<char> rest = text;
        while (PemEncoding.TryFind(rest, out PemFields fields))
        {
            ReadOnlySpan<char> label = rest[fields.Label];
            if (label.SequenceEqual("CERTIFICATE"))
            {
                byte[] der = Convert.FromBase64String(rest[fields.Base64Data].ToString());
                if (der.Length == 0)
                {
                    throw new FormatException($"The {what} holds an empty CERTIFICATE block.");
                }

                certificates.Add(der);
            }

            rest = rest[fields.Location.End..];
        }

        if (certificates.Count == 0)
        {
            throw new FormatException($"The {what} holds no PEM CERTIFICATE block.");
        }

        return certificates;
    }

    /// <summary>Reads the first private key block.</summary>
    /// <exception cref="FormatException">No key block, an unsupported label, or a key that cannot be decoded.</exception>
    public static TlsPrivateKey ReadPrivateKey(ReadOnlySpan<byte> pem)
    {
        char[] text = new char[pem.Length];
        try
        {
            int length = Encoding.ASCII.GetChars(pem, text);
            ReadOnlySpan<char> rest = text.AsSpan(0, length);
            while (PemEncoding.TryFind(rest, out PemFields fields))
            {
                ReadOnlySpan<char> label = rest[fields.Label];
                if (label.EndsWith("PRIVATE KEY", StringComparison.Ordinal))
                {
                    byte[] der = new byte[fields.DecodedDataLength];
                    try
                    {
                        if (!Convert.TryFromBase64Chars(rest[fields.Base64Data], der, out int written) || written != der.Length)
                        {
                            throw new FormatException("The private key PEM block is not valid base64.");
                        }

                        return Decode(label.ToString(), der);
                    }
                    finally
                    {
                        CryptographicOperations.ZeroMemory(der);
                    }
                }

                rest = rest[fields.Location.End..];
            }
        }
        finally
        {
            Array.Clear(text);
        }

        throw new FormatException("The client key holds no PEM private key block.");
    }

    private static TlsPrivateKey Decode(string label, byte[] der)
    {
        byte[] pkcs8;
        try
        {
            switch (label)
            {
                case "PRIVATE KEY":
                case "ED25519 PRIVATE KEY":
                    pkcs8 = (byte[])der.Clone();
                    break;
                case "EC PRIVATE KEY":
                    using (var ecdsa = ECDsa.Create())
                    {
                        ecdsa.ImportECPrivateKey(der, out _);
                        pkcs8 = ecdsa.ExportPkcs8PrivateKey();
                    }

                    break;
                case "RSA PRIVATE KEY":
                    using (var rsa = RSA.Create())
                    {
                        rsa.ImportRSAPrivateKey(der, out _);
                        pkcs8 = rsa.ExportPkcs8PrivateKey();
                    }

                    break;
                default:
                    throw new FormatException(
                        $"The private key PEM label '{label}' is not supported (expected ED25519 PRIVATE KEY, PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY; encrypted keys are not supported).");
            }
        }
        catch (CryptographicException ex)
        {
            throw new FormatException($"The {label} block cannot be decoded: {ex.Message}", ex);
        }

        AsymmetricKeyParameter key;
        try
        {
            key = PrivateKeyFactory.CreateKey(pkcs8);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or SecurityUtilityException or Org.BouncyCastle.Asn1.Asn1Exception)
        {
            CryptographicOperations.ZeroMemory(pkcs8);
            throw new FormatException($"The {label} block is not a valid PKCS#8 private key.", ex);
        }

        TlsKeyKind? kind = key switch
        {
            Ed25519PrivateKeyParameters => TlsKeyKind.Ed25519,
            ECPrivateKeyParameters => TlsKeyKind.Ecdsa,
            RsaKeyParameters { IsPrivate: true } => TlsKeyKind.Rsa,
            _ => null,
        };
        if (kind is null)
        {
            CryptographicOperations.ZeroMemory(pkcs8);
            throw new FormatException($"The {label} block holds a {key.GetType().Name}; only Ed25519, ECDSA and RSA private keys are supported.");
        }

        return new TlsPrivateKey(kind.Value, pkcs8, key);
    }
}
