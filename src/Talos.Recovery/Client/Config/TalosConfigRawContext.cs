namespace Talos.Recovery.Client;

/// <summary>
/// A context exactly as the file holds it (strings, not yet decoded or checked). Credentials are decoded only when the
/// context is asked for, so one broken context does not make the others unusable (talosctl behaves the same way),
/// and a save writes every context back as it was read.
/// </summary>
internal sealed record TalosConfigRawContext
{
    public required string Name { get; init; }

    /// <summary>The deprecated single endpoint; folded into the endpoints when the context is read.</summary>
    public string? Target { get; init; }

    public IReadOnlyList<string> Endpoints { get; init; } = [];

    public IReadOnlyList<string> Nodes { get; init; } = [];

    /// <summary>Base64 of the PEM CA certificate(s); <see langword="null"/> when absent or empty.</summary>
    public string? CertificateAuthority { get; init; }

    /// <summary>Base64 of the PEM client certificate; <see langword="null"/> when absent or empty.</summary>
    public string? Certificate { get; init; }

    /// <summary>Base64 of the PEM private key; <see langword="null"/> when absent or empty.</summary>
    public string? Key { get; init; }

    public bool HasBasicAuth { get; init; }

    public string? BasicUsername { get; init; }

    public string? BasicPassword { get; init; }

    public string? SideroV1Identity { get; init; }

    public string? Cluster { get; init; }

    public string? ProxyUrl { get; init; }

    /// <summary>The name only: the synthesized record text would show the key and the password.</summary>
    public override string ToString() => $"talosconfig context {Name}";
}
