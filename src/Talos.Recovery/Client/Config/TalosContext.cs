namespace Talos.Recovery.Client;

/// <summary>
/// One context of a talosconfig, decoded and checked: where to connect (<see cref="Endpoints"/>), which nodes to
/// target by default (<see cref="Nodes"/>), whom to trust (<see cref="CertificateAuthorityPem"/>) and who the client is
/// (<see cref="ClientIdentity"/>). Immutable; obtained from <see cref="TalosConfig.GetContext"/>.
/// </summary>
public sealed class TalosContext
{
    internal TalosContext(
        string name,
        IReadOnlyList<TalosEndpoint> endpoints,
        IReadOnlyList<string> nodes,
        ReadOnlyMemory<byte> certificateAuthorityPem,
        IReadOnlyList<TalosCertificateInfo> certificateAuthorities,
        TalosClientIdentity? clientIdentity,
        TalosBasicAuth? basicAuth,
        string? sideroV1Identity,
        string? cluster,
        Uri? proxyUrl)
    {
        Name = name;
        Endpoints = endpoints;
        Nodes = nodes;
        CertificateAuthorityPem = certificateAuthorityPem;
        CertificateAuthorities = certificateAuthorities;
        ClientIdentity = clientIdentity;
        BasicAuth = basicAuth;
        SideroV1Identity = sideroV1Identity;
        Cluster = cluster;
        ProxyUrl = proxyUrl;
    }

    /// <summary>The context's name (its key under <c>contexts</c>).</summary>
    public string Name { get; }

    /// <summary>
    /// The apid endpoints to dial, at least one, in file order; the deprecated <c>target</c> field, when present, is
    /// appended (as talosctl does).
    /// </summary>
    public IReadOnlyList<TalosEndpoint> Endpoints { get; }

    /// <summary>
    /// The default target nodes (<c>nodes</c>), as written: addresses or names that the endpoint's apid forwards to,
    /// without a port. Empty when the context names none (calls then go to the endpoint node itself).
    /// </summary>
    public IReadOnlyList<string> Nodes { get; }

    /// <summary>
    /// The <c>ca</c> field decoded: PEM text of one or more CA certificates that are the <em>only</em> trust roots for
    /// server certificates. Empty when the field is absent, in which case the system's trust store applies.
    /// </summary>
    public ReadOnlyMemory<byte> CertificateAuthorityPem { get; }

    /// <summary>The certificates of <see cref="CertificateAuthorityPem"/>, in order; empty when it is empty.</summary>
    public IReadOnlyList<TalosCertificateInfo> CertificateAuthorities { get; }

    /// <summary>
    /// The client certificate and key (<c>crt</c> and <c>key</c>); <see langword="null"/> when the context has
    /// neither (possible with <see cref="BasicAuth"/> or <see cref="SideroV1Identity"/>, e.g. behind Omni).
    /// </summary>
    public TalosClientIdentity? ClientIdentity { get; }

    /// <summary>The <c>auth.basic</c> credentials, sent as an <c>authorization: Basic …</c> header; usually <see langword="null"/>.</summary>
    public TalosBasicAuth? BasicAuth { get; }

    /// <summary>
    /// The <c>auth.siderov1.identity</c> (an e-mail address) for Omni's PGP request signing; <see langword="null"/> when
    /// absent. Kept so configs round-trip; this SDK does not sign requests.
    /// </summary>
    public string? SideroV1Identity { get; }

    /// <summary>The <c>cluster</c> name; <see langword="null"/> when absent.</summary>
    public string? Cluster { get; }

    /// <summary>The <c>proxy-url</c> to dial through (an absolute URL); <see langword="null"/> when absent.</summary>
    public Uri? ProxyUrl { get; }

    /// <summary>The name and endpoints, for diagnostics; no credentials.</summary>
    public override string ToString() => $"{Name} ({string.Join(", ", Endpoints)})";
}

/// <summary>HTTP basic credentials of a context (<c>auth.basic</c>). Immutable; <see cref="ToString"/> hides the password.</summary>
public sealed class TalosBasicAuth
{
    /// <summary>Creates the credentials.</summary>
    /// <param name="username">The user name.</param>
    /// <param name="password">The password.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public TalosBasicAuth(string username, string password)
    {
        ArgumentNullException.ThrowIfNull(username);
        ArgumentNullException.ThrowIfNull(password);
        Username = username;
        Password = password;
    }

    /// <summary>The user name.</summary>
    public string Username { get; }

    /// <summary>The password.</summary>
    public string Password { get; }

    /// <summary>The user name only.</summary>
    public override string ToString() => $"{Username} (password hidden)";
}
