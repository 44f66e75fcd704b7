using System.Security.Cryptography;
using System.Text;
using Talos.Recovery.Client;

namespace Talos.Recovery.Tests.Client.Config;

public class TalosCredentialTests
{
    private const string Path = "/cfg/talosconfig";

    private static string B64(byte[] data) => Convert.ToBase64String(data);

    private static string B64(string text) => Convert.ToBase64String(Encoding.ASCII.GetBytes(text));

    private static TalosContext Load(TestIdentity identity, byte[]? certificatePem = null, byte[]? keyPem = null, byte[]? caPem = null) =>
        TalosConfig.Parse(TalosConfigText.WithFields(B64(caPem ?? identity.CaPem), B64(certificatePem ?? identity.CertificatePem), B64(keyPem ?? identity.KeyPem)), Path).GetContext();

    private static TalosConfigException Refused(string? ca, string? crt, string? key) =>
        Assert.Throws<TalosConfigException>(() => TalosConfig.Parse(TalosConfigText.WithFields(ca, crt, key), Path).GetContext())!;

    private static void AssertRefused(TalosConfigException error, string field, string messageStart)
    {
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.StartWith($"talosconfig '{Path}': contexts.t.{field}: {messageStart}"));
            Assert.That(error.Field, Is.EqualTo($"contexts.t.{field}"));
            Assert.That(error.ContextName, Is.EqualTo("t"));
            Assert.That(error.Path, Is.EqualTo(Path));
            Assert.That(error, Is.InstanceOf<TalosRecoveryException>());
        });
    }

    // --- accepted keys ---

    [TestCase(TalosKeyType.Ed25519)]
    [TestCase(TalosKeyType.Ecdsa)]
    [TestCase(TalosKeyType.Rsa)]
    public void A_key_in_talos_default_form_is_accepted_with_its_type(TalosKeyType type)
    {
        TestIdentity identity = TalosTestPki.Get(type);

        TalosClientIdentity client = Load(identity).ClientIdentity!;

        Assert.Multiple(() =>
        {
            Assert.That(client.KeyType, Is.EqualTo(type));
            Assert.That(client.PrivateKeyPem.ToArray(), Is.EqualTo(identity.KeyPem));
            Assert.That(client.Certificate.NotBefore, Is.EqualTo(identity.NotBefore));
            Assert.That(client.Certificate.NotAfter, Is.EqualTo(identity.NotAfter));
            Assert.That(client.Certificate.IsValidAt(DateTimeOffset.UtcNow), Is.True);
            Assert.That(client.Chain, Is.Empty);
        });
    }

    [TestCase(TalosKeyType.Ed25519)]
    [TestCase(TalosKeyType.Ecdsa)]
    [TestCase(TalosKeyType.Rsa)]
    public void A_pkcs8_PRIVATE_KEY_is_accepted_for_every_type(TalosKeyType type)
    {
        TestIdentity identity = TalosTestPki.Get(type);

        TalosClientIdentity client = Load(identity, keyPem: identity.KeyPemWithLabel("PRIVATE KEY")).ClientIdentity!;

        Assert.That(client.KeyType, Is.EqualTo(type));
    }

    [Test]
    public void An_ed25519_pkcs8_v2_key_carrying_its_public_key_is_accepted()
    {
        TestIdentity identity = TalosTestPki.Ed25519;
        byte[] seed = TalosTestPki.Ed25519Seed(identity.KeyPkcs8);
        byte[] pkcs8 = TalosTestPki.Ed25519Pkcs8WithPublicKey(seed, TalosTestPki.Ed25519PublicKey(seed));

        TalosClientIdentity client = Load(identity, keyPem: TestIdentity.Ascii(PemEncoding.WriteString("PRIVATE KEY", pkcs8))).ClientIdentity!;

        Assert.That(client.KeyType, Is.EqualTo(TalosKeyType.Ed25519));
    }

    [Test]
    public void An_ec_key_after_an_EC_PARAMETERS_block_is_accepted()
    {
        TestIdentity identity = TalosTestPki.Ecdsa;
        string parameters = PemEncoding.WriteString("EC PARAMETERS", [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);

        TalosClientIdentity client = Load(identity, keyPem: TestIdentity.Ascii(parameters + "\n" + Encoding.ASCII.GetString(identity.KeyPem))).ClientIdentity!;

        Assert.That(client.KeyType, Is.EqualTo(TalosKeyType.Ecdsa));
    }

    [Test]
    public void A_ca_bundle_of_several_certificates_with_text_between_them_is_accepted()
    {
        string bundle = "Talos OS CA\n" + Encoding.ASCII.GetString(TalosTestPki.Ed25519.CaPem) + "\naccepted CA\n" + Encoding.ASCII.GetString(TalosTestPki.Ecdsa.CaPem);

        TalosContext context = Load(TalosTestPki.Ed25519, caPem: TestIdentity.Ascii(bundle));

        Assert.That(context.CertificateAuthorities, Has.Count.EqualTo(2));
        Assert.That(context.CertificateAuthorityPem.ToArray(), Is.EqualTo(TestIdentity.Ascii(bundle)));
    }

    [Test]
    public void A_client_certificate_followed_by_its_ca_exposes_the_chain()
    {
        TestIdentity identity = TalosTestPki.Ecdsa;
        byte[] chain = [.. identity.CertificatePem, .. "\n"u8, .. identity.CaPem];

        TalosClientIdentity client = Load(identity, certificatePem: chain).ClientIdentity!;

        Assert.That(client.Chain.Single().Subject, Is.EqualTo("O=talos"));
    }

    // --- roles and validity ---

    [Test]
    public void Roles_are_every_subject_organization_of_a_multi_valued_rdn()
    {
        // Go puts all O values in one RDN, a DER SET OF, whose order is the encoding's, not the order written.
        TestIdentity identity = TalosTestPki.CreateEd25519(["os:etcd:backup", "os:reader"]);

        Assert.That(Load(identity).ClientIdentity!.Roles, Is.EquivalentTo(new[] { "os:etcd:backup", "os:reader" }));
    }

    [Test]
    public void Utf8_roles_are_read_and_empty_organizations_are_ignored()
    {
        TestIdentity identity = TalosTestPki.CreateEcdsa(["", "os:operator"], utf8Roles: true);

        Assert.That(Load(identity).ClientIdentity!.Roles, Is.EqualTo(new[] { "os:operator" }));
    }

    [Test]
    public void A_certificate_without_organization_has_no_roles()
    {
        Assert.That(Load(TalosTestPki.CreateEcdsa([])).ClientIdentity!.Roles, Is.Empty);
    }

    [Test]
    public void An_expired_certificate_loads_and_exposes_its_validity_for_the_caller_to_judge()
    {
        DateTimeOffset notAfter = DateTimeOffset.UtcNow.AddDays(-1);
        TestIdentity identity = TalosTestPki.CreateEd25519(["os:admin"], notAfter.AddDays(-30), notAfter);

        TalosCertificateInfo certificate = Load(identity).ClientIdentity!.Certificate;

        Assert.That(certificate.NotAfter, Is.EqualTo(identity.NotAfter));
        Assert.That(certificate.IsValidAt(DateTimeOffset.UtcNow), Is.False);
        Assert.That(certificate.IsValidAt(notAfter.AddDays(-1)), Is.True);
    }

    [Test]
    public void A_not_yet_valid_certificate_loads_and_says_so()
    {
        DateTimeOffset notBefore = DateTimeOffset.UtcNow.AddDays(2);
        TestIdentity identity = TalosTestPki.CreateEcdsa(["os:admin"], notBefore, notBefore.AddDays(30));

        TalosCertificateInfo certificate = Load(identity).ClientIdentity!.Certificate;

        Assert.That(certificate.NotBefore, Is.EqualTo(identity.NotBefore));
        Assert.That(certificate.IsValidAt(DateTimeOffset.UtcNow), Is.False);
    }

    // --- crt and key go together ---

    [Test]
    public void A_certificate_without_key_is_refused()
    {
        TalosConfigException error = Refused(null, B64(TalosTestPki.Ed25519.CertificatePem), null);

        AssertRefused(error, "key", "'crt' is set but 'key' is missing; a client certificate needs its private key. Set both or neither.");
    }

    [Test]
    public void A_key_without_certificate_is_refused()
    {
        TalosConfigException error = Refused(null, null, B64(TalosTestPki.Ed25519.KeyPem));

        AssertRefused(error, "crt", "'key' is set but 'crt' is missing; a private key needs its client certificate. Set both or neither.");
    }

    // --- encoding mistakes ---

    [Test]
    public void Invalid_base64_is_refused()
    {
        TalosConfigException error = Refused(null, "not*base64", B64(TalosTestPki.Ed25519.KeyPem));

        AssertRefused(error, "crt", "is not valid base64; a talosconfig stores the PEM text base64-encoded on one line (for example the output of 'base64 -w0 file.pem').");
        Assert.That(error.InnerException, Is.InstanceOf<FormatException>());
    }

    [Test]
    public void Pem_text_where_base64_is_expected_is_refused_with_the_fix()
    {
        string pem = Encoding.ASCII.GetString(TalosTestPki.Ed25519.KeyPem).Replace("\n", " ", StringComparison.Ordinal);

        TalosConfigException error = Refused(null, B64(TalosTestPki.Ed25519.CertificatePem), $"'{pem}'");

        AssertRefused(error, "key", "holds PEM text, but a talosconfig stores it base64-encoded on one line");
    }

    [Test]
    public void Base64_of_der_instead_of_pem_is_refused()
    {
        string pem = Encoding.ASCII.GetString(TalosTestPki.Ecdsa.CaPem);
        byte[] der = Convert.FromBase64String(pem[PemEncoding.Find(pem).Base64Data]);

        AssertRefused(Refused(B64(der), null, null), "ca", "holds binary DER, not PEM text;");
    }

    [Test]
    public void Text_that_is_not_pem_is_refused()
    {
        AssertRefused(Refused(B64("hello world"), null, null), "ca", "holds text that is not PEM (no -----BEGIN … -----END block).");
    }

    [Test]
    public void Binary_data_that_is_not_text_is_refused()
    {
        AssertRefused(Refused(B64([0xff, 0xfe, 0x01]), null, null), "ca", "holds binary data, not PEM text.");
    }

    [Test]
    public void A_pem_block_with_a_broken_body_is_refused()
    {
        AssertRefused(Refused(B64("-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n"), null, null), "ca", "holds a malformed PEM block");
    }

    [Test]
    public void A_broken_pem_block_before_a_valid_one_is_not_skipped()
    {
        string text = "-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n" + Encoding.ASCII.GetString(TalosTestPki.Ecdsa.CaPem);

        AssertRefused(Refused(B64(text), null, null), "ca", "holds a malformed PEM block");
    }

    [Test]
    public void A_pem_block_without_its_end_line_is_refused()
    {
        string truncated = Encoding.ASCII.GetString(TalosTestPki.Ecdsa.CaPem).Split("-----END")[0];

        AssertRefused(Refused(B64(truncated), null, null), "ca", "holds a malformed PEM block");
    }

    // --- PEM that is not what the field needs ---

    [Test]
    public void A_private_key_in_ca_is_refused()
    {
        AssertRefused(Refused(B64(TalosTestPki.Ed25519.KeyPem), null, null), "ca", "holds a 'ED25519 PRIVATE KEY' PEM block, expected CERTIFICATE; a private key does not belong here.");
    }

    [Test]
    public void A_broken_second_certificate_in_ca_is_refused_naming_its_position()
    {
        string bundle = Encoding.ASCII.GetString(TalosTestPki.Ed25519.CaPem) + "\n" + PemEncoding.WriteString("CERTIFICATE", [0x30, 0x03, 0x02, 0x01, 0x01]);

        TalosConfigException error = Refused(B64(bundle), null, null);

        AssertRefused(error, "ca", "holds a CERTIFICATE block (PEM block 2 of 2) that is not a valid X.509 certificate");
        Assert.That(error.InnerException, Is.InstanceOf<CryptographicException>());
    }

    [Test]
    public void Swapped_crt_and_key_are_refused_with_the_hint()
    {
        TestIdentity identity = TalosTestPki.Ed25519;

        TalosConfigException error = Refused(null, B64(identity.KeyPem), B64(identity.CertificatePem));

        AssertRefused(error, "crt", "holds a 'ED25519 PRIVATE KEY' PEM block, expected CERTIFICATE; are 'contexts.t.crt' and 'contexts.t.key' swapped?");
    }

    [Test]
    public void A_certificate_in_key_is_refused()
    {
        TestIdentity identity = TalosTestPki.Ed25519;

        TalosConfigException error = Refused(null, B64(identity.CertificatePem), B64(identity.CertificatePem));

        AssertRefused(error, "key", "holds a certificate, not a private key; are 'contexts.t.crt' and 'contexts.t.key' swapped?");
    }

    [Test]
    public void An_encrypted_key_is_refused()
    {
        TalosConfigException error = Refused(null, B64(TalosTestPki.Ecdsa.CertificatePem), B64(PemEncoding.WriteString("ENCRYPTED PRIVATE KEY", [0x30, 0x00])));

        AssertRefused(error, "key", "holds an encrypted private key; a talosconfig key must be unencrypted");
    }

    [Test]
    public void An_unknown_pem_label_in_key_is_refused_listing_the_supported_ones()
    {
        TalosConfigException error = Refused(null, B64(TalosTestPki.Ecdsa.CertificatePem), B64(PemEncoding.WriteString("OPENSSH PRIVATE KEY", [1, 2, 3])));

        AssertRefused(error, "key", "holds a 'OPENSSH PRIVATE KEY' PEM block, not a supported private key; expected 'ED25519 PRIVATE KEY', 'PRIVATE KEY', 'EC PRIVATE KEY' or 'RSA PRIVATE KEY'.");
    }

    [Test]
    public void Two_keys_are_refused()
    {
        TestIdentity identity = TalosTestPki.Ecdsa;
        byte[] twoKeys = [.. identity.KeyPem, .. "\n"u8, .. identity.KeyPemWithLabel("PRIVATE KEY")];

        AssertRefused(Refused(null, B64(identity.CertificatePem), B64(twoKeys)), "key", "holds more than one private key");
    }

    [Test]
    public void Ec_parameters_without_a_key_are_refused()
    {
        string parameters = PemEncoding.WriteString("EC PARAMETERS", [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);

        AssertRefused(Refused(null, B64(TalosTestPki.Ecdsa.CertificatePem), B64(parameters)), "key", "holds no private key, only EC parameters.");
    }

    // --- keys of unknown or inconsistent type, malformed keys ---

    [TestCase("1.3.101.113", 57, "Ed448")]
    [TestCase("1.3.101.110", 32, "X25519")]
    [TestCase("1.2.3.4", 32, "unknown (1.2.3.4)")]
    public void A_key_of_an_unsupported_type_is_refused(string oid, int length, string name)
    {
        byte[] pkcs8 = TalosTestPki.Ed25519Pkcs8(RandomNumberGenerator.GetBytes(length), oid);

        TalosConfigException error = Refused(null, B64(TalosTestPki.Ed25519.CertificatePem), B64(PemEncoding.WriteString("PRIVATE KEY", pkcs8)));

        AssertRefused(error, "key", $"holds a private key of type {name}; Talos client keys are Ed25519, ECDSA or RSA.");
    }

    [Test]
    public void An_ED25519_label_over_another_key_type_is_refused()
    {
        TestIdentity identity = TalosTestPki.Ecdsa;

        TalosConfigException error = Refused(null, B64(identity.CertificatePem), B64(identity.KeyPemWithLabel("ED25519 PRIVATE KEY")));

        AssertRefused(error, "key", "is labelled 'ED25519 PRIVATE KEY' but holds a private key of type ECDSA.");
    }

    [TestCase("PRIVATE KEY", "is not a valid PKCS#8 private key")]
    [TestCase("EC PRIVATE KEY", "is not a valid SEC1 EC private key")]
    [TestCase("RSA PRIVATE KEY", "is not a valid PKCS#1 RSA private key")]
    [TestCase("ED25519 PRIVATE KEY", "is not a valid PKCS#8 private key")]
    public void A_malformed_key_body_is_refused(string label, string problem)
    {
        byte[] garbage = [0x30, 0x03, 0x02, 0x01, 0x05];

        TalosConfigException error = Refused(null, B64(TalosTestPki.Ecdsa.CertificatePem), B64(PemEncoding.WriteString(label, garbage)));

        AssertRefused(error, "key", $"holds a '{label}' block that {problem}");
    }

    [Test]
    public void An_ed25519_key_of_the_wrong_length_is_refused()
    {
        byte[] pkcs8 = TalosTestPki.Ed25519Pkcs8(RandomNumberGenerator.GetBytes(31));

        TalosConfigException error = Refused(null, B64(TalosTestPki.Ed25519.CertificatePem), B64(PemEncoding.WriteString("ED25519 PRIVATE KEY", pkcs8)));

        AssertRefused(error, "key", "holds a 'ED25519 PRIVATE KEY' block that is not a valid Ed25519 PKCS#8 key");
    }

    [Test]
    public void An_ed25519_key_whose_stored_public_key_is_wrong_is_refused()
    {
        byte[] seed = TalosTestPki.Ed25519Seed(TalosTestPki.Ed25519.KeyPkcs8);
        byte[] pkcs8 = TalosTestPki.Ed25519Pkcs8WithPublicKey(seed, RandomNumberGenerator.GetBytes(32));

        TalosConfigException error = Refused(null, B64(TalosTestPki.Ed25519.CertificatePem), B64(PemEncoding.WriteString("PRIVATE KEY", pkcs8)));

        AssertRefused(error, "key", "is a damaged Ed25519 key: the public key stored in it does not match its private key.");
    }

    // --- key does not belong to the certificate ---

    [TestCase(TalosKeyType.Ed25519)]
    [TestCase(TalosKeyType.Ecdsa)]
    [TestCase(TalosKeyType.Rsa)]
    public void A_key_of_another_certificate_is_refused(TalosKeyType type)
    {
        TestIdentity identity = TalosTestPki.Get(type);
        TestIdentity other = type switch
        {
            TalosKeyType.Ed25519 => TalosTestPki.CreateEd25519(["os:admin"]),
            TalosKeyType.Ecdsa => TalosTestPki.CreateEcdsa(["os:admin"]),
            _ => TalosTestPki.CreateRsa(["os:admin"]),
        };

        TalosConfigException error = Refused(B64(identity.CaPem), B64(identity.CertificatePem), B64(other.KeyPem));

        AssertRefused(error, "key", "the private key does not belong to the certificate in 'contexts.t.crt': the certificate's public key has SHA-256 ");
        Assert.That(error.Message, Does.EndWith("; put the private key of this certificate in 'contexts.t.key'."));
    }

    [TestCase(TalosKeyType.Ecdsa, TalosKeyType.Ed25519, "ECDSA", "Ed25519")]
    [TestCase(TalosKeyType.Ed25519, TalosKeyType.Rsa, "Ed25519", "RSA")]
    [TestCase(TalosKeyType.Rsa, TalosKeyType.Ecdsa, "RSA", "ECDSA")]
    public void A_key_of_another_type_than_the_certificate_is_refused(TalosKeyType keyType, TalosKeyType certificateType, string keyName, string certificateName)
    {
        TalosConfigException error = Refused(null, B64(TalosTestPki.Get(certificateType).CertificatePem), B64(TalosTestPki.Get(keyType).KeyPem));

        AssertRefused(error, "key", $"the private key does not belong to the certificate in 'contexts.t.crt': the key is {keyName} but the certificate's public key is {certificateName};");
    }

    [Test]
    public void A_certificate_with_an_unsupported_public_key_type_is_refused()
    {
        byte[] certificate = TalosTestPki.CertificateForPublicKey("1.3.101.113", RandomNumberGenerator.GetBytes(57));

        TalosConfigException error = Refused(null, B64(certificate), B64(TalosTestPki.Ed25519.KeyPem));

        AssertRefused(error, "crt", "holds a certificate whose public key is of type Ed448; Talos client certificates are Ed25519, ECDSA or RSA.");
    }
}
