using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using Talos.Recovery.Client;
using Talos.Recovery.Client.Transport;

namespace Talos.Recovery.Testing.Tls;

/// <summary>
/// The Kestrel connection middleware behind <see cref="TalosTlsListenOptionsExtensions.UseTalosTls"/>: runs the
/// BouncyCastle handshake on the raw transport, then replaces <see cref="ConnectionContext.Transport"/> with the
/// plaintext pipes for Kestrel's HTTP/2 (the seam Kestrel's own HTTPS middleware uses).
/// </summary>
internal sealed class TalosTlsConnectionMiddleware
{
    private readonly ServerCredentials _credentials;
    private readonly TimeSpan _handshakeTimeout;
    private readonly ILogger _logger;
    private readonly SecureRandom _random = new();

    private TalosTlsConnectionMiddleware(ServerCredentials credentials, TimeSpan handshakeTimeout, ILogger logger)
    {
        _credentials = credentials;
        _handshakeTimeout = handshakeTimeout;
        _logger = logger;
    }

    public static TalosTlsConnectionMiddleware Create(TalosTlsServerOptions options)
    {
        List<byte[]> chain = Read(() => TlsPem.ReadCertificates(options.CertificatePem.Span, "server certificate PEM"), nameof(options.CertificatePem));
        List<byte[]> cas = Read(() => TlsPem.ReadCertificates(options.ClientCaPem.Span, "client CA PEM"), nameof(options.ClientCaPem));
        TlsPrivateKey key = Read(() => TlsPem.ReadPrivateKey(options.KeyPem.Span), nameof(options.KeyPem));
        if (key.Kind == TlsKeyKind.Rsa)
        {
            key.Dispose();
            throw new ArgumentException("RSA server keys are not supported (apid's only TLS 1.2 suite is ECDHE_ECDSA); use Ed25519 or ECDSA.", nameof(options));
        }

        var credentials = new ServerCredentials(chain, key, new TlsCertificateVerifier(cas));
        return new TalosTlsConnectionMiddleware(credentials, options.HandshakeTimeout, options.LoggerFactory.CreateLogger("Talos.Recovery.Testing.Tls"));
    }

    public async Task OnConnectionAsync(ConnectionContext context, ConnectionDelegate next)
    {
        string? remote = context.RemoteEndPoint?.ToString();
        var record = new TlsConnectionRecord();
        var peer = new BcTlsServerPeer(new NativeAesGcmTlsCrypto(_random), _credentials, record);
        IDuplexPipe transport = context.Transport;
        var engine = new BcTlsEngine(new TlsServerProtocol(), transport, record, failure => failure);
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.ConnectionClosed))
        {
            timeout.CancelAfter(_handshakeTimeout);
            try
            {
                await engine.HandshakeAsync(protocol => ((TlsServerProtocol)protocol).Accept(peer), timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
            {
                if (peer.ClientFailure is { } refused)
                {
                    TlsServerLog.ClientRefused(_logger, remote, TlsAlertNames.GetName(refused.Alert), refused.Reason);
                }
                else
                {
                    string alert = record.Fatal is { } fatal ? $" (alert {TlsAlertNames.GetName(fatal.Alert)} {(fatal.Received ? "received" : "sent")})" : string.Empty;
                    TlsServerLog.HandshakeFailed(_logger, remote, ex.Message + alert);
                }

                await engine.DisposeAsync().ConfigureAwait(false);
                return;
            }
        }

        ClientIdentity client = peer.Client! with { TlsVersion = record.NegotiatedVersion ?? "unknown" };
        TlsServerLog.ClientAccepted(_logger, remote, client.TlsVersion, client.Subject, string.Join(", ", client.Roles));
        var tlsFeature = new TlsFeature(client);
        context.Features.Set<ITalosClientIdentity>(client);
        context.Features.Set<ITlsConnectionFeature>(tlsFeature);
        context.Features.Set<ITlsApplicationProtocolFeature>(tlsFeature);

        engine.StartReadLoop();
        var outbound = new Pipe(new PipeOptions(useSynchronizationContext: false));
        context.Transport = new DuplexPipe(engine.Input, outbound.Writer);
        Task pump = PumpOutputAsync(outbound.Reader, engine);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            await outbound.Writer.CompleteAsync().ConfigureAwait(false);
            await pump.ConfigureAwait(false);
            await engine.DisposeAsync().ConfigureAwait(false);
            await engine.Input.CompleteAsync().ConfigureAwait(false);
            context.Transport = transport;
            tlsFeature.Dispose();
        }
    }

    /// <summary>Encrypts what Kestrel writes: one batch (often several HTTP/2 frames) per flush.</summary>
    private static async Task PumpOutputAsync(PipeReader reader, BcTlsEngine engine)
    {
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    await engine.WriteAsync(buffer, CancellationToken.None).ConfigureAwait(false);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }

            await reader.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or TalosTlsException)
        {
            await reader.CompleteAsync(ex).ConfigureAwait(false);
        }
    }

    private static T Read<T>(Func<T> read, string property)
    {
        try
        {
            return read();
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"{nameof(TalosTlsServerOptions)}.{property} is not valid: {ex.Message}", property, ex);
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>Kestrel's view of the TLS connection: the client certificate (public part; Ed25519 loads without a key) and ALPN.</summary>
    private sealed class TlsFeature(ClientIdentity client) : ITlsConnectionFeature, ITlsApplicationProtocolFeature, IDisposable
    {
        private X509Certificate2? _certificate = X509CertificateLoader.LoadCertificate(client.Certificate);

        public X509Certificate2? ClientCertificate
        {
            get => _certificate;
            set => _certificate = value;
        }

        public ReadOnlyMemory<byte> ApplicationProtocol { get; } = "h2"u8.ToArray();

        public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult(_certificate);

        public void Dispose() => _certificate?.Dispose();
    }
}
