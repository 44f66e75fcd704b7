using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Talos.Recovery.Client;

/// <summary>Options for <see cref="TalosClient"/>. Every default is stated on its property.</summary>
public sealed class TalosClientOptions
{
    /// <summary>Endpoints to dial instead of the context's (each tried in turn on connection failure). Default: the context's endpoints.</summary>
    public IReadOnlyList<TalosEndpoint>? Endpoints { get; init; }

    /// <summary>Time allowed for TCP connect plus TLS handshake on one endpoint. Default 20 s (apid's own minimum).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Deadline for each unary call. Default 1 minute. Streams have no deadline; they use <see cref="StreamInactivityTimeout"/>.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a download stream may deliver no byte before it is abandoned (Talos has no server-side timeout). Default 30 s.</summary>
    public TimeSpan StreamInactivityTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long <c>EtcdRecover</c> and <c>Bootstrap</c> are retried while the node answers <c>FailedPrecondition</c>
    /// (the only retries Talos itself makes). Default 1 minute; <see cref="TimeSpan.Zero"/> disables retrying.</summary>
    public TimeSpan FailedPreconditionRetryTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Skip verifying the node's certificate. Default <see langword="false"/>. For labs only: logged as a warning on every connection.</summary>
    public bool InsecureSkipVerify { get; init; }

    /// <summary>Where logs go. Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}
