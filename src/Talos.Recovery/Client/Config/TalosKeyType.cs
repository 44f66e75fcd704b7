namespace Talos.Recovery.Client;

/// <summary>
/// The algorithm of a talosconfig client key. It decides the TLS path: .NET's <c>SslStream</c> cannot present an
/// Ed25519 key, so Ed25519 needs a managed TLS implementation while ECDSA and RSA can use <c>SslStream</c>.
/// </summary>
public enum TalosKeyType
{
    /// <summary>Ed25519, the default for certificates made by Talos (<c>talosctl gen secrets</c>).</summary>
    Ed25519,

    /// <summary>ECDSA (usually P-256), used when the Talos OS CA is an ECDSA CA.</summary>
    Ecdsa,

    /// <summary>RSA, used when the Talos OS CA is an RSA CA.</summary>
    Rsa,
}
