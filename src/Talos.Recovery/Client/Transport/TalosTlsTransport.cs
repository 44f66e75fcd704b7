using System.IO.Pipelines;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Talos.Recovery.Client.Transport;

/// <summary>
/// Mutual TLS to Talos endpoints (apid), from talosconfig's PEM material. Builds, per endpoint, a
/// <see cref="SocketsHttpHandler"/> whose <see cref="SocketsHttpHandler.ConnectCallback"/> opens TCP and runs the
/// TLS handshake itself, and a <see cref="GrpcChannel"/> on <c>http://host:port</c> over it (HTTP/2 with prior
/// knowledge on the already-encrypted stream; ALPN <c>h2</c> was negotiated in the handshake).
/// </summary>
/// <remarks>
/// <para>
/// The TLS stack follows the key: Ed25519 (Talos's default) goes through BouncyCastle, because .NET cannot use
/// Ed25519 keys; ECDSA and RSA through <see cref="SslStream"/>. Either way the server is verified by
/// <see cref="TlsCertificateVerifier"/> against the configured CA only (system roots only when no CA is given) and
/// against the endpoint's IP (IP SAN) or name (DNS SAN), and failures surface as <see cref="TalosTlsException"/>
/// (through <c>HttpRequestException</c>/<c>RpcException</c>; find it with <see cref="TalosTlsException.Find"/>).
/// </para>
/// <para>
/// Fail-over: one handler/channel per endpoint. A connection or TLS failure fails the call with
/// <c>StatusCode.Unavailable</c>; the caller moves on to the next endpoint's channel. Nothing here retries.
/// </para>
/// One instance is shared by all endpoints of a client; it is thread-safe and owns the parsed key.
/// </remarks>
internal sealed class TalosTlsTransport : IDisposable
{
    private readonly TlsCertificateVerifier? _verifier;
    private readonly TlsPrivateKey? _key;
    private readonly IReadOnlyList<byte[]>? _clientChain;
    private readonly SslStreamCertificateContext? _sslClientCertificate;
    private readonly BcClientSettings _bcSettings;
    private readonly TimeSpan _connectTimeout;
    private readonly ILogger _logger;
    private readonly SecureRandom _random = new();

    private TalosTlsTransport(TalosTlsTransportOptions options)
    {
        _logger = options.LoggerFactory.CreateLogger("Talos.Recovery.Client.Transport");
        _connectTimeout = options.ConnectTimeout;

        if (options.ClientCertificatePem is null != options.ClientKeyPem is null)
        {
            throw new ArgumentException("The client certificate and key must both be set or both be absent.", nameof(options));
        }

        try
        {
            if (!options.InsecureSkipVerify)
            {
                List<byte[]>? roots = options.CaPem is { } ca ? ReadPem(() => TlsPem.ReadCertificates(ca.Span, "CA certificate PEM"), "CA") : null;
                _verifier = new TlsCertificateVerifier(roots);
            }

            if (options.ClientCertificatePem is { } crt && options.ClientKeyPem is { } keyPem)
            {
                _clientChain = ReadPem(() => TlsPem.ReadCertificates(crt.Span, "client certificate PEM"), "client certificate");
                _key = ReadPem(() => TlsPem.ReadPrivateKey(keyPem.Span), "client key");
                CheckKeyMatchesCertificate(_clientChain[0], _key);
            }

            Stack = options.Stack ?? (_key is null or { Kind: TlsKeyKind.Ed25519 } ? TlsStack.BouncyCastle : TlsStack.SslStream);
            if (Stack == TlsStack.SslStream && _key is { Kind: TlsKeyKind.Ed25519 })
            {
                throw new ArgumentException("An Ed25519 client key cannot be used with SslStream.", nameof(options));
            }

            if (Stack == TlsStack.SslStream && _key is not null && _clientChain is not null)
            {
                _sslClientCertificate = CreateSslCertificateContext(_clientChain, _key);
            }
        }
        catch
        {
            _key?.Dispose();
            _verifier?.Dispose();
            throw;
        }

        _bcSettings = new BcClientSettings(_verifier, _clientChain, _key);
        InsecureSkipVerify = options.InsecureSkipVerify;
        if (InsecureSkipVerify)
        {
            TransportLog.VerificationDisabled(_logger);
        }

        TransportLog.Created(
            _logger,
            Stack,
            _verifier is null ? "none (InsecureSkipVerify)" : _verifier.UsesSystemTrust ? "system store" : "configured CA",
            _key is null ? "none" : _key.Kind.ToString());
    }

