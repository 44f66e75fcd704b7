using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Talos.Recovery.Client.Transport;

/// <summary>Which TLS implementation a transport uses.</summary>
internal enum TlsStack
{
    /// <summary>BouncyCastle's TLS client (any key; the only choice for Ed25519, Talos's default).</summary>
    BouncyCastle,

    /// <summary>.NET's <see cref="System.Net.Security.SslStream"/> (ECDSA and RSA keys).</summary>
    SslStream,
}

/// <summary>The TLS material and settings of a <see cref="TalosTlsTransport"/>, as talosconfig holds them.</summary>
internal sealed class TalosTlsTransportOptions
{
    /// <summary>
    /// PEM of one or more CA certificates: if set, the <b>only</b> trust roots for server certificates (talosconfig
    /// <c>ca</c>). Default <see langword="null"/>: the system's trust store.
    /// </summary>
    public ReadOnlyMemory<byte>? CaPem { get; init; }

    /// <summary>PEM of the client certificate (talosconfig <c>crt</c>), optionally followed by intermediates. Default none.</summary>
    public ReadOnlyMemory<byte>? ClientCertificatePem { get; init; }

    /// <summary>
    /// PEM of the client key (talosconfig <c>key</c>): <c>ED25519 PRIVATE KEY</c> or <c>PRIVATE KEY</c> (PKCS#8),
    /// <c>EC PRIVATE KEY</c> (SEC1) or <c>RSA PRIVATE KEY</c> (PKCS#1). Default none. Never logged.
    /// </summary>
    public ReadOnlyMemory<byte>? ClientKeyPem { get; init; }

    /// <summary>
    /// Accept any server certificate, for any name. Default <see langword="false"/>. Dangerous: anyone on the path can
    /// impersonate the node and receive the etcd snapshot. Logged at Warning when the transport is created and on every
    /// connection.
    /// </summary>
    public bool InsecureSkipVerify { get; init; }

    /// <summary>TCP connect plus TLS handshake time limit per connection. Default 20 seconds.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Where the transport logs. Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Forces a TLS stack (tests); default chooses from the key type (Ed25519: BouncyCastle, else SslStream).</summary>
    public TlsStack? Stack { get; init; }
}
