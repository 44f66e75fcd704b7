using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Crypto.Parameters;
using Talos.Recovery.Client.Transport;

namespace Talos.Recovery.Tests.Client.Transport;

/// <summary>The AesGcm-backed record cipher that replaces BouncyCastle's managed GCM on the BC TLS path: the same bytes, the same failures.</summary>
[TestFixture]
public sealed class NativeAesGcmCipherTests
{
    [TestCase(16, 0)]
    [TestCase(16, 1)]
    [TestCase(16, 1024)]
    [TestCase(32, 16 * 1024 + 1)]
    public void Encrypts_a_record_in_place_to_the_same_bytes_as_BouncyCastle_and_decrypts_it_back(int keySize, int length)
    {
        byte[] key = RandomNumberGenerator.GetBytes(keySize);
        byte[] nonce = RandomNumberGenerator.GetBytes(12);
        byte[] aad = RandomNumberGenerator.GetBytes(5);
        byte[] plaintext = RandomNumberGenerator.GetBytes(length);

        var reference = new GcmBlockCipher(new AesEngine());
        reference.Init(forEncryption: true, new AeadParameters(new KeyParameter(key), 128, nonce, aad));
        byte[] expected = new byte[reference.GetOutputSize(length)];
        int written = reference.ProcessBytes(plaintext, 0, length, expected, 0);
        written += reference.DoFinal(expected, written);
        Assert.That(written, Is.EqualTo(length + 16));

        var encrypt = new NativeAesGcmCipherImpl(encrypt: true);
        encrypt.SetKey(key, 0, keySize);
        encrypt.Init(nonce, 16, aad);
        byte[] record = new byte[encrypt.GetOutputSize(length)];
        plaintext.CopyTo(record, 0);
        Assert.That(encrypt.DoFinal(record, 0, length, record, 0), Is.EqualTo(length + 16));
        Assert.That(record, Is.EqualTo(expected));

        var decrypt = new NativeAesGcmCipherImpl(encrypt: false);
        decrypt.SetKey(key, 0, keySize);
        decrypt.Init(nonce, 16, aad);
        Assert.That(decrypt.GetOutputSize(record.Length), Is.EqualTo(length));
        Assert.That(decrypt.DoFinal(record, 0, record.Length, record, 0), Is.EqualTo(length));
        Assert.That(record.AsSpan(0, length).SequenceEqual(plaintext), Is.True);
    }

    [Test]
    public void A_tampered_record_is_a_bad_record_mac_alert()
    {
        byte[] key = RandomNumberGenerator.GetBytes(16);
        byte[] nonce = RandomNumberGenerator.GetBytes(12);
        var encrypt = new NativeAesGcmCipherImpl(encrypt: true);
        encrypt.SetKey(key, 0, key.Length);
        encrypt.Init(nonce, 16, new byte[5]);
        byte[] record = new byte[100 + 16];
        encrypt.DoFinal(record, 0, 100, record, 0);
        record[7] ^= 1;

        var decrypt = new NativeAesGcmCipherImpl(encrypt: false);
        decrypt.SetKey(key, 0, key.Length);
        decrypt.Init(nonce, 16, new byte[5]);
        TlsFatalAlert? alert = Assert.Throws<TlsFatalAlert>(() => decrypt.DoFinal(record, 0, record.Length, record, 0));
        Assert.That(alert!.AlertDescription, Is.EqualTo(AlertDescription.bad_record_mac));
    }
}
