using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Talos.Recovery.Client.Etcd;

/// <summary>
/// Settings for an <see cref="EtcdClient"/>. The client copies them when it is constructed; changing the options
/// afterwards has no effect on that client.
/// </summary>
/// <remarks>
/// TLS is configured the way <c>etcdctl</c> is: <see cref="CaCertificateFile"/> ≈ <c>--cacert</c>,
/// <see cref="ClientCertificateFile"/>/<see cref="ClientKeyFile"/> ≈ <c>--cert</c>/<c>--key</c>. Unlike etcdctl, a
/// configured CA is the <em>only</em> trust root: the operating system's store is not consulted for those endpoints.
/// </remarks>
public sealed class EtcdClientOptions
{
    /// <summary>The default <see cref="ConnectTimeout"/>: 10 seconds.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The default <see cref="CallTimeout"/>: 30 seconds.</summary>
    public static readonly TimeSpan DefaultCallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The etcd client endpoints, tried in order; each entry may itself hold several endpoints separated by commas.
    /// An endpoint is an <c>http://</c> or <c>https://</c> URL (<c>https://10.0.0.2:2379</c>) or a bare
    /// <c>host:port</c>, which means <c>https</c> when any TLS setting is given and <c>http</c> otherwise.
    /// A missing port means 2379. Default: empty; at least one endpoint is required.
    /// </summary>
    public IList<string> Endpoints { get; } = new List<string>();

    /// <summary>
    /// A PEM file holding the certificate authority (one or more certificates) that must have issued the servers'
    /// certificates, like etcdctl's <c>--cacert</c>. These certificates are the only trust roots for
    /// <c>https</c> endpoints. Default: <see langword="null"/> (use <see cref="CaCertificates"/>, or else the
    /// operating system's trust store).
    /// </summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>
    /// The certificate authority as certificates, instead of <see cref="CaCertificateFile"/> (setting both is an
    /// error). The collection is copied at construction; the caller keeps ownership of the certificates.
    /// Default: <see langword="null"/>.
    /// </summary>
    public X509Certificate2Collection? CaCertificates { get; set; }

    /// <summary>
    /// A PEM file with the client certificate presented to etcd (etcd started with <c>--client-cert-auth</c>), like
    /// etcdctl's <c>--cert</c>. Default: <see langword="null"/> (no client certificate).
    /// </summary>
    public string? ClientCertificateFile { get; set; }

    /// <summary>
    /// A PEM file with the private key of <see cref="ClientCertificateFile"/>, like etcdctl's <c>--key</c>.
    /// Default: <see langword="null"/>, meaning the key is in <see cref="ClientCertificateFile"/> itself.
    /// </summary>
    public string? ClientKeyFile { get; set; }

    /// <summary>
    /// The client certificate with its private key, instead of <see cref="ClientCertificateFile"/> (setting both is an
    /// error). The caller keeps ownership. Default: <see langword="null"/>.
    /// </summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>
    /// The name the servers' certificates must carry (DNS or IP subject alternative name), instead of each endpoint's
    /// host. It is also sent as the TLS server name (SNI) and the HTTP/2 authority, like grpc-go's authority override.
    /// Use it to reach members by IP address when their certificates only name a DNS name.
    /// Default: <see langword="null"/> (each endpoint's host).
    /// </summary>
    public string? TlsServerName { get; set; }

    /// <summary>
    /// The etcd user to authenticate as when etcd has authentication enabled (<c>etcdctl auth enable</c>).
    /// The client calls <c>Auth.Authenticate</c> once, sends the token with every call and authenticates again once
    /// when etcd says the token is invalid or expired. Default: <see langword="null"/> (no authentication).
    /// </summary>
    public string? Username { get; set; }

    /// <summary>The password of <see cref="Username"/>. Never logged. Default: <see langword="null"/>.</summary>
    public string? Password { get; set; }

    /// <summary>
    /// How long establishing a connection (TCP and TLS) to one endpoint may take before the client moves on to the
    /// next endpoint. Default: <see cref="DefaultConnectTimeout"/> (10 s). <see cref="Timeout.InfiniteTimeSpan"/>
    /// disables it.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = DefaultConnectTimeout;

    /// <summary>
    /// The deadline of each unary call (status, member list, alarms, authentication) on one endpoint. The snapshot
    /// stream has no deadline: it lasts as long as the database takes to transfer, and its consumer decides when it
    /// has waited too long. Default: <see cref="DefaultCallTimeout"/> (30 s). <see cref="Timeout.InfiniteTimeSpan"/>
    /// disables it.
    /// </summary>
    public TimeSpan CallTimeout { get; set; } = DefaultCallTimeout;

    /// <summary>
    /// Where the client logs connection failures, fail-overs, authentication and snapshot start/end (never per chunk,
    /// never passwords, tokens or keys). Default: <see cref="NullLoggerFactory.Instance"/>.
    /// </summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;
}
