using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Talos.Recovery.Client;

/// <summary>
/// A talosconfig: the client configuration file of talosctl, holding named contexts (endpoints, nodes, CA, client
/// certificate and key) and the name of the current one. Immutable; safe to share between threads.
/// </summary>
/// <remarks>
/// <para>
/// Loading checks the YAML and its shape (which fields are strings, lists or mappings), as talosctl does; unknown
/// fields are ignored. Endpoints and credentials are decoded and checked by <see cref="GetContext"/>, for the context
/// asked for only, so a broken context does not make the others unusable. Every problem is a
/// <see cref="TalosConfigException"/> naming the file, the context and the field.
/// </para>
/// <para>
/// Reading never creates a file or directory. <see cref="Save"/> writes the talosctl shape, so talosctl can use the
/// file; fields this class does not know are not written back (talosctl drops them too).
/// </para>
/// </remarks>
public sealed class TalosConfig
{
    private readonly Dictionary<string, TalosConfigRawContext> _contexts;
    private readonly ConcurrentDictionary<string, TalosContext> _checked = new(StringComparer.Ordinal);

    private TalosConfig(string? sourcePath, string? currentContextName, IEnumerable<TalosConfigRawContext> contexts)
    {
        SourcePath = sourcePath;
        CurrentContextName = string.IsNullOrEmpty(currentContextName) ? null : currentContextName;
        _contexts = new Dictionary<string, TalosConfigRawContext>(StringComparer.Ordinal);
        var names = new List<string>();
        foreach (TalosConfigRawContext context in contexts)
        {
            if (_contexts.TryAdd(context.Name, context))
            {
                names.Add(context.Name);
            }
            else
            {
                _contexts[context.Name] = context;
            }
        }

        ContextNames = names.AsReadOnly();
    }

    /// <summary>
    /// The file this config was read from; <see langword="null"/> when it was parsed from a string without a path or
    /// built in memory.
    /// </summary>
    public string? SourcePath { get; }

    /// <summary>The current context (the <c>context</c> field); <see langword="null"/> when it is empty.</summary>
    public string? CurrentContextName { get; }

    /// <summary>The names of the contexts, in file order. A name may be used with <see cref="GetContext"/>.</summary>
    public IReadOnlyList<string> ContextNames { get; }

