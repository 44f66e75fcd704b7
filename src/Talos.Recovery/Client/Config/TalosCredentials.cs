using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;

namespace Talos.Recovery.Client;

/// <summary>Which credential a <see cref="TalosCredentialException"/> is about.</summary>
internal enum TalosCredentialField
{
    CertificateAuthority,
    Certificate,
    Key,
}

/// <summary>
/// A credential of a context is malformed or inconsistent. Internal: <see cref="TalosConfig"/> turns it into a
/// <see cref="TalosConfigException"/> naming file, context and field; <see cref="TalosConfig.Create"/> into an
/// <see cref="ArgumentException"/>.
/// </summary>
internal sealed class TalosCredentialException : Exception
{
    public TalosCredentialException(TalosCredentialField field, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Field = field;
    }

    public TalosCredentialField Field { get; }
}

/// <summary>
/// How the client certificate and key are called when a message refers to the other one (talosconfig keys or option
/// property names). A message never names its own field: the caller puts that first.
/// </summary>
internal readonly record struct TalosCredentialNames(string Certificate, string Key);

/// <summary>
/// Decodes and checks the <c>ca</c>, <c>crt</c> and <c>key</c> values of a talosconfig context: base64 → PEM →
/// certificates and a private key (Ed25519, ECDSA or RSA) whose public key must be the certificate's.
/// </summary>
internal static class TalosCredentials
{
    private const string CertificateLabel = "CERTIFICATE";
    private const string Ed25519KeyLabel = "ED25519 PRIVATE KEY";
    private const string Pkcs8KeyLabel = "PRIVATE KEY";
    private const string Sec1KeyLabel = "EC PRIVATE KEY";
    private const string Pkcs1KeyLabel = "RSA PRIVATE KEY";
    private const string EcParametersLabel = "EC PARAMETERS";

    private const string Ed25519Oid = "1.3.101.112";
    private const string EcPublicKeyOid = "1.2.840.10045.2.1";
    private const string RsaOid = "1.2.840.113549.1.1.1";
    private const string OrganizationOid = "2.5.4.10";
    private const int Ed25519KeySize = 32;

    /// <summary>Decodes a base64 talosconfig value (white space ignored, as Go's decoder ignores line breaks).</summary>
    public static byte[] DecodeBase64(TalosCredentialField field, string value)
    {
        string trimmed = value.Trim();
        if (trimmed.StartsWith("-----BEGIN", StringComparison.Ordinal))
        {
            throw new TalosCredentialException(
                field,
                "holds PEM text, but a talosconfig stores it base64-encoded on one line (for example the output of 'base64 -w0 file.pem')");
        }

        try
        {
            return Convert.FromBase64String(trimmed);
        }
        catch (FormatException e)
        {
            throw new TalosCredentialException(
                field,
                "is not valid base64; a talosconfig stores the PEM text base64-encoded on one line (for example the output of 'base64 -w0 file.pem')",
                e);
        }
    }

    /// <summary>Parses the trust roots: one or more CERTIFICATE blocks, every block a certificate.</summary>
    public static IReadOnlyList<TalosCertificateInfo> ParseCertificateAuthorities(ReadOnlySpan<byte> pem, TalosCredentialNames names) =>
        ParseCertificates(TalosCredentialField.CertificateAuthority, pem, names);

    /// <summary>Parses the client certificate and key and checks that they belong together.</summary>
    public static TalosClientIdentity ParseClientIdentity(ReadOnlyMemory<byte> certificatePem, ReadOnlyMemory<byte> keyPem, TalosCredentialNames names)
    {
        IReadOnlyList<TalosCertificateInfo> certificates = ParseCertificates(TalosCredentialField.Certificate, certificatePem.Span, names);
        TalosCertificateInfo leaf = certificates[0];
        using PrivateKey key = ParsePrivateKey(keyPem.Span, names);
        CheckKeyMatchesCertificate(key, leaf, names);
        return new TalosClientIdentity(certificatePem, keyPem, key.Type, leaf, certificates.Skip(1).ToArray().AsReadOnly());
    }

