using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Talos.Recovery.Api.Etcd;

namespace Talos.Recovery.Client.Etcd;

/// <summary>
/// One etcd endpoint: its gRPC channel (HTTP/2 over TCP, or over TLS with the client's own certificate validation),
/// the generated stubs bound to it, and what the last TLS handshake found.
/// </summary>
internal sealed class EtcdConnection : IDisposable
{
    // Large enough for any range result this SDK asks for; snapshot chunks are 32 KiB.
    private const int MaxReceiveMessageSize = 64 * 1024 * 1024;

    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1", "Server Authentication");

    private readonly EtcdTlsSettings? _tls;
    private readonly string _expectedServerName;
    private readonly ILogger _logger;
    private readonly GrpcChannel _channel;

    // On Linux the client certificate is handed over only when the server asks for it (see SelectClientCertificate),
    // which tells us whether the server asked: the key to naming a refused client certificate under TLS 1.3.
    private readonly bool _lazyClientCertificate = OperatingSystem.IsLinux();

    // What the last handshake on this endpoint found (read when a call fails). Writes race only between
    // handshakes with the same endpoint, where any recent answer is good enough for a diagnostic.
    private volatile TlsFinding? _serverCertificateFinding;
    private volatile bool _clientCertificateRequested;
    private long _serverCertificateAcceptedAt = long.MinValue;

    public EtcdConnection(Uri endpoint, EtcdTlsSettings? tls, TimeSpan connectTimeout, ILogger logger)
    {
        Endpoint = endpoint;
        _logger = logger;
        IsTls = endpoint.Scheme == Uri.UriSchemeHttps;
        _tls = IsTls ? tls : null;
        _expectedServerName = _tls?.ServerName ?? endpoint.DnsSafeHost;

        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout,
            EnableMultipleHttp2Connections = true,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        };