    /// <summary>The TLS stack this transport uses.</summary>
    public TlsStack Stack { get; }

    /// <summary>Whether server certificates go unverified.</summary>
    public bool InsecureSkipVerify { get; }

    /// <summary>Whether a client certificate is configured.</summary>
    public bool HasClientCertificate => _key is not null;

    /// <summary>Parses the PEM material of <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">Missing or malformed PEM, a key that does not match the certificate, or an unsupported key.</exception>
    public static TalosTlsTransport Create(TalosTlsTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new TalosTlsTransport(options);
    }

    /// <summary>The channel address for an endpoint: <c>http://host:port</c> (TLS is done by the handler).</summary>
    public static Uri GetAddress(string host, int port)
    {
        string uriHost = IPAddress.TryParse(host, out IPAddress? address) && address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : host;
        return new UriBuilder(Uri.UriSchemeHttp, uriHost, port).Uri;
    }

    /// <summary>A handler that connects to <paramref name="host"/>:<paramref name="port"/> over this transport's TLS.</summary>
    public SocketsHttpHandler CreateHandler(string host, int port)
    {
        ValidateEndpoint(host, port);
        return new SocketsHttpHandler
        {
            ConnectCallback = (_, cancellationToken) => ConnectAsync(host, port, cancellationToken),
            ConnectTimeout = _connectTimeout,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        };
    }

    /// <summary>
    /// A gRPC channel to one endpoint over this transport. <paramref name="options"/> (copied, not changed) may set
    /// message sizes, logging and so on; its <see cref="GrpcChannelOptions.HttpHandler"/> must be unset.
    /// </summary>
    public GrpcChannel CreateChannel(string host, int port, GrpcChannelOptions? options = null)
    {
        if (options?.HttpHandler is not null || options?.HttpClient is not null)
        {
            throw new ArgumentException("The transport supplies the HTTP handler.", nameof(options));
        }

        var channelOptions = new GrpcChannelOptions
        {
            HttpHandler = CreateHandler(host, port),
            DisposeHttpClient = true,
            MaxReceiveMessageSize = options?.MaxReceiveMessageSize ?? 32 * 1024 * 1024,
            MaxSendMessageSize = options?.MaxSendMessageSize,
            LoggerFactory = options?.LoggerFactory,
            ThrowOperationCanceledOnCancellation = options?.ThrowOperationCanceledOnCancellation ?? false,
            MaxRetryAttempts = options?.MaxRetryAttempts,
            ServiceConfig = options?.ServiceConfig,
        };
        return GrpcChannel.ForAddress(GetAddress(host, port), channelOptions);
    }

