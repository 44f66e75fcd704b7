namespace Talos.Recovery.Testing.Tls;

/// <summary>
/// The verified client of a connection accepted by <see cref="TalosTlsListenOptionsExtensions.UseTalosTls"/>: its
/// certificate and the Talos roles read from it, as apid reads them. A connection feature, so gRPC and HTTP handlers
/// get it with <c>httpContext.Features.Get&lt;ITalosClientIdentity&gt;()</c> (from gRPC:
/// <c>context.GetHttpContext().Features…</c>).
/// </summary>
public interface ITalosClientIdentity
{
    /// <summary>The roles: the subject O values of the client certificate, in order, empty values skipped (e.g. <c>os:admin</c>).</summary>
    IReadOnlyList<string> Roles { get; }

    /// <summary>The subject distinguished name of the client certificate.</summary>
    string Subject { get; }

    /// <summary>The client certificate, DER.</summary>
    ReadOnlyMemory<byte> CertificateDer { get; }

    /// <summary>The negotiated TLS version, e.g. <c>TLS 1.3</c>.</summary>
    string TlsVersion { get; }
}
