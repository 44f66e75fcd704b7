using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Talos.Recovery.Testing.Tls;

/// <summary>Kestrel set-up for a Talos-like mutual TLS endpoint.</summary>
public static class TalosTlsListenOptionsExtensions
{
    /// <summary>
    /// Terminates TLS on this endpoint with BouncyCastle (so Ed25519 server certificates work, which Kestrel's own
    /// HTTPS cannot serve) under apid's rules, and serves HTTP/2 (only) on the decrypted stream. The verified client is
    /// exposed as the <see cref="ITalosClientIdentity"/> connection feature; a refused client gets a TLS alert and never
    /// reaches the application.
    /// </summary>
    /// <remarks>
    /// Sets <see cref="ListenOptions.Protocols"/> to HTTP/2 and <see cref="KestrelServerOptions.AllowAlternateSchemes"/>
    /// to <see langword="true"/>: Talos.Recovery's client sends <c>:scheme http</c> over its own TLS, Go clients send
    /// <c>https</c>, and Kestrel would otherwise reset requests whose scheme differs from the connection's.
    /// </remarks>
    /// <param name="listenOptions">The Kestrel endpoint.</param>
    /// <param name="options">The server certificate, key and accepted client CAs.</param>
    /// <returns><paramref name="listenOptions"/>.</returns>
    /// <exception cref="ArgumentException">The PEM material is missing or invalid.</exception>
    public static ListenOptions UseTalosTls(this ListenOptions listenOptions, TalosTlsServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        ArgumentNullException.ThrowIfNull(options);
        var middleware = TalosTlsConnectionMiddleware.Create(options);
        listenOptions.Protocols = HttpProtocols.Http2;
        listenOptions.KestrelServerOptions.AllowAlternateSchemes = true;
        listenOptions.Use(next => context => middleware.OnConnectionAsync(context, next));
        return listenOptions;
    }
}