    /// <summary>
    /// Opens TCP to the endpoint and runs the TLS handshake (ALPN <c>h2</c>), returning the plaintext stream.
    /// </summary>
    /// <exception cref="TalosTlsException">The handshake failed (server refused, certificate not trusted, name mismatch, …).</exception>
    /// <exception cref="SocketException">The TCP connection failed.</exception>
    public async ValueTask<Stream> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        string endpoint = FormatEndpoint(host, port);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        NetworkStream? network = null;
        try
        {
            await socket.ConnectAsync(new DnsEndPoint(host, port), cancellationToken).ConfigureAwait(false);
            network = new NetworkStream(socket, ownsSocket: true);
            Stream stream = Stack == TlsStack.BouncyCastle
                ? await ConnectBouncyCastleAsync(network, host, endpoint, cancellationToken).ConfigureAwait(false)
                : await ConnectSslStreamAsync(network, host, endpoint, cancellationToken).ConfigureAwait(false);
            if (InsecureSkipVerify)
            {
                TransportLog.UnverifiedConnection(_logger, endpoint);
            }

            return stream;
        }
        catch (TalosTlsException ex)
        {
            TransportLog.HandshakeFailed(_logger, endpoint, ex.Failure, ex.AlertName ?? "none", ex.Message);
            await DisposeAsync(network, socket).ConfigureAwait(false);
            throw;
        }
        catch
        {
            await DisposeAsync(network, socket).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<Stream> ConnectBouncyCastleAsync(NetworkStream network, string host, string endpoint, CancellationToken cancellationToken)
    {
        var transport = new DuplexPipe(
            PipeReader.Create(network, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024, leaveOpen: true)),
            PipeWriter.Create(network, new StreamPipeWriterOptions(minimumBufferSize: 16 * 1024, leaveOpen: true)));
        var alerts = new TlsConnectionRecord();
        var peer = new BcTlsClientPeer(new NativeAesGcmTlsCrypto(_random), _bcSettings, host, IsDnsName(host), alerts);
        var protocol = new TlsClientProtocol();
        bool handshakeDone = false;
        var engine = new BcTlsEngine(protocol, transport, alerts, failure => MapBouncyCastleFailure(failure, peer, alerts, endpoint, ref handshakeDone));
        try
        {
            await engine.HandshakeAsync(p => ((TlsClientProtocol)p).Connect(peer), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await engine.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        handshakeDone = true;
        TransportLog.HandshakeCompleted(_logger, endpoint, alerts.NegotiatedVersion, TlsStack.BouncyCastle, DescribeClientCertificate(peer.ClientCertificateRequested, peer.ClientCertificateSent));
        return new BcTlsClientStream(engine, network);
    }

    private Exception MapBouncyCastleFailure(Exception failure, BcTlsClientPeer peer, TlsConnectionRecord alerts, string endpoint, ref bool handshakeDone)
    {
        if (failure is TalosTlsException)
        {
            return failure;
        }

        string phase = handshakeDone ? "The TLS connection to" : "The TLS handshake with";
        if (peer.ServerCertificateFailure is { } refused)
        {
            return new TalosTlsException($"{phase} {endpoint} failed: {refused.Reason}.", endpoint, refused.Failure, refused.Alert, alertReceived: false, failure);
        }

        if (alerts.Fatal is { } fatal)
        {
            string name = TlsAlertNames.GetName(fatal.Alert);
            if (fatal.Received)
            {
                if (TlsAlertNames.IsCertificateRefusal(fatal.Alert))
                {
                    TransportLog.ConnectionFailed(_logger, endpoint, name, "client certificate refused");
                    return new TalosTlsException(
                        $"{endpoint} refused the client certificate with TLS alert '{name}'{DescribeClientCertificateProblem(peer)}.",
                        endpoint, TalosTlsFailure.ClientCertificateRejected, fatal.Alert, alertReceived: true, failure);
                }

                return new TalosTlsException($"{phase} {endpoint} failed: the server sent TLS alert '{name}'.", endpoint, TalosTlsFailure.HandshakeFailed, fatal.Alert, alertReceived: true, failure);
            }

            if (fatal.Alert != TlsAlert.CloseNotify)
            {
                string detail = fatal.Message is { Length: > 0 } message ? $" ({message})" : string.Empty;
                return new TalosTlsException($"{phase} {endpoint} failed: this client sent TLS alert '{name}'{detail}.", endpoint, TalosTlsFailure.HandshakeFailed, fatal.Alert, alertReceived: false, failure);
            }
        }

        if (!handshakeDone)
        {
            return new TalosTlsException(
                $"The TLS handshake with {endpoint} failed: {failure.Message} (no TLS alert; is it a Talos apid endpoint speaking TLS?)",
                endpoint, TalosTlsFailure.HandshakeFailed, null, alertReceived: false, failure);
        }

        return failure is IOException ? failure : new IOException(failure.Message, failure);
    }

    private async Task<Stream> ConnectSslStreamAsync(NetworkStream network, string host, string endpoint, CancellationToken cancellationToken)
    {
        TlsVerificationFailure? refused = null;
        bool clientCertificateRequested = false;
        var ssl = new SslStream(network, leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = host, // .NET sends no SNI for an IP literal
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            ClientCertificateContext = _sslClientCertificate,
            RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
            {
                if (_verifier is null)
                {
                    return true;
                }

                if (certificate is null)
                {
                    refused = new TlsVerificationFailure(TalosTlsFailure.UntrustedServerCertificate, TlsAlert.BadCertificate, "the server sent no certificate");
                    return false;
                }

                var der = new List<byte[]> { certificate.GetRawCertData() };
                if (chain is not null)
                {
                    foreach (X509Certificate2 extra in chain.ChainPolicy.ExtraStore)
                    {
                        der.Add(extra.RawData);
                    }
                }

                refused = _verifier.VerifyServer(der, host);
                return refused is null;
            },
        };
        if (OperatingSystem.IsLinux() && _sslClientCertificate is not null)
        {
            // Linux hands the certificate over only when asked, which tells a missing request from a refusal.
            options.ClientCertificateContext = null;
            options.LocalCertificateSelectionCallback = (_, _, _, remote, _) =>
            {
                if (remote is null)
                {
                    return null!;
                }

                clientCertificateRequested = true;
                return _sslClientCertificate.TargetCertificate;
            };
        }

        try
        {
            await ssl.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            if (refused is { } failure)
            {
                throw new TalosTlsException($"The TLS handshake with {endpoint} failed: {failure.Reason}.", endpoint, failure.Failure, failure.Alert, alertReceived: false, ex);
            }

            throw MapSslStreamFailure(ex, endpoint, handshakeDone: false);
        }

        TransportLog.HandshakeCompleted(_logger, endpoint, ssl.SslProtocol.ToString(), TlsStack.SslStream, DescribeClientCertificate(clientCertificateRequested, clientCertificateRequested));
        return new SslTlsClientStream(ssl, ex => OpenSslAlert.Find(ex) is null ? null : MapSslStreamFailure(ex, endpoint, handshakeDone: true));
    }

    private TalosTlsException MapSslStreamFailure(Exception failure, string endpoint, bool handshakeDone)
    {
        string phase = handshakeDone ? "The TLS connection to" : "The TLS handshake with";
        if (OpenSslAlert.Find(failure) is { } alert)
        {
            string name = TlsAlertNames.GetName(alert);
            if (TlsAlertNames.IsCertificateRefusal(alert))
            {
                TransportLog.ConnectionFailed(_logger, endpoint, name, "client certificate refused");
                string hint = _sslClientCertificate is null ? " (no client certificate is configured)" : string.Empty;
                return new TalosTlsException($"{endpoint} refused the client certificate with TLS alert '{name}'{hint}.", endpoint, TalosTlsFailure.ClientCertificateRejected, alert, alertReceived: true, failure);
            }

            return new TalosTlsException($"{phase} {endpoint} failed: the server sent TLS alert '{name}'.", endpoint, TalosTlsFailure.HandshakeFailed, alert, alertReceived: true, failure);
        }

        return new TalosTlsException($"{phase} {endpoint} failed: {failure.Message}", endpoint, TalosTlsFailure.HandshakeFailed, null, alertReceived: false, failure);
    }

    private string DescribeClientCertificateProblem(BcTlsClientPeer peer)
    {
        if (_key is null)
        {
            return " (no client certificate is configured)";
        }

        if (peer.ClientCertificateRequested && !peer.ClientCertificateSent)
        {
            return " (the server accepts none of the signature algorithms of the client key, so no certificate was sent)";
        }

        return " (not signed by a CA the node accepts, expired, or extended key usage not exactly client authentication)";
    }

    private static string DescribeClientCertificate(bool requested, bool sent)
        => !requested ? "not requested" : sent ? "sent" : "requested, none sent";

    private static T ReadPem<T>(Func<T> read, string what)
    {
        try
        {
            return read();
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"The {what} is not valid: {ex.Message}", ex);
        }
    }

    private static void CheckKeyMatchesCertificate(byte[] certificateDer, TlsPrivateKey key)
    {
        Org.BouncyCastle.X509.X509Certificate certificate;
        try
        {
            certificate = new Org.BouncyCastle.X509.X509Certificate(certificateDer);
        }
        catch (Exception ex) when (ex is Org.BouncyCastle.Security.Certificates.CertificateException or ArgumentException or InvalidOperationException)
        {
            throw new ArgumentException($"The client certificate cannot be parsed: {ex.Message}", ex);
        }

        Org.BouncyCastle.Crypto.AsymmetricKeyParameter expected = certificate.GetPublicKey();
        Org.BouncyCastle.Crypto.AsymmetricKeyParameter actual = key.Key switch
        {
            Org.BouncyCastle.Crypto.Parameters.Ed25519PrivateKeyParameters ed => ed.GeneratePublicKey(),
            Org.BouncyCastle.Crypto.Parameters.ECPrivateKeyParameters ec => new Org.BouncyCastle.Crypto.Parameters.ECPublicKeyParameters(
                ec.AlgorithmName, ec.Parameters.G.Multiply(ec.D).Normalize(), ec.Parameters),
            Org.BouncyCastle.Crypto.Parameters.RsaPrivateCrtKeyParameters rsa => new Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters(false, rsa.Modulus, rsa.PublicExponent),
            _ => expected,
        };
        bool matches = (expected, actual) switch
        {
            (Org.BouncyCastle.Crypto.Parameters.Ed25519PublicKeyParameters a, Org.BouncyCastle.Crypto.Parameters.Ed25519PublicKeyParameters b) => a.GetEncoded().AsSpan().SequenceEqual(b.GetEncoded()),
            (Org.BouncyCastle.Crypto.Parameters.ECPublicKeyParameters a, Org.BouncyCastle.Crypto.Parameters.ECPublicKeyParameters b) => a.Q.Equals(b.Q),
            (Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters a, Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters b) => a.Modulus.Equals(b.Modulus),
            _ => false,
        };
        if (!matches)
        {
            throw new ArgumentException("The client key does not belong to the client certificate.");
        }
    }

    private static SslStreamCertificateContext CreateSslCertificateContext(IReadOnlyList<byte[]> chain, TlsPrivateKey key)
    {
        using X509Certificate2 publicOnly = X509CertificateLoader.LoadCertificate(chain[0]);
        X509Certificate2 withKey;
        if (key.Kind == TlsKeyKind.Ecdsa)
        {
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportPkcs8PrivateKey(key.Pkcs8, out _);
            withKey = publicOnly.CopyWithPrivateKey(ecdsa);
        }
        else
        {
            using var rsa = RSA.Create();
            rsa.ImportPkcs8PrivateKey(key.Pkcs8, out _);
            withKey = publicOnly.CopyWithPrivateKey(rsa);
        }

        if (OperatingSystem.IsWindows())
        {
            // SChannel cannot use an ephemeral key for client authentication; give it a persisted-in-memory copy.
            X509Certificate2 ephemeral = withKey;
            withKey = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
            ephemeral.Dispose();
        }

        var intermediates = new X509Certificate2Collection();
        for (int i = 1; i < chain.Count; i++)
        {
            intermediates.Add(X509CertificateLoader.LoadCertificate(chain[i]));
        }

        return SslStreamCertificateContext.Create(withKey, intermediates, offline: true);
    }

    private static void ValidateEndpoint(string host, int port)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        if (Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            throw new ArgumentException($"'{host}' is not a host name or IP address.", nameof(host));
        }
    }

