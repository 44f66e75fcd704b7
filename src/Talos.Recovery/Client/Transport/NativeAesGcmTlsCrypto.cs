using System.Security.Cryptography;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Talos.Recovery.Client.Transport;

/// <summary>
/// BouncyCastle's TLS crypto with the AES-GCM record cipher done by .NET's <see cref="AesGcm"/> (OpenSSL on Linux:
/// AES-NI and carry-less multiply) instead of BouncyCastle's managed GCM. Everything else (handshake, key schedule,
/// nonces, additional data, record framing) stays BouncyCastle's, so the bytes on the wire are the same; only the
/// bulk encryption of application data is faster (it was the largest single cost of a BC TLS connection streaming a
/// snapshot: about 45 % of the simulator's CPU). Falls back to BouncyCastle's GCM when <see cref="AesGcm"/> is not
/// supported or a tag size other than 16 bytes is asked for.
/// </summary>
internal sealed class NativeAesGcmTlsCrypto : BcTlsCrypto
{
    public NativeAesGcmTlsCrypto(SecureRandom random)
        : base(random)
    {
    }

    /// <inheritdoc />
    protected override TlsAeadCipher CreateCipher_Aes_Gcm(TlsCryptoParameters cryptoParams, int cipherKeySize, int macSize)
    {
        if (!AesGcm.IsSupported || macSize != NativeAesGcmCipherImpl.TagSize)
        {
            return base.CreateCipher_Aes_Gcm(cryptoParams, cipherKeySize, macSize);
        }

        return new TlsAeadCipher(cryptoParams, new NativeAesGcmCipherImpl(encrypt: true), new NativeAesGcmCipherImpl(encrypt: false), cipherKeySize, macSize, TlsAeadCipher.AEAD_GCM);
    }
}

/// <summary>One direction of one connection's AES-GCM record protection through <see cref="AesGcm"/> (used under the engine's lock, never concurrently).</summary>
internal sealed class NativeAesGcmCipherImpl(bool encrypt) : TlsAeadCipherImpl
{
    /// <summary>The only tag size TLS's AES-GCM suites use, and the one this cipher supports.</summary>
    public const int TagSize = 16;

    private AesGcm? _aes;
    private byte[]? _nonce;
    private byte[]? _additionalData;

    public void SetKey(byte[] key, int keyOff, int keyLen) => SetKey(key.AsSpan(keyOff, keyLen));

    public void SetKey(ReadOnlySpan<byte> key)
    {
        // A TLS 1.3 key update re-keys the same object: the old native context goes at once.
        _aes?.Dispose();
        _aes = new AesGcm(key, TagSize);
    }

    public void Init(byte[] nonce, int macSize, byte[] additionalData)
    {
        if (macSize != TagSize || nonce.Length != AesGcm.NonceByteSizes.MaxSize)
        {
            throw new TlsFatalAlert(AlertDescription.internal_error);
        }

        _nonce = nonce;
        _additionalData = additionalData;
    }

    public int GetOutputSize(int inputLength) => encrypt ? inputLength + TagSize : Math.Max(0, inputLength - TagSize);

    public int DoFinal(byte[] input, int inputOffset, int inputLength, byte[] output, int outputOffset)
        => DoFinal(null, input, inputOffset, inputLength, output, outputOffset);

    public int DoFinal(byte[]? additionalData, byte[] input, int inputOffset, int inputLength, byte[] output, int outputOffset)
    {
        AesGcm aes = _aes ?? throw new TlsFatalAlert(AlertDescription.internal_error);
        byte[] nonce = _nonce ?? throw new TlsFatalAlert(AlertDescription.internal_error);
        ReadOnlySpan<byte> aad = Combine(_additionalData, additionalData);

        // Input and output are either disjoint or the very same bytes (BC works in place); AesGcm allows both.
        if (encrypt)
        {
            aes.Encrypt(nonce, input.AsSpan(inputOffset, inputLength), output.AsSpan(outputOffset, inputLength), output.AsSpan(outputOffset + inputLength, TagSize), aad);
            return inputLength + TagSize;
        }

        int plaintextLength = inputLength - TagSize;
        if (plaintextLength < 0)
        {
            throw new TlsFatalAlert(AlertDescription.bad_record_mac);
        }

        try
        {
            aes.Decrypt(nonce, input.AsSpan(inputOffset, plaintextLength), input.AsSpan(inputOffset + plaintextLength, TagSize), output.AsSpan(outputOffset, plaintextLength), aad);
        }
        catch (CryptographicException ex)
        {
            // Authentication failed (AuthenticationTagMismatchException): the record was tampered with, as BC reports it.
            throw new TlsFatalAlert(AlertDescription.bad_record_mac, ex);
        }

        return plaintextLength;
    }

    public void Reset()
    {
        // Nothing is kept between records except the key; the next Init sets nonce and additional data.
    }

    private static byte[]? Combine(byte[]? first, byte[]? second)
    {
        if (first is null || first.Length == 0)
        {
            return second;
        }

        if (second is null || second.Length == 0)
        {
            return first;
        }

        return [.. first, .. second]; // not seen with BC 2.7 (the additional data comes one way or the other)
    }
}