        Uri address = endpoint;
        if (IsTls)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = ValidateServerCertificate,
                LocalCertificateSelectionCallback = SelectClientCertificate,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            };
            if (_tls?.ClientCertificate is { } clientCertificate && !_lazyClientCertificate)
            {
                handler.SslOptions.ClientCertificates = new X509CertificateCollection { clientCertificate };
            }

            if (_tls?.ServerName is { } serverName)
            {
                // Address the channel by the server name (so SNI, :authority and the default name check use it) and
                // connect to the endpoint's real host, like grpc-go's authority override.
                address = new UriBuilder(endpoint) { Host = serverName }.Uri;
                string host = endpoint.DnsSafeHost;
                int port = endpoint.Port;
                handler.ConnectCallback = (_, cancellationToken) => ConnectAsync(host, port, cancellationToken);
            }
        }

        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = MaxReceiveMessageSize,
            // Cancellation arrives as RpcException(Cancelled) and is turned into OperationCanceledException by the
            // client; with this option on, Grpc.Net.Client also reports connection failures of streaming calls as
            // cancellations, hiding the cause.
            ThrowOperationCanceledOnCancellation = false,
        });
        Invoker = _channel.CreateCallInvoker();
        Maintenance = new Maintenance.MaintenanceClient(Invoker);
        Cluster = new Cluster.ClusterClient(Invoker);
        Auth = new Auth.AuthClient(Invoker);
        Kv = new KV.KVClient(Invoker);
    }

    /// <summary>The endpoint as configured (not rewritten by a server name override).</summary>
    public Uri Endpoint { get; }

    /// <summary>Whether the endpoint uses TLS.</summary>
    public bool IsTls { get; }

    public CallInvoker Invoker { get; }

    public Maintenance.MaintenanceClient Maintenance { get; }

    public Cluster.ClusterClient Cluster { get; }

    public Auth.AuthClient Auth { get; }

    public KV.KVClient Kv { get; }

    /// <summary>Why the last server certificate of this endpoint was rejected; <see langword="null"/> when the last one was accepted.</summary>
    public TlsFinding? ServerCertificateFinding => _serverCertificateFinding;

    /// <summary>
    /// Whether the last handshake of this endpoint had the server ask for a client certificate. Only known where the
    /// certificate is handed over on request (Linux); elsewhere <see langword="null"/>.
    /// </summary>
    public bool? ClientCertificateRequested => _lazyClientCertificate ? _clientCertificateRequested : null;

    /// <summary>Whether this endpoint's server certificate was accepted in a handshake within the last <paramref name="window"/>.</summary>
    public bool ServerCertificateAcceptedWithin(TimeSpan window)
        => Environment.TickCount64 - Interlocked.Read(ref _serverCertificateAcceptedAt) <= (long)window.TotalMilliseconds;

    /// <summary>Whether a client certificate is configured for this endpoint.</summary>
    public bool HasClientCertificate => _tls?.ClientCertificate is not null;

    private static async ValueTask<Stream> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new DnsEndPoint(host, port), cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private X509Certificate? SelectClientCertificate(object sender, string targetHost, X509CertificateCollection localCertificates, X509Certificate? remoteCertificate, string[] acceptableIssuers)
    {
        if (!_lazyClientCertificate)
        {
            return _tls?.ClientCertificate;
        }

        // SslStream calls this once before the handshake (no server certificate yet) and, on Linux, again when the
        // server sends a CertificateRequest. Answering only the second call records that the server asked.
        if (remoteCertificate is null)
        {
            _clientCertificateRequested = false;
            return null;
        }

        _clientCertificateRequested = true;
        return _tls?.ClientCertificate;
    }

    private bool ValidateServerCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors sslPolicyErrors)
    {
        TlsFinding? finding = CheckServerCertificate(certificate, chain, sslPolicyErrors);
        _serverCertificateFinding = finding;
        if (finding is not null)
        {
            EtcdClientLog.ServerCertificateRejected(_logger, Endpoint, finding.Reason);
            return false;
        }

        Interlocked.Exchange(ref _serverCertificateAcceptedAt, Environment.TickCount64);
        return true;
    }

    private TlsFinding? CheckServerCertificate(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors sslPolicyErrors)
    {
        if (certificate is not X509Certificate2 leaf)
        {
            return new TlsFinding(EtcdTlsFailure.HandshakeFailed, "the server sent no certificate");
        }

        string subject = leaf.Subject.Length != 0 ? leaf.Subject : "(empty subject)";
        if (_tls?.TrustRoots is { } roots)
        {
            // The configured CA is the only trust root: build the chain ourselves and ignore the system's verdict.
            using var own = new X509Chain();
            own.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            own.ChainPolicy.CustomTrustStore.AddRange(roots);
            own.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            own.ChainPolicy.ApplicationPolicy.Add(ServerAuthentication);
            if (chain is not null)
            {
                // The intermediates the server sent.
                own.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
            }

            if (!own.Build(leaf))
            {
                return new TlsFinding(
                    EtcdTlsFailure.UntrustedServerCertificate,
                    $"the server certificate '{subject}' (issuer '{leaf.Issuer}') does not chain to the configured CA: {DescribeChain(own)}");
            }
        }
        else if ((sslPolicyErrors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            string detail = chain is null ? "chain errors" : DescribeChain(chain);
            return new TlsFinding(
                EtcdTlsFailure.UntrustedServerCertificate,
                $"the server certificate '{subject}' (issuer '{leaf.Issuer}') is not trusted by the system trust store: {detail}");
        }

        if (!leaf.MatchesHostname(_expectedServerName))
        {
            string how = _tls?.ServerName is null ? "the endpoint host" : "the configured TLS server name";
            return new TlsFinding(
                EtcdTlsFailure.ServerNameMismatch,
                $"the server certificate '{subject}' is not valid for {how} '{_expectedServerName}' (names: {DescribeNames(leaf)})");
        }

        return null;
    }

    private static string DescribeChain(X509Chain chain)
    {
        var parts = new List<string>();
        foreach (X509ChainStatus status in chain.ChainStatus)
        {
            string information = status.StatusInformation.Trim();
            parts.Add(information.Length != 0 ? $"{status.Status} ({information})" : status.Status.ToString());
        }

        return parts.Count == 0 ? "unknown chain error" : string.Join("; ", parts);
    }

    private static string DescribeNames(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
                foreach (IPAddress address in san.EnumerateIPAddresses())
                {
                    names.Add(address.ToString());
                }
            }
        }

        string commonName = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        if (names.Count == 0 && commonName.Length != 0)
        {
            names.Add("CN=" + commonName);
        }

        return names.Count == 0 ? "none" : string.Join(", ", names);
    }

    public void Dispose() => _channel.Dispose();

    /// <summary>Why a server certificate was rejected.</summary>
    internal sealed record TlsFinding(EtcdTlsFailure Failure, string Reason);
}