    private static bool IsDnsName(string host) => !IPAddress.TryParse(host, out _);

    private static string FormatEndpoint(string host, int port)
        => IPAddress.TryParse(host, out IPAddress? address) && address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{host}]:{port}" : $"{host}:{port}";

    private static async ValueTask DisposeAsync(NetworkStream? network, Socket socket)
    {
        if (network is not null)
        {
            await network.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            socket.Dispose();
        }
    }

    public void Dispose()
    {
        _key?.Dispose();
        _verifier?.Dispose();
        _sslClientCertificate?.TargetCertificate.Dispose();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}

/// <summary>Reads the TLS alert out of OpenSSL's error text, as SslStream reports it on Linux ("… alert bad certificate").</summary>
internal static class OpenSslAlert
{
    private static readonly (string Text, TlsAlert Alert)[] Names =
    [
        ("alert bad certificate", TlsAlert.BadCertificate),
        ("alert certificate required", TlsAlert.CertificateRequired),
        ("alert unknown ca", TlsAlert.UnknownCA),
        ("alert certificate expired", TlsAlert.CertificateExpired),
        ("alert unsupported certificate", TlsAlert.UnsupportedCertificate),
        ("alert certificate unknown", TlsAlert.CertificateUnknown),
        ("alert certificate revoked", TlsAlert.CertificateRevoked),
        ("alert access denied", TlsAlert.AccessDenied),
        ("alert handshake failure", TlsAlert.HandshakeFailure),
        ("alert protocol version", TlsAlert.ProtocolVersion),
        ("alert no application protocol", TlsAlert.NoApplicationProtocol),
        ("alert decrypt error", TlsAlert.DecryptError),
        ("alert illegal parameter", TlsAlert.IllegalParameter),
        ("alert internal error", TlsAlert.InternalError),
    ];

    /// <summary>The alert named anywhere in the exception chain's messages, or <see langword="null"/>.</summary>
    public static TlsAlert? Find(Exception? exception)
    {
        for (int depth = 0; exception is not null && depth < 8; depth++, exception = exception.InnerException)
        {
            foreach ((string text, TlsAlert alert) in Names)
            {
                if (exception.Message.Contains(text, StringComparison.OrdinalIgnoreCase))
                {
                    return alert;
                }
            }
        }

        return null;
    }
}
