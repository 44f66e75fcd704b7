namespace Talos.Recovery.Client;

/// <summary>
/// A talosconfig cannot be used: it cannot be read, is not valid YAML of the talosconfig shape, names a context that
/// does not exist, or holds an endpoint, certificate or key that is malformed or inconsistent. The message names the
/// file, the context and the field (for example <c>contexts.prod.key</c>) and says what to fix; the same facts are in
/// <see cref="Path"/>, <see cref="ContextName"/> and <see cref="Field"/>.
/// </summary>
public class TalosConfigException : TalosRecoveryException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and how to fix it, naming the file, context and field.</param>
    /// <param name="path">The talosconfig file; <see langword="null"/> when the config was parsed from a string without a path.</param>
    /// <param name="contextName">The context concerned; <see langword="null"/> when the problem is not about one context.</param>
    /// <param name="field">The field concerned, as a dotted path such as <c>contexts.prod.key</c>; <see langword="null"/> when none.</param>
    /// <param name="innerException">The I/O, YAML, format or cryptographic exception behind it, if any.</param>
    public TalosConfigException(string message, string? path, string? contextName, string? field, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
        ContextName = contextName;
        Field = field;
    }

    /// <summary>The talosconfig file; <see langword="null"/> when the config was parsed from a string without a path.</summary>
    public string? Path { get; }

    /// <summary>The context concerned; <see langword="null"/> when the problem is not about one context.</summary>
    public string? ContextName { get; }

    /// <summary>
    /// The field concerned as a dotted path (<c>context</c>, <c>contexts.prod.endpoints[1]</c>, <c>contexts.prod.crt</c>);
    /// <see langword="null"/> when the problem is not about one field (unreadable file, invalid YAML).
    /// </summary>
    public string? Field { get; }
}

/// <summary>
/// No talosconfig file exists where one was looked for: the path given to <see cref="TalosConfig.Load(string)"/>, or
/// every default location tried by <see cref="TalosConfig.LoadDefault()"/> (listed in <see cref="SearchedPaths"/>).
/// Nothing is created when this is thrown.
/// </summary>
public class TalosConfigNotFoundException : TalosConfigException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was looked for and how to provide a talosconfig.</param>
    /// <param name="path">The one file asked for; <see langword="null"/> when default locations were searched.</param>
    /// <param name="searchedPaths">The paths that were tried, in order.</param>
    /// <param name="innerException">The <see cref="FileNotFoundException"/> behind it, if any.</param>
    public TalosConfigNotFoundException(string message, string? path, IReadOnlyList<string> searchedPaths, Exception? innerException = null)
        : base(message, path, null, null, innerException)
    {
        ArgumentNullException.ThrowIfNull(searchedPaths);
        SearchedPaths = searchedPaths;
    }

    /// <summary>The paths that were tried, in order of precedence.</summary>
    public IReadOnlyList<string> SearchedPaths { get; }
}