    private static IReadOnlyList<TalosCertificateInfo> ParseCertificates(TalosCredentialField field, ReadOnlySpan<byte> pem, TalosCredentialNames names)
    {
        List<PemBlock> blocks = ReadPemBlocks(field, pem);
        var result = new List<TalosCertificateInfo>(blocks.Count);
        for (int i = 0; i < blocks.Count; i++)
        {
            PemBlock block = blocks[i];
            string position = blocks.Count == 1 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $" (PEM block {i + 1} of {blocks.Count})");
            if (block.Label != CertificateLabel)
            {
                string hint = block.Label.EndsWith("PRIVATE KEY", StringComparison.Ordinal)
                    ? field == TalosCredentialField.CertificateAuthority
                        ? "; a private key does not belong here"
                        : $"; are {names.Certificate} and {names.Key} swapped?"
                    : string.Empty;
                throw new TalosCredentialException(field, $"holds a '{block.Label}' PEM block{position}, expected CERTIFICATE{hint}");
            }

            try
            {
                result.Add(ReadCertificate(block.Der));
            }
            catch (CryptographicException e)
            {
                throw new TalosCredentialException(field, $"holds a CERTIFICATE block{position} that is not a valid X.509 certificate ({e.Message})", e);
            }
        }

        return result.AsReadOnly();
    }

    private static TalosCertificateInfo ReadCertificate(byte[] der)
    {
        using X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(der);
        return new TalosCertificateInfo(
            certificate.Subject,
            certificate.Issuer,
            certificate.SerialNumber,
            new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero),
            new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero),
            ReadOrganizations(certificate.SubjectName.RawData),
            der);
    }

    /// <summary>The subject's O values, in encoded order, empty ones skipped (Talos certificates before roles had none).</summary>
    private static ReadOnlyCollection<string> ReadOrganizations(byte[] name)
    {
        var result = new List<string>();
        try
        {
            AsnReader rdns = new AsnReader(name, AsnEncodingRules.DER).ReadSequence();
            while (rdns.HasData)
            {
                AsnReader set = rdns.ReadSetOf();
                while (set.HasData)
                {
                    AsnReader attribute = set.ReadSequence();
                    if (attribute.ReadObjectIdentifier() == OrganizationOid && TryReadDirectoryString(attribute.ReadEncodedValue(), out string? value) && value.Length > 0)
                    {
                        result.Add(value);
                    }
                }
            }
        }
        catch (AsnContentException)
        {
            // .NET accepted the certificate, so its name is DER; keep what was read.
        }

        return result.AsReadOnly();
    }

    /// <summary>Reads a DirectoryString (UTF8String, PrintableString, …); <see langword="false"/> for other encodings.</summary>
    private static bool TryReadDirectoryString(ReadOnlyMemory<byte> encoded, [NotNullWhen(true)] out string? value)
    {
        value = null;
        try
        {
            var reader = new AsnReader(encoded, AsnEncodingRules.DER);
            Asn1Tag tag = reader.PeekTag();
            if (tag.TagClass != TagClass.Universal)
            {
                return false;
            }

            value = reader.ReadCharacterString((UniversalTagNumber)tag.TagValue);
            return true;
        }
        catch (Exception e) when (e is AsnContentException or ArgumentException)
        {
            return false;
        }
    }

    private static PrivateKey ParsePrivateKey(ReadOnlySpan<byte> pem, TalosCredentialNames names)
    {
        const TalosCredentialField field = TalosCredentialField.Key;
        List<PemBlock> blocks = ReadPemBlocks(field, pem);
        try
        {
            PemBlock? keyBlock = null;
            foreach (PemBlock block in blocks)
            {
                switch (block.Label)
                {
                    case EcParametersLabel:
                        continue; // 'openssl ecparam -genkey' writes the curve before the key
                    case Ed25519KeyLabel or Pkcs8KeyLabel or Sec1KeyLabel or Pkcs1KeyLabel:
                        if (keyBlock is not null)
                        {
                            throw new TalosCredentialException(field, $"holds more than one private key; keep only the key of the certificate in {names.Certificate}");
                        }

                        keyBlock = block;
                        break;
                    case CertificateLabel:
                        throw new TalosCredentialException(field, $"holds a certificate, not a private key; are {names.Certificate} and {names.Key} swapped?");
                    case "ENCRYPTED PRIVATE KEY":
                        throw new TalosCredentialException(field, "holds an encrypted private key; a talosconfig key must be unencrypted (decrypt it, for example with 'openssl pkey')");
                    default:
                        throw new TalosCredentialException(
                            field,
                            $"holds a '{block.Label}' PEM block, not a supported private key; expected '{Ed25519KeyLabel}', '{Pkcs8KeyLabel}', '{Sec1KeyLabel}' or '{Pkcs1KeyLabel}'");
                }
            }

            if (keyBlock is null)
            {
                throw new TalosCredentialException(field, "holds no private key, only EC parameters");
            }

            return keyBlock.Label switch
            {
                Sec1KeyLabel => ImportAsymmetric(keyBlock, "SEC1 EC", static der => ImportEc(static (k, d) => k.ImportECPrivateKey(d, out _), der)),
                Pkcs1KeyLabel => ImportAsymmetric(keyBlock, "PKCS#1 RSA", static der => ImportRsa(static (k, d) => k.ImportRSAPrivateKey(d, out _), der)),
                _ => ImportPkcs8(keyBlock),
            };
        }
        finally
        {
            foreach (PemBlock block in blocks)
            {
                if (block.Label != CertificateLabel)
                {
                    CryptographicOperations.ZeroMemory(block.Der);
                }
            }
        }
    }

    private static PrivateKey ImportPkcs8(PemBlock block)
    {
        const TalosCredentialField field = TalosCredentialField.Key;
        string algorithm;
        try
        {
            AsnReader info = new AsnReader(block.Der, AsnEncodingRules.DER).ReadSequence();
            _ = info.ReadInteger();
            AsnReader algorithmIdentifier = info.ReadSequence();
            algorithm = algorithmIdentifier.ReadObjectIdentifier();
        }
        catch (AsnContentException e)
        {
            throw new TalosCredentialException(field, $"holds a '{block.Label}' block that is not a valid PKCS#8 private key ({e.Message})", e);
        }

        if (block.Label == Ed25519KeyLabel && algorithm != Ed25519Oid)
        {
            throw new TalosCredentialException(field, $"is labelled '{Ed25519KeyLabel}' but holds a private key of type {DescribeAlgorithm(algorithm)}");
        }

        return algorithm switch
        {
            Ed25519Oid => ImportEd25519(block),
            EcPublicKeyOid => ImportAsymmetric(block, "PKCS#8 EC", static der => ImportEc(static (k, d) => k.ImportPkcs8PrivateKey(d, out _), der)),
            RsaOid => ImportAsymmetric(block, "PKCS#8 RSA", static der => ImportRsa(static (k, d) => k.ImportPkcs8PrivateKey(d, out _), der)),
            _ => throw new TalosCredentialException(field, $"holds a private key of type {DescribeAlgorithm(algorithm)}; Talos client keys are Ed25519, ECDSA or RSA"),
        };
    }

    private static PrivateKey ImportEd25519(PemBlock block)
    {
        byte[]? seed = null;
        try
        {
            AsnReader info = new AsnReader(block.Der, AsnEncodingRules.DER).ReadSequence();
            int version = (int)info.ReadInteger();
            AsnReader algorithmIdentifier = info.ReadSequence();
            _ = algorithmIdentifier.ReadObjectIdentifier();
            algorithmIdentifier.ThrowIfNotEmpty(); // RFC 8410: no parameters
            byte[] privateKey = info.ReadOctetString();
            try
            {
                seed = new AsnReader(privateKey, AsnEncodingRules.DER).ReadOctetString();
            }
            finally
            {
                CryptographicOperations.ZeroMemory(privateKey);
            }

            if (seed.Length != Ed25519KeySize || version is not (0 or 1))
            {
                throw new AsnContentException(string.Create(CultureInfo.InvariantCulture, $"version {version}, {seed.Length}-byte key; expected a 32-byte key"));
            }

            byte[]? embeddedPublicKey = null;
            var attributesTag = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
            var publicKeyTag = new Asn1Tag(TagClass.ContextSpecific, 1);
            if (info.HasData && info.PeekTag().HasSameClassAndValue(attributesTag))
            {
                _ = info.ReadEncodedValue();
            }

            if (info.HasData)
            {
                embeddedPublicKey = info.ReadBitString(out _, publicKeyTag);
            }

            info.ThrowIfNotEmpty();
            byte[] publicKey = new Ed25519PrivateKeyParameters(seed, 0).GeneratePublicKey().GetEncoded();
            if (embeddedPublicKey is not null && !embeddedPublicKey.AsSpan().SequenceEqual(publicKey))
            {
                throw new TalosCredentialException(TalosCredentialField.Key, "is a damaged Ed25519 key: the public key stored in it does not match its private key");
            }

            return new PrivateKey(TalosKeyType.Ed25519, publicKey, null, null, EncodeEd25519SubjectPublicKeyInfo(publicKey));
        }
        catch (AsnContentException e)
        {
            throw new TalosCredentialException(TalosCredentialField.Key, $"holds a '{block.Label}' block that is not a valid Ed25519 PKCS#8 key ({e.Message})", e);
        }
        finally
        {
            if (seed is not null)
            {
                CryptographicOperations.ZeroMemory(seed);
            }
        }
    }

    private static PrivateKey ImportAsymmetric(PemBlock block, string format, Func<byte[], PrivateKey> import)
    {
        try
        {
            return import(block.Der);
        }
        catch (CryptographicException e)
        {
            throw new TalosCredentialException(TalosCredentialField.Key, $"holds a '{block.Label}' block that is not a valid {format} private key ({e.Message})", e);
        }
    }

    private static PrivateKey ImportEc(Action<ECDsa, byte[]> import, byte[] der)
    {
        ECDsa key = ECDsa.Create();
        try
        {
            import(key, der);
            return new PrivateKey(TalosKeyType.Ecdsa, null, key, null, key.ExportSubjectPublicKeyInfo());
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    private static PrivateKey ImportRsa(Action<RSA, byte[]> import, byte[] der)
    {
        RSA key = RSA.Create();
        try
        {
            import(key, der);
            return new PrivateKey(TalosKeyType.Rsa, null, null, key, key.ExportSubjectPublicKeyInfo());
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    private static void CheckKeyMatchesCertificate(PrivateKey key, TalosCertificateInfo certificate, TalosCredentialNames names)
    {
        using X509Certificate2 x509 = X509CertificateLoader.LoadCertificate(certificate.RawData.Span);
        string algorithm = x509.PublicKey.Oid.Value ?? string.Empty;
        TalosKeyType? certificateType = algorithm switch
        {
            Ed25519Oid => TalosKeyType.Ed25519,
            EcPublicKeyOid => TalosKeyType.Ecdsa,
            RsaOid => TalosKeyType.Rsa,
            _ => null,
        };

        if (certificateType is null)
        {
            throw new TalosCredentialException(
                TalosCredentialField.Certificate,
                $"holds a certificate whose public key is of type {DescribeAlgorithm(algorithm)}; Talos client certificates are Ed25519, ECDSA or RSA");
        }

        if (certificateType != key.Type)
        {
            throw new TalosCredentialException(
                TalosCredentialField.Key,
                $"the private key does not belong to the certificate in {names.Certificate}: the key is {Describe(key.Type)} but the certificate's public key is {Describe(certificateType.Value)}; put the private key of this certificate in {names.Key}");
        }

        bool match = key.Type switch
        {
            TalosKeyType.Ed25519 => x509.PublicKey.EncodedKeyValue.RawData.AsSpan().SequenceEqual(key.Ed25519PublicKey),
            TalosKeyType.Ecdsa => EcPublicKeysEqual(x509, key.Ecdsa!),
            _ => RsaPublicKeysEqual(x509, key.Rsa!),
        };

        if (!match)
        {
            throw new TalosCredentialException(
                TalosCredentialField.Key,
                $"the private key does not belong to the certificate in {names.Certificate}: the certificate's public key has SHA-256 {Fingerprint(x509.PublicKey.ExportSubjectPublicKeyInfo())}, the key's {Fingerprint(key.SubjectPublicKeyInfo)}; put the private key of this certificate in {names.Key}");
        }
    }

    private static bool EcPublicKeysEqual(X509Certificate2 certificate, ECDsa key)
    {
        using ECDsa? certificateKey = certificate.GetECDsaPublicKey();
        if (certificateKey is null)
        {
            return false;
        }

        ECParameters a = certificateKey.ExportParameters(includePrivateParameters: false);
        ECParameters b = key.ExportParameters(includePrivateParameters: false);
        bool sameCurve = !a.Curve.IsNamed || !b.Curve.IsNamed || a.Curve.Oid.Value == b.Curve.Oid.Value;
        return sameCurve && a.Q.X.AsSpan().SequenceEqual(b.Q.X) && a.Q.Y.AsSpan().SequenceEqual(b.Q.Y);
    }

    private static bool RsaPublicKeysEqual(X509Certificate2 certificate, RSA key)
    {
        using RSA? certificateKey = certificate.GetRSAPublicKey();
        if (certificateKey is null)
        {
            return false;
        }

        RSAParameters a = certificateKey.ExportParameters(includePrivateParameters: false);
        RSAParameters b = key.ExportParameters(includePrivateParameters: false);
        return a.Modulus.AsSpan().SequenceEqual(b.Modulus) && a.Exponent.AsSpan().SequenceEqual(b.Exponent);
    }

    private static byte[] EncodeEd25519SubjectPublicKeyInfo(byte[] publicKey)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(Ed25519Oid);
            }

            writer.WriteBitString(publicKey);
        }

        return writer.Encode();
    }

    private static string Fingerprint(byte[] subjectPublicKeyInfo) =>
        Convert.ToHexStringLower(SHA256.HashData(subjectPublicKeyInfo).AsSpan(0, 8)) + "…";

    private static string Describe(TalosKeyType type) => type switch
    {
        TalosKeyType.Ed25519 => "Ed25519",
        TalosKeyType.Ecdsa => "ECDSA",
        _ => "RSA",
    };

    private static string DescribeAlgorithm(string oid) => oid switch
    {
        Ed25519Oid => "Ed25519",
        EcPublicKeyOid => "ECDSA",
        RsaOid => "RSA",
        "1.3.101.113" => "Ed448",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.2.840.10040.4.1" => "DSA",
        "1.2.840.113549.1.1.10" => "RSA-PSS",
        _ => $"unknown ({oid})",
    };

    /// <summary>Splits decoded PEM text into blocks; at least one, each with a valid base64 body.</summary>
    private static List<PemBlock> ReadPemBlocks(TalosCredentialField field, ReadOnlySpan<byte> data)
    {
        if (data.Length > 0 && data[0] == 0x30)
        {
            throw new TalosCredentialException(field, "holds binary DER, not PEM text; base64-encode the PEM file (the text with -----BEGIN … -----END lines)");
        }

        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(data);
        }
        catch (DecoderFallbackException e)
        {
            throw new TalosCredentialException(field, "holds binary data, not PEM text", e);
        }

        var blocks = new List<PemBlock>();
        ReadOnlySpan<char> rest = text;
        while (PemEncoding.TryFind(rest, out PemFields fields))
        {
            // TryFind skips a block it cannot read; text before the block it found must not hold one.
            if (rest[..fields.Location.Start].Contains("-----BEGIN", StringComparison.Ordinal))
            {
                throw MalformedPem(field);
            }

            string label = new(rest[fields.Label]);
            byte[] der = new byte[fields.DecodedDataLength];
            if (!Convert.TryFromBase64Chars(rest[fields.Base64Data], der, out int written) || written != der.Length)
            {
                throw new TalosCredentialException(field, $"holds a malformed '{label}' PEM block");
            }

            blocks.Add(new PemBlock(label, der));
            rest = rest[fields.Location.End..];
        }

        if (rest.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            throw MalformedPem(field);
        }

        if (blocks.Count == 0)
        {
            throw new TalosCredentialException(field, "holds text that is not PEM (no -----BEGIN … -----END block)");
        }

        return blocks;
    }

    private static TalosCredentialException MalformedPem(TalosCredentialField field) =>
        new(field, "holds a malformed PEM block (a broken base64 body, or a missing or mismatched -----END line)");

    private sealed record PemBlock(string Label, byte[] Der);

    /// <summary>A parsed private key, reduced to what the certificate comparison needs.</summary>
    private sealed class PrivateKey(TalosKeyType type, byte[]? ed25519PublicKey, ECDsa? ecdsa, RSA? rsa, byte[] subjectPublicKeyInfo) : IDisposable
    {
        public TalosKeyType Type { get; } = type;

        public byte[]? Ed25519PublicKey { get; } = ed25519PublicKey;

        public ECDsa? Ecdsa { get; } = ecdsa;

        public RSA? Rsa { get; } = rsa;

        public byte[] SubjectPublicKeyInfo { get; } = subjectPublicKeyInfo;

        public void Dispose()
        {
            Ecdsa?.Dispose();
            Rsa?.Dispose();
        }
    }
}
