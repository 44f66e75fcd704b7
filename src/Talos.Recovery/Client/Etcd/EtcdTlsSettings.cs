using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Talos.Recovery.Client.Etcd;

/// <summary>
/// The TLS material of an <see cref="EtcdClient"/>, loaded once from <see cref="EtcdClientOptions"/>: trust roots,
/// client certificate, server name. Owns (and disposes) the certificates it loaded from files.
/// </summary>
internal sealed class EtcdTlsSettings : IDisposable
{
    private readonly List<X509Certificate2> _owned;

    private EtcdTlsSettings(X509Certificate2Collection? trustRoots, X509Certificate2? clientCertificate, string? serverName, List<X509Certificate2> owned)
    {
        TrustRoots = trustRoots;
        ClientCertificate = clientCertificate;
        ServerName = serverName;
        _owned = owned;
    }

    /// <summary>The only trust roots for server certificates; <see langword="null"/> means the system's trust store.</summary>
    public X509Certificate2Collection? TrustRoots { get; }

    /// <summary>The certificate (with private key) presented to servers that ask for one.</summary>
    public X509Certificate2? ClientCertificate { get; }

    /// <summary>The name server certificates must carry instead of the endpoint host.</summary>
    public string? ServerName { get; }

    /// <summary>Whether any TLS setting is present (bare host:port endpoints then mean https).</summary>
    public bool IsConfigured => TrustRoots is not null || ClientCertificate is not null || ServerName is not null;

    /// <summary>Loads and checks the TLS settings of <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">Conflicting settings (a file and an object for the same thing, a key without a certificate).</exception>
    /// <exception cref="EtcdConfigurationException">A file cannot be read or parsed, or the client certificate has no private key.</exception>
    public static EtcdTlsSettings Load(EtcdClientOptions options)
    {
        if (options.CaCertificateFile is not null && options.CaCertificates is not null)
        {
            throw new ArgumentException($"Set either {nameof(EtcdClientOptions.CaCertificateFile)} or {nameof(EtcdClientOptions.CaCertificates)}, not both.", nameof(options));
        }

        if (options.ClientCertificateFile is not null && options.ClientCertificate is not null)
        {
            throw new ArgumentException($"Set either {nameof(EtcdClientOptions.ClientCertificateFile)} or {nameof(EtcdClientOptions.ClientCertificate)}, not both.", nameof(options));
        }

        if (options.ClientKeyFile is not null && options.ClientCertificateFile is null)
        {
            throw new ArgumentException($"{nameof(EtcdClientOptions.ClientKeyFile)} needs {nameof(EtcdClientOptions.ClientCertificateFile)}.", nameof(options));
        }

        if (options.TlsServerName is { } name && (name.Length == 0 || Uri.CheckHostName(name) == UriHostNameType.Unknown))
        {
            throw new ArgumentException($"'{name}' is not a host name or IP address.", nameof(options));
        }

        var owned = new List<X509Certificate2>();
        try
        {
            X509Certificate2Collection? roots = null;
            if (options.CaCertificateFile is { } caFile)
            {
                roots = LoadCaFile(caFile);
                owned.AddRange(roots);
            }
            else if (options.CaCertificates is { } given)
            {
                if (given.Count == 0)
                {
                    throw new ArgumentException($"{nameof(EtcdClientOptions.CaCertificates)} is empty.", nameof(options));
                }

                roots = new X509Certificate2Collection(given);
            }

            X509Certificate2? client = options.ClientCertificate;
            if (options.ClientCertificateFile is { } certFile)
            {
                client = LoadClientCertificate(certFile, options.ClientKeyFile);
                owned.Add(client);
            }
            else if (client is not null && !client.HasPrivateKey)
            {
                throw new ArgumentException($"{nameof(EtcdClientOptions.ClientCertificate)} has no private key.", nameof(options));
            }

            return new EtcdTlsSettings(roots, client, options.TlsServerName, owned);
        }
        catch
        {
            foreach (X509Certificate2 certificate in owned)
            {
                certificate.Dispose();
            }

            throw;
        }
    }

    private static X509Certificate2Collection LoadCaFile(string path)
    {
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            foreach (X509Certificate2 certificate in roots)
            {
                certificate.Dispose();
            }

            throw new EtcdConfigurationException($"Could not read the etcd CA certificate file '{path}': {ex.Message}", path, ex);
        }

        if (roots.Count == 0)
        {
            throw new EtcdConfigurationException($"The etcd CA certificate file '{path}' holds no PEM certificate.", path);
        }

        return roots;
    }

    private static X509Certificate2 LoadClientCertificate(string certPath, string? keyPath)
    {
        X509Certificate2 loaded;
        try
        {
            loaded = X509Certificate2.CreateFromPemFile(certPath, keyPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            string files = keyPath is null ? $"'{certPath}'" : $"'{certPath}' and '{keyPath}'";
            throw new EtcdConfigurationException($"Could not read the etcd client certificate and key from {files}: {ex.Message}", certPath, ex);
        }

        if (!OperatingSystem.IsWindows())
        {
            return loaded;
        }

        // SChannel cannot use an ephemeral key for client authentication; give it a persisted-in-memory copy.
        using (loaded)
        {
            return X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (X509Certificate2 certificate in _owned)
        {
            certificate.Dispose();
        }

        _owned.Clear();
    }
}
