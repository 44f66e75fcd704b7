using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Tls;
using CertificateRequest = Org.BouncyCastle.Tls.CertificateRequest;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using Talos.Recovery.Client;
using Talos.Recovery.Client.Transport;

namespace Talos.Recovery.Testing.Tls;

/// <summary>
/// The BouncyCastle TLS server for one connection, with apid's settings: TLS 1.3 and 1.2 (the only 1.2 suite
/// ECDHE_ECDSA_WITH_AES_256_GCM_SHA384), X25519 only, ALPN <c>h2</c>, no session tickets, a client certificate required
/// and verified against the accepted CAs, every non-CA certificate with extended key usage exactly [ClientAuth].
/// Refusals use the alerts recent Go versions send (<c>certificate_required</c>, <c>unknown_ca</c>,
/// <c>certificate_expired</c>, otherwise <c>bad_certificate</c>).
/// </summary>
internal sealed class BcTlsServerPeer : DefaultTlsServer
{
    private static readonly int[] CipherSuites =
    [
        CipherSuite.TLS_AES_128_GCM_SHA256,
        CipherSuite.TLS_AES_256_GCM_SHA384,
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ];

    private readonly BcTlsCrypto _crypto;
    private readonly ServerCredentials _credentials;
    private readonly TlsConnectionRecord _record;

    public BcTlsServerPeer(BcTlsCrypto crypto, ServerCredentials credentials, TlsConnectionRecord record)
        : base(crypto)
    {
        _crypto = crypto;
        _credentials = credentials;
        _record = record;
    }

    /// <summary>Why the client certificate was refused, when it was.</summary>
    public TlsVerificationFailure? ClientFailure { get; private set; }

    /// <summary>The accepted client, after the handshake.</summary>
    public ClientIdentity? Client { get; private set; }

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.TLSv13.DownTo(ProtocolVersion.TLSv12);

    protected override int[] GetSupportedCipherSuites() => TlsUtilities.GetSupportedCipherSuites(Crypto, CipherSuites);

    public override int[] GetSupportedGroups() => [NamedGroup.x25519];

    protected override IList<ProtocolName> GetProtocolNames() => [ProtocolName.Http_2_Tls];

    public override TlsCredentials GetCredentials()
    {
        SecurityParameters parameters = m_context.SecurityParameters;
        return BcTlsCredentials.CreateSigner(m_context, _crypto, _credentials.Chain, _credentials.Key, null, parameters.ClientSigAlgs)
            ?? throw new TlsFatalAlert(AlertDescription.handshake_failure, "The client accepts no signature algorithm of the server key.");
    }

    public override CertificateRequest GetCertificateRequest()
    {
        IList<SignatureAndHashAlgorithm> algorithms = BcTlsCredentials.SupportedSignatureAlgorithms;
        return TlsUtilities.IsTlsV13(m_context)
            ? new CertificateRequest(TlsUtilities.EmptyBytes, algorithms, null, null)
            : new CertificateRequest([ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign], algorithms, null);
    }

    public override void NotifyClientCertificate(Certificate clientCertificate)
    {
        List<byte[]> chain = BcTlsCredentials.GetChain(clientCertificate);
        if (chain.Count == 0)
        {
            TlsAlert alert = TlsUtilities.IsTlsV13(m_context) ? TlsAlert.CertificateRequired : TlsAlert.BadCertificate;
            ClientFailure = new TlsVerificationFailure(TalosTlsFailure.ClientCertificateRejected, alert, "the client sent no certificate");
            throw new TlsFatalAlert((short)alert, ClientFailure.Reason);
        }

        if (_credentials.ClientVerifier.VerifyClient(chain, out IReadOnlyList<string> roles) is { } failure)
        {
            ClientFailure = failure;
            throw new TlsFatalAlert((short)failure.Alert, failure.Reason);
        }

        using X509Certificate2 leaf = X509CertificateLoader.LoadCertificate(chain[0]);
        Client = new ClientIdentity(roles, leaf.Subject, chain[0], string.Empty);
    }

    public override void NotifyAlertRaised(short alertLevel, short alertDescription, string message, Exception cause)
        => _record.OnRaised(alertLevel, alertDescription, message);

    public override void NotifyAlertReceived(short alertLevel, short alertDescription)
        => _record.OnReceived(alertLevel, alertDescription);

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        _record.NegotiatedVersion = m_context.ServerVersion?.ToString();
    }

    // No session tickets (as apid).
    public override NewSessionTicket? GetNewSessionTicket() => null;
}

/// <summary>What every connection of one listener shares: the server's chain and key, and the client verifier.</summary>
internal sealed record ServerCredentials(IReadOnlyList<byte[]> Chain, TlsPrivateKey Key, TlsCertificateVerifier ClientVerifier);

/// <summary>The verified client of a connection.</summary>
internal sealed record ClientIdentity(IReadOnlyList<string> Roles, string Subject, byte[] Certificate, string TlsVersion) : ITalosClientIdentity
{
    ReadOnlyMemory<byte> ITalosClientIdentity.CertificateDer => Certificate;
}
