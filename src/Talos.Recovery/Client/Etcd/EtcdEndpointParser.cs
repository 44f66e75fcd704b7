using System.Globalization;

namespace Talos.Recovery.Client.Etcd;

/// <summary>Turns the endpoint strings of <see cref="EtcdClientOptions.Endpoints"/> into absolute URLs.</summary>
internal static class EtcdEndpointParser
{
    /// <summary>etcd's default client port.</summary>
    public const int DefaultPort = 2379;

    /// <summary>
    /// Parses every entry (each may hold several comma-separated endpoints). Bare <c>host:port</c> entries get
    /// <c>https</c> when <paramref name="tlsConfigured"/>, else <c>http</c>; a missing port is 2379. Duplicates are dropped.
    /// </summary>
    /// <exception cref="ArgumentException">No endpoint, or an endpoint that is not an http(s) URL or host:port.</exception>
    public static IReadOnlyList<Uri> Parse(IEnumerable<string> entries, bool tlsConfigured, string paramName)
    {
        var result = new List<Uri>();
        foreach (string? entry in entries)
        {
            if (entry is null)
            {
                continue;
            }

            foreach (string part in entry.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                Uri uri = ParseOne(part, tlsConfigured, paramName);
                if (!result.Contains(uri))
                {
                    result.Add(uri);
                }
            }
        }

        if (result.Count == 0)
        {
            throw new ArgumentException("At least one etcd endpoint is required.", paramName);
        }

        return result;
    }

    private static Uri ParseOne(string text, bool tlsConfigured, string paramName)
    {
        bool hasScheme = text.Contains("://", StringComparison.Ordinal);
        string withScheme = hasScheme ? text : (tlsConfigured ? "https://" : "http://") + text;
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out Uri? uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.Host.Length == 0
            || !string.IsNullOrEmpty(uri.Query)
            || !string.IsNullOrEmpty(uri.Fragment)
            || !string.IsNullOrEmpty(uri.UserInfo)
            || (uri.AbsolutePath != "/" && uri.AbsolutePath.Length != 0))
        {
            throw new ArgumentException(
                $"'{text}' is not an etcd endpoint: expected http://host:port, https://host:port or host:port.", paramName);
        }

        int port = HasExplicitPort(withScheme) ? uri.Port : DefaultPort;
        return new UriBuilder(uri.Scheme, uri.Host, port).Uri;
    }

    // Uri hides a port equal to the scheme's default (80/443); look at the text to tell "no port" from ":443".
    private static bool HasExplicitPort(string url)
    {
        int start = url.IndexOf("://", StringComparison.Ordinal) + 3;
        int end = url.IndexOf('/', start);
        string authority = end < 0 ? url[start..] : url[start..end];
        int colon = authority.LastIndexOf(':');
        int bracket = authority.LastIndexOf(']');
        return colon > bracket
            && colon < authority.Length - 1
            && int.TryParse(authority.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out _);
    }
}