    /// <summary>Reads and parses a talosconfig file. Nothing is created, even when the file does not exist.</summary>
    /// <param name="path">The file's path.</param>
    /// <returns>The config, with <see cref="SourcePath"/> set to <paramref name="path"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is <see langword="null"/> or empty.</exception>
    /// <exception cref="TalosConfigNotFoundException">The file does not exist.</exception>
    /// <exception cref="TalosConfigException">
    /// The file cannot be read, is larger than 16 MiB, is not UTF-8, is not valid YAML, or does not have the talosconfig
    /// shape.
    /// </exception>
    public static TalosConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Parse(TalosConfigFile.Read(path), path);
    }

    /// <summary>
    /// Finds and loads the talosconfig the way talosctl does without <c>--talosconfig</c>: the first existing of
    /// <c>$TALOSCONFIG</c>; <c>$TALOS_HOME/config</c> when <c>TALOS_HOME</c> is an absolute path, otherwise
    /// <c>~/.talos/config</c>; <c>/var/run/secrets/talos.dev/config</c> (mounted into pods by Talos's Kubernetes
    /// service-account feature).
    /// </summary>
    /// <remarks>
    /// Unlike talosctl, nothing is created when no file exists, so this works in a container whose home directory is
    /// not writable. An empty <c>TALOSCONFIG</c> counts as unset; a <c>TALOSCONFIG</c> naming a missing file is skipped,
    /// as talosctl skips it (check <see cref="SourcePath"/> to see which file was used).
    /// </remarks>
    /// <returns>The config, with <see cref="SourcePath"/> set to the file used.</returns>
    /// <exception cref="TalosConfigNotFoundException">No file exists at any of those places; the message lists them.</exception>
    /// <exception cref="TalosConfigException">The file found cannot be read or parsed (see <see cref="Load"/>).</exception>
    public static TalosConfig LoadDefault() => LoadDefault(TalosConfigLocator.FromEnvironment());

    /// <summary>Parses talosconfig YAML.</summary>
    /// <param name="yaml">The YAML text. An empty text gives a config without contexts.</param>
    /// <param name="sourcePath">The file the text came from, for messages and <see cref="SourcePath"/>; optional.</param>
    /// <returns>The config.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="yaml"/> is <see langword="null"/>.</exception>
    /// <exception cref="TalosConfigException">The text is not valid YAML or does not have the talosconfig shape.</exception>
    public static TalosConfig Parse(string yaml, string? sourcePath = null)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        YamlTreeNode? root;
        try
        {
            root = TalosConfigYaml.ReadFirstDocument(yaml);
        }
        catch (TalosYamlException e)
        {
            throw Fail(sourcePath, null, e.Field, string.Create(CultureInfo.InvariantCulture, $"line {e.Line}, column {e.Column}: {e.Message}"), e);
        }

        var reader = new ShapeReader(sourcePath);
        return root switch
        {
            null or YamlTreeScalar { Value: null } => new TalosConfig(sourcePath, null, []),
            YamlTreeMapping mapping => new TalosConfig(sourcePath, reader.ReadString(mapping["context"], null, "context"), reader.ReadContexts(mapping["contexts"])),
            _ => throw reader.ShapeError(root, null, null, $"the document is {root.Kind}, expected a mapping with 'context' and 'contexts'"),
        };
    }

    /// <summary>Creates a config with one context, which is current.</summary>
    /// <param name="contextName">The context's name.</param>
    /// <param name="options">What the context holds; checked now.</param>
    /// <returns>The config, not yet saved (<see cref="SourcePath"/> is <see langword="null"/>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="contextName"/> or <paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The name is empty, there is no endpoint, an endpoint or node is invalid, a certificate or key is malformed, only
    /// one of certificate and key is set, or the key does not belong to the certificate. The message names the
    /// property and says what is wrong.
    /// </exception>
    public static TalosConfig Create(string contextName, TalosContextOptions options) =>
        new TalosConfig(null, null, []).WithContext(contextName, options);

    /// <summary>
    /// Returns a copy of this config with a context added, or replaced when one of that name exists (re-running a lab
    /// set-up replaces its context instead of adding <c>name-1</c>).
    /// </summary>
    /// <param name="contextName">The context's name.</param>
    /// <param name="options">What the context holds; checked now.</param>
    /// <param name="makeCurrent">Whether the new context becomes the current one. Default: <see langword="true"/>.</param>
    /// <returns>The new config; this one is unchanged. Its <see cref="SourcePath"/> is this one's.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="contextName"/> or <paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The options are invalid (see <see cref="Create"/>).</exception>
    public TalosConfig WithContext(string contextName, TalosContextOptions options, bool makeCurrent = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(contextName);
        ArgumentNullException.ThrowIfNull(options);
        TalosConfigRawContext raw = ToRawContext(contextName, options);
        IEnumerable<TalosConfigRawContext> contexts = ContextNames.Select(n => n == contextName ? raw : _contexts[n]);
        if (!_contexts.ContainsKey(contextName))
        {
            contexts = contexts.Append(raw);
        }

        return new TalosConfig(SourcePath, makeCurrent ? contextName : CurrentContextName, contexts.ToArray());
    }

    /// <summary>Decodes and checks a context: the one named, or the current one.</summary>
    /// <param name="name">The context's name; <see langword="null"/> for <see cref="CurrentContextName"/>.</param>
    /// <returns>The context, with endpoints parsed and credentials decoded and checked.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    /// <exception cref="TalosConfigException">
    /// The config has no contexts (<c>talos config file is empty</c>); no context is named and none is current; the
    /// named or current context does not exist (<c>default context "X" not found in config</c>); the context has no
    /// endpoint or an invalid one; or a CA, certificate or key is malformed, only one of <c>crt</c> and <c>key</c> is
    /// set, or the key does not belong to the certificate. An expired certificate is not an error (see
    /// <see cref="TalosClientIdentity.Certificate"/>).
    /// </exception>
    public TalosContext GetContext(string? name = null)
    {
        if (name is not null)
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
        }

        if (_contexts.Count == 0)
        {
            throw Fail(SourcePath, null, "contexts", "talos config file is empty: it has no contexts. Generate one with 'talosctl gen config' or write it with TalosConfig.Create.");
        }

        if (name is null && CurrentContextName is null)
        {
            throw Fail(SourcePath, null, "context", $"no current context is set ('context' is empty); set it to one of {ListNames()} or ask for a context by name.");
        }

        string resolved = name ?? CurrentContextName!;
        if (!_contexts.TryGetValue(resolved, out TalosConfigRawContext? raw))
        {
            throw name is null
                ? Fail(SourcePath, resolved, "context", $"default context \"{resolved}\" not found in config; it has {ListNames()}. Set 'context' to one of them (talosctl config context NAME).")
                : Fail(SourcePath, resolved, null, $"context \"{resolved}\" not found in config; it has {ListNames()}.");
        }

        if (_checked.TryGetValue(resolved, out TalosContext? context))
        {
            return context;
        }

        context = CheckContext(raw);
        return _checked.GetOrAdd(resolved, context);
    }

    /// <summary>The config as talosconfig YAML, in the shape talosctl writes (yaml.v3: 4-space indent, contexts sorted by name).</summary>
    /// <returns>The YAML text, holding the private keys: treat it as a secret.</returns>
    public string ToYaml() => TalosConfigYaml.Write(CurrentContextName ?? string.Empty, _contexts.Values);

    /// <summary>
    /// Writes the config to a file atomically and readable by the owner only (mode 0600): the text goes to a temporary
    /// file beside it, is flushed to disk, and replaces the file by a rename. A symbolic link is followed. A missing
    /// parent directory is created (mode 0700).
    /// </summary>
    /// <param name="path">Where to write; an existing file is replaced.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is <see langword="null"/> or empty.</exception>
    /// <exception cref="TalosConfigException">The file cannot be written; the I/O exception is the inner exception.</exception>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        TalosConfigFile.WriteAtomically(path, ToYaml());
    }

    internal static TalosConfig LoadDefault(TalosConfigLocator locator)
    {
        if (locator.FindExisting() is { } found)
        {
            return Load(found.Path);
        }

        IReadOnlyList<TalosConfigCandidate> candidates = locator.GetCandidates();
        var message = new StringBuilder("No talosconfig found; looked at ");
        message.AppendJoin(", ", candidates.Select(c => $"{c.Path} ({c.Origin})"));
        if (!candidates.Any(c => c.Origin == "$" + TalosConfigLocator.ConfigVariable))
        {
            message.Append(", and $").Append(TalosConfigLocator.ConfigVariable).Append(" is not set");
        }

        message.Append(". Set ").Append(TalosConfigLocator.ConfigVariable).Append(" to the file's path or pass the path explicitly. Nothing was created.");
        throw new TalosConfigNotFoundException(message.ToString(), null, candidates.Select(c => c.Path).ToArray());
    }

    private static string Source(string? path) => path is null ? "talosconfig" : $"talosconfig '{path}'";

    private static TalosConfigException Fail(string? path, string? contextName, string? field, string problem, Exception? inner = null) =>
        new($"{Source(path)}: {(field is null ? string.Empty : field + ": ")}{problem}", path, contextName, field, inner);

    private string ListNames() => string.Join(", ", ContextNames.Order(StringComparer.Ordinal).Select(n => $"\"{n}\""));

    private TalosContext CheckContext(TalosConfigRawContext raw)
    {
        string prefix = $"contexts.{raw.Name}.";
        TalosConfigException ContextError(string field, string problem, Exception? inner = null) =>
            Fail(SourcePath, raw.Name, prefix + field, problem, inner);

        var endpoints = new List<TalosEndpoint>(raw.Endpoints.Count + 1);
        for (int i = 0; i < raw.Endpoints.Count; i++)
        {
            endpoints.Add(ParseEndpoint(raw.Endpoints[i], string.Create(CultureInfo.InvariantCulture, $"endpoints[{i}]"), ContextError));
        }

        if (!string.IsNullOrEmpty(raw.Target))
        {
            endpoints.Add(ParseEndpoint(raw.Target, "target", ContextError));
        }

        if (endpoints.Count == 0)
        {
            throw ContextError("endpoints", "the context has no endpoints; add the address of at least one control-plane node (talosctl config endpoint ADDRESS).");
        }

        for (int i = 0; i < raw.Nodes.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(raw.Nodes[i]))
            {
                throw ContextError(string.Create(CultureInfo.InvariantCulture, $"nodes[{i}]"), "an empty node; remove it or write a node address.");
            }
        }

        Uri? proxyUrl = null;
        if (raw.ProxyUrl is not null && !TryParseProxyUrl(raw.ProxyUrl, out proxyUrl))
        {
            throw ContextError("proxy-url", $"'{raw.ProxyUrl}' is not a proxy URL; write scheme://host:port, for example http://proxy:3128.");
        }

        var names = new TalosCredentialNames($"'{prefix}crt'", $"'{prefix}key'");
        try
        {
            ReadOnlyMemory<byte> caPem = ReadOnlyMemory<byte>.Empty;
            IReadOnlyList<TalosCertificateInfo> authorities = [];
            if (raw.CertificateAuthority is not null)
            {
                caPem = TalosCredentials.DecodeBase64(TalosCredentialField.CertificateAuthority, raw.CertificateAuthority);
                authorities = TalosCredentials.ParseCertificateAuthorities(caPem.Span, names);
            }

            TalosClientIdentity? identity = null;
            if (raw.Certificate is not null && raw.Key is null)
            {
                throw ContextError("key", $"'crt' is set but 'key' is missing; a client certificate needs its private key. Set both or neither.");
            }

            if (raw.Key is not null && raw.Certificate is null)
            {
                throw ContextError("crt", $"'key' is set but 'crt' is missing; a private key needs its client certificate. Set both or neither.");
            }

            if (raw.Certificate is not null && raw.Key is not null)
            {
                byte[] certificatePem = TalosCredentials.DecodeBase64(TalosCredentialField.Certificate, raw.Certificate);
                byte[] keyPem = TalosCredentials.DecodeBase64(TalosCredentialField.Key, raw.Key);
                identity = TalosCredentials.ParseClientIdentity(certificatePem, keyPem, names);
            }

            return new TalosContext(
                raw.Name,
                endpoints.AsReadOnly(),
                raw.Nodes.ToArray().AsReadOnly(),
                caPem,
                authorities,
                identity,
                raw.HasBasicAuth ? new TalosBasicAuth(raw.BasicUsername ?? string.Empty, raw.BasicPassword ?? string.Empty) : null,
                raw.SideroV1Identity,
                raw.Cluster,
                proxyUrl);
        }
        catch (TalosCredentialException e)
        {
            string field = e.Field switch
            {
                TalosCredentialField.CertificateAuthority => "ca",
                TalosCredentialField.Certificate => "crt",
                _ => "key",
            };
            throw ContextError(field, e.Message + ".", e.InnerException);
        }
    }

    private static TalosEndpoint ParseEndpoint(string value, string field, Func<string, string, Exception?, TalosConfigException> error)
    {
        try
        {
            return TalosEndpoint.Parse(value);
        }
        catch (FormatException e)
        {
            throw error(field, $"{e.Message} Write host, host:port, [IPv6 address]:port or https://host[:port].", e);
        }
    }

    private static TalosConfigRawContext ToRawContext(string name, TalosContextOptions options)
    {
        const string Parameter = "options";
        string[] endpoints = options.Endpoints.ToArray();
        if (endpoints.Length == 0)
        {
            throw new ArgumentException($"{nameof(TalosContextOptions.Endpoints)} is empty; a context needs at least one endpoint.", Parameter);
        }

        foreach (string endpoint in endpoints)
        {
            try
            {
                _ = TalosEndpoint.Parse(endpoint ?? string.Empty);
            }
            catch (FormatException e)
            {
                throw new ArgumentException($"{nameof(TalosContextOptions.Endpoints)}: {e.Message}", Parameter, e);
            }
        }

        string[] nodes = options.Nodes.ToArray();
        if (Array.Exists(nodes, string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException($"{nameof(TalosContextOptions.Nodes)} holds an empty entry.", Parameter);
        }

        if (options.ProxyUrl is not null && !TryParseProxyUrl(options.ProxyUrl.OriginalString, out _))
        {
            throw new ArgumentException($"{nameof(TalosContextOptions.ProxyUrl)} '{options.ProxyUrl}' is not a proxy URL; write scheme://host:port, for example http://proxy:3128.", Parameter);
        }

        bool hasCertificate = !options.ClientCertificatePem.IsEmpty;
        bool hasKey = !options.ClientKeyPem.IsEmpty;
        if (hasCertificate != hasKey)
        {
            throw new ArgumentException(
                $"Set both {nameof(TalosContextOptions.ClientCertificatePem)} and {nameof(TalosContextOptions.ClientKeyPem)}, or neither; only {(hasCertificate ? nameof(TalosContextOptions.ClientCertificatePem) : nameof(TalosContextOptions.ClientKeyPem))} is set.",
                Parameter);
        }

        var names = new TalosCredentialNames(nameof(TalosContextOptions.ClientCertificatePem), nameof(TalosContextOptions.ClientKeyPem));
        try
        {
            if (!options.CertificateAuthorityPem.IsEmpty)
            {
                _ = TalosCredentials.ParseCertificateAuthorities(options.CertificateAuthorityPem.Span, names);
            }

            if (hasCertificate)
            {
                _ = TalosCredentials.ParseClientIdentity(options.ClientCertificatePem, options.ClientKeyPem, names);
            }
        }
        catch (TalosCredentialException e)
        {
            string property = e.Field switch
            {
                TalosCredentialField.CertificateAuthority => nameof(TalosContextOptions.CertificateAuthorityPem),
                TalosCredentialField.Certificate => nameof(TalosContextOptions.ClientCertificatePem),
                _ => nameof(TalosContextOptions.ClientKeyPem),
            };
            throw new ArgumentException($"{property}: {e.Message}.", Parameter, e.InnerException);
        }

        return new TalosConfigRawContext
        {
            Name = name,
            Endpoints = endpoints,
            Nodes = nodes,
            CertificateAuthority = EncodeOptional(options.CertificateAuthorityPem),
            Certificate = EncodeOptional(options.ClientCertificatePem),
            Key = EncodeOptional(options.ClientKeyPem),
            HasBasicAuth = options.BasicAuth is not null,
            BasicUsername = options.BasicAuth?.Username,
            BasicPassword = options.BasicAuth?.Password,
            Cluster = string.IsNullOrEmpty(options.Cluster) ? null : options.Cluster,
            ProxyUrl = options.ProxyUrl?.OriginalString,
        };
    }

    // On Unix, Uri takes "/path" as an absolute file URL; a proxy needs a scheme and a host.
    private static bool TryParseProxyUrl(string text, [NotNullWhen(true)] out Uri? url) =>
        Uri.TryCreate(text, UriKind.Absolute, out url) && !url.IsFile && !url.IsUnc && url.Host.Length > 0
            && text.Contains("://", StringComparison.Ordinal);

    private static string? EncodeOptional(ReadOnlyMemory<byte> pem) => pem.IsEmpty ? null : Convert.ToBase64String(pem.Span);

    /// <summary>Maps the YAML tree onto raw contexts, refusing wrong types as yaml.v3 does for talosctl's structs.</summary>
    private sealed class ShapeReader(string? sourcePath)
    {
        public TalosConfigException ShapeError(YamlTreeNode node, string? contextName, string? field, string problem) =>
            Fail(sourcePath, contextName, field, string.Create(CultureInfo.InvariantCulture, $"{problem} (line {node.Start.Line})."));

        public string? ReadString(YamlTreeNode? node, string? contextName, string field) => node switch
        {
            null => null,
            YamlTreeScalar scalar => string.IsNullOrEmpty(scalar.Value) ? null : scalar.Value,
            _ => throw ShapeError(node, contextName, field, $"expected a string, found {node.Kind}"),
        };

        public IEnumerable<TalosConfigRawContext> ReadContexts(YamlTreeNode? node) => node switch
        {
            null or YamlTreeScalar { Value: null } => [],
            YamlTreeMapping mapping => mapping.Entries.Select(e => ReadContext(e.Key, e.Value)).ToArray(),
            _ => throw ShapeError(node, null, "contexts", $"expected a mapping of context names to contexts, found {node.Kind}"),
        };

        private TalosConfigRawContext ReadContext(string name, YamlTreeNode node)
        {
            string prefix = $"contexts.{name}";
            if (name.Length == 0)
            {
                throw ShapeError(node, null, "contexts", "a context has an empty name");
            }

            if (node is YamlTreeScalar { Value: null })
            {
                return new TalosConfigRawContext { Name = name };
            }

            if (node is not YamlTreeMapping context)
            {
                throw ShapeError(node, name, prefix, $"expected a mapping (endpoints, nodes, ca, crt, key, …), found {node.Kind}");
            }

            YamlTreeMapping? auth = ReadMapping(context["auth"], name, prefix + ".auth");
            YamlTreeMapping? basic = auth is null ? null : ReadMapping(auth["basic"], name, prefix + ".auth.basic");
            YamlTreeMapping? siderov1 = auth is null ? null : ReadMapping(auth["siderov1"], name, prefix + ".auth.siderov1");
            return new TalosConfigRawContext
            {
                Name = name,
                Target = ReadString(context["target"], name, prefix + ".target"),
                Endpoints = ReadStringList(context["endpoints"], name, prefix + ".endpoints"),
                Nodes = ReadStringList(context["nodes"], name, prefix + ".nodes"),
                CertificateAuthority = ReadCredential(context["ca"], name, prefix + ".ca"),
                Certificate = ReadCredential(context["crt"], name, prefix + ".crt"),
                Key = ReadCredential(context["key"], name, prefix + ".key"),
                HasBasicAuth = basic is not null,
                BasicUsername = basic is null ? null : ReadString(basic["username"], name, prefix + ".auth.basic.username"),
                BasicPassword = basic is null ? null : ReadString(basic["password"], name, prefix + ".auth.basic.password"),
                SideroV1Identity = siderov1 is null ? null : ReadString(siderov1["identity"], name, prefix + ".auth.siderov1.identity"),
                Cluster = ReadString(context["cluster"], name, prefix + ".cluster"),
                ProxyUrl = ReadString(context["proxy-url"], name, prefix + ".proxy-url"),
            };
        }

        private string[] ReadStringList(YamlTreeNode? node, string contextName, string field)
        {
            switch (node)
            {
                case null or YamlTreeScalar { Value: null }:
                    return [];
                case YamlTreeSequence sequence:
                    var result = new string[sequence.Items.Count];
                    for (int i = 0; i < result.Length; i++)
                    {
                        YamlTreeNode item = sequence.Items[i];
                        result[i] = item is YamlTreeScalar scalar
                            ? scalar.Value ?? string.Empty
                            : throw ShapeError(item, contextName, string.Create(CultureInfo.InvariantCulture, $"{field}[{i}]"), $"expected a string, found {item.Kind}");
                    }

                    return result;
                default:
                    throw ShapeError(node, contextName, field, $"expected a list of strings, found {node.Kind}");
            }
        }

        // White space only counts as empty, like an absent field.
        private string? ReadCredential(YamlTreeNode? node, string contextName, string field) =>
            ReadString(node, contextName, field) is { } value && !string.IsNullOrWhiteSpace(value) ? value : null;

        private YamlTreeMapping? ReadMapping(YamlTreeNode? node, string contextName, string field) => node switch
        {
            null or YamlTreeScalar { Value: null } => null,
            YamlTreeMapping mapping => mapping,
            _ => throw ShapeError(node, contextName, field, $"expected a mapping, found {node.Kind}"),
        };
    }
}
