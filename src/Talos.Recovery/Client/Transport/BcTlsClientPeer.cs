using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Talos.Recovery.Client.Transport;

/// <summary>
/// The BouncyCastle TLS client for one connection to apid: TLS 1.3 (1.2 as fallback, ECDHE with AES-GCM or
/// ChaCha20 only), ALPN <c>h2</c>, X25519 key share (P-256/P-384 also offered), SNI only for DNS names, the server
/// verified by <see cref="TlsCertificateVerifier"/>, and the client certificate signed with its own key (Ed25519,
/// ECDSA or RSA).
/// </summary>
internal sealed class BcTlsClientPeer : DefaultTlsClient
{
    private static readonly int[] CipherSuites =
    [
        CipherSuite.TLS_AES_128_GCM_SHA256,
        CipherSuite.TLS_AES_256_GCM_SHA384,
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    private readonly BcTlsCrypto _crypto;
    private readonly BcClientSettings _settings;
    private readonly string _host;
    private readonly bool _hostIsDnsName;
    private readonly TlsConnectionRecord _alerts;

    public BcTlsClientPeer(BcTlsCrypto crypto, BcClientSettings settings, string host, bool hostIsDnsName, TlsConnectionRecord alerts)
        : base(crypto)
    {
        _crypto = crypto;
        _settings = settings;
        _host = host;
        _hostIsDnsName = hostIsDnsName;
        _alerts = alerts;
    }

    /// <summary>Why this client refused the server's certificate, when it did.</summary>
    public TlsVerificationFailure? ServerCertificateFailure { get; private set; }

    /// <summary>Whether the server asked for a client certificate.</summary>
    public bool ClientCertificateRequested { get; private set; }

    /// <summary>Whether this client sent a certificate.</summary>
    public bool ClientCertificateSent { get; private set; }

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.TLSv13.DownTo(ProtocolVersion.TLSv12);

    protected override int[] GetSupportedCipherSuites() => TlsUtilities.GetSupportedCipherSuites(Crypto, CipherSuites);

    protected override IList<int> GetSupportedGroups(IList<int> namedGroupRoles)
    {
        var groups = new List<int>(3);
        foreach (int group in (int[])[NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1])
        {
            if (_crypto.HasNamedGroup(group))
            {
                groups.Add(group);
            }
        }

        return groups;
    }

    public override IList<int> GetEarlyKeyShareGroups() => [NamedGroup.x25519];

    protected override IList<ProtocolName> GetProtocolNames() => [ProtocolName.Http_2_Tls];

    protected override IList<ServerName>? GetSniServerNames()
        => _hostIsDnsName ? [new ServerName(NameType.host_name, System.Text.Encoding.ASCII.GetBytes(_host))] : null;

    public override TlsAuthentication GetAuthentication() => new Authentication(this);

    public override void NotifyAlertRaised(short alertLevel, short alertDescription, string message, Exception cause)
        => _alerts.OnRaised(alertLevel, alertDescription, message);

    public override void NotifyAlertReceived(short alertLevel, short alertDescription)
        => _alerts.OnReceived(alertLevel, alertDescription);

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        _alerts.NegotiatedVersion = m_context.ServerVersion?.ToString();
    }

    private TlsCredentials? GetClientCredentials(CertificateRequest request)
    {
        ClientCertificateRequested = true;
        if (_settings.ClientChain is not { } chain || _settings.ClientKey is not { } key)
        {
            return null;
        }

        TlsCredentialedSigner? signer = BcTlsCredentials.CreateSigner(
            m_context, _crypto, chain, key, request.GetCertificateRequestContext(), request.SupportedSignatureAlgorithms);
        ClientCertificateSent = signer is not null;
        return signer;
    }

    private sealed class Authentication(BcTlsClientPeer owner) : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
        {
            List<byte[]> chain = BcTlsCredentials.GetChain(serverCertificate.Certificate);
            if (owner._settings.Verifier is not { } verifier)
            {
                return; // InsecureSkipVerify: logged when the transport was created and per connection.
            }

            if (verifier.VerifyServer(chain, owner._host) is { } failure)
            {
                owner.ServerCertificateFailure = failure;
                throw new TlsFatalAlert((short)failure.Alert, failure.Reason);
            }
        }

        public TlsCredentials? GetClientCredentials(CertificateRequest certificateRequest) => owner.GetClientCredentials(certificateRequest);
    }
}

/// <summary>What every BC client connection of one transport shares: verifier and client credentials.</summary>
/// <param name="Verifier">The server certificate verifier; <see langword="null"/> when verification is switched off.</param>
/// <param name="ClientChain">The client certificate chain (DER, leaf first), or <see langword="null"/>.</param>
/// <param name="ClientKey">The client key, or <see langword="null"/>.</param>
internal sealed record BcClientSettings(TlsCertificateVerifier? Verifier, IReadOnlyList<byte[]>? ClientChain, TlsPrivateKey? ClientKey);
