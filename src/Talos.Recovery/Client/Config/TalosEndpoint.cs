using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Talos.Recovery.Client;

/// <summary>
/// A Talos API endpoint (apid) to dial: a host and a TCP port, parsed from a talosconfig <c>endpoints</c> entry the
/// way talosctl reads it. Immutable.
/// </summary>
/// <remarks>
/// <para>Accepted forms, each with the port it gets:</para>
/// <list type="table">
/// <item><term><c>10.5.0.2</c>, <c>cp1.example.com</c></term><description>the host, port <see cref="DefaultPort"/> (50000)</description></item>
/// <item><term><c>10.5.0.2:50001</c>, <c>cp1.example.com:443</c></term><description>host and port</description></item>
/// <item><term><c>[fd00::2]:50000</c>, <c>[fd00::2]</c></term><description>a bracketed IPv6 address, with or without port</description></item>
/// <item><term><c>fd00::2</c>, <c>::1</c></term><description>a bare IPv6 address, port 50000</description></item>
/// <item><term><c>https://omni.example.com</c></term><description>an https URL without port: port 443</description></item>
/// <item><term><c>scheme://host:port</c>, <c>https://host:50000/</c></term><description>any URL with a port: that port; any other URL without one: 50000</description></item>
/// </list>
/// <para>
/// As with talosctl, a URL's user information, path, query and fragment are ignored: only host and port are dialled.
/// A host is an IPv4 address in dotted-quad form, an IPv6 address, or a DNS name (ASCII letters, digits, <c>-</c>,
/// <c>_</c>, dot-separated labels of at most 63 characters).
/// </para>
/// </remarks>
public sealed class TalosEndpoint : IEquatable<TalosEndpoint>
{
    /// <summary>The port of apid, used when an endpoint names none: 50000.</summary>
    public const int DefaultPort = 50000;

    private const int HttpsPort = 443;
    private const int MaxDnsNameLength = 253;
    private const int MaxDnsLabelLength = 63;

    private TalosEndpoint(string host, int port, bool isIpAddress, string originalString)
    {
        Host = host;
        Port = port;
        IsIpAddress = isIpAddress;
        OriginalString = originalString;
    }

    /// <summary>
    /// The host to dial: a DNS name, an IPv4 address, or an IPv6 address without brackets (a zone such as
    /// <c>%eth0</c> kept).
    /// </summary>
    public string Host { get; }

    /// <summary>The TCP port to dial (1–65535).</summary>
    public int Port { get; }

    /// <summary>
    /// Whether <see cref="Host"/> is an IP address rather than a DNS name. A TLS client sends SNI only for DNS names
    /// (RFC 6066) and checks the server certificate's IP SANs for addresses, its DNS SANs for names.
    /// </summary>
    public bool IsIpAddress { get; }

    /// <summary>The text the endpoint was parsed from, as written (it may be a URL holding user information).</summary>
    public string OriginalString { get; }

    /// <summary>Parses an endpoint string (see the remarks of <see cref="TalosEndpoint"/> for the forms).</summary>
    /// <param name="value">The endpoint as written in a talosconfig or on a command line.</param>
    /// <returns>The endpoint.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException">
    /// <paramref name="value"/> is not an endpoint; the message quotes it and says what is wrong. A talosconfig with such
    /// an entry makes <see cref="TalosConfig.GetContext"/> throw a <see cref="TalosConfigException"/> naming the entry.
    /// </exception>
    public static TalosEndpoint Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (TryParse(value, out TalosEndpoint? endpoint, out string? error))
        {
            return endpoint;
        }

        throw new FormatException($"'{value}' is not a Talos endpoint: {error}.");
    }

    /// <summary>Parses an endpoint string, returning whether it is one.</summary>
    /// <param name="value">The endpoint as written; <see langword="null"/> gives <see langword="false"/>.</param>
    /// <param name="endpoint">The endpoint, when the result is <see langword="true"/>.</param>
    /// <returns>Whether <paramref name="value"/> is an endpoint.</returns>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out TalosEndpoint? endpoint)
    {
        if (value is null)
        {
            endpoint = null;
            return false;
        }

        return TryParse(value, out endpoint, out _);
    }

    /// <summary>The endpoint as <c>host:port</c>, with an IPv6 host in brackets: <c>[fd00::2]:50000</c>.</summary>
    public override string ToString() => FormatHostPort(Host, Port, IsIpAddress);

    /// <summary>Whether <paramref name="other"/> has the same host (DNS names compared ignoring case) and port.</summary>
    public bool Equals(TalosEndpoint? other) =>
        other is not null && Port == other.Port && string.Equals(Host, other.Host, StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as TalosEndpoint);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(StringComparer.OrdinalIgnoreCase.GetHashCode(Host), Port);

    private static string FormatHostPort(string host, int port, bool isIpAddress) =>
        isIpAddress && host.Contains(':', StringComparison.Ordinal)
            ? string.Create(CultureInfo.InvariantCulture, $"[{host}]:{port}")
            : string.Create(CultureInfo.InvariantCulture, $"{host}:{port}");

    private static bool TryParse(string value, [NotNullWhen(true)] out TalosEndpoint? endpoint, [NotNullWhen(false)] out string? error)
    {
        endpoint = null;
        if (value.Length == 0 || string.IsNullOrWhiteSpace(value))
        {
            error = "it is empty";
            return false;
        }

        foreach (char c in value)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                error = "it contains white space or control characters";
                return false;
            }
        }

        string hostPort;
        int defaultPort = DefaultPort;
        int schemeEnd = value.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd >= 0)
        {
            string scheme = value[..schemeEnd];
            if (!IsUrlScheme(scheme))
            {
                error = $"'{scheme}' is not a URL scheme";
                return false;
            }

            // talosctl (Go's net/url) keeps only host and port of a URL; https without a port means 443.
            string rest = value[(schemeEnd + 3)..];
            int authorityEnd = rest.AsSpan().IndexOfAny('/', '?', '#');
            string authority = authorityEnd < 0 ? rest : rest[..authorityEnd];
            int at = authority.LastIndexOf('@');
            hostPort = at < 0 ? authority : authority[(at + 1)..];
            if (string.Equals(scheme, "https", StringComparison.OrdinalIgnoreCase))
            {
                defaultPort = HttpsPort;
            }
        }
        else
        {
            hostPort = value;
        }

        if (!TrySplitHostPort(hostPort, defaultPort, out string? host, out int port, out bool isIp, out error))
        {
            return false;
        }

        endpoint = new TalosEndpoint(host, port, isIp, value);
        return true;
    }

    private static bool TrySplitHostPort(string hostPort, int defaultPort, [NotNullWhen(true)] out string? host, out int port, out bool isIp, [NotNullWhen(false)] out string? error)
    {
        host = null;
        port = defaultPort;
        isIp = false;
        if (hostPort.Length == 0)
        {
            error = "the host is missing";
            return false;
        }

        string? portText = null;
        if (hostPort[0] == '[')
        {
            int close = hostPort.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = "'[' without a closing ']'";
                return false;
            }

            string inner = hostPort[1..close];
            string after = hostPort[(close + 1)..];
            if (after.Length > 0)
            {
                if (after[0] != ':')
                {
                    error = $"unexpected '{after}' after ']' (expected ':port')";
                    return false;
                }

                portText = after[1..];
            }

            if (!TryParseIPv6(inner, out string? address))
            {
                error = $"'{inner}' in brackets is not an IPv6 address";
                return false;
            }

            host = address;
            isIp = true;
        }
        else
        {
            int first = hostPort.IndexOf(':', StringComparison.Ordinal);
            int last = hostPort.LastIndexOf(':');
            if (first >= 0 && first != last)
            {
                // More than one colon and no brackets: a bare IPv6 address, which gets the default port (as with Go's
                // net.SplitHostPort failing and net.JoinHostPort adding brackets).
                if (!TryParseIPv6(hostPort, out string? address))
                {
                    error = "it has several ':' but is not an IPv6 address (write IPv6 with a port as [address]:port)";
                    return false;
                }

                host = address;
                isIp = true;
            }
            else
            {
                string hostText = first < 0 ? hostPort : hostPort[..first];
                portText = first < 0 ? null : hostPort[(first + 1)..];
                if (!TryValidateHost(hostText, out isIp, out error))
                {
                    return false;
                }

                host = hostText;
            }
        }

        if (portText is not null)
        {
            if (!TryParsePort(portText, out port))
            {
                error = portText.Length == 0
                    ? "the port after ':' is missing"
                    : $"'{portText}' is not a port number (1-65535)";
                return false;
            }
        }

        error = null;
        return true;
    }

    private static bool TryParsePort(string text, out int port)
    {
        port = 0;
        if (text.Length is 0 or > 5)
        {
            return false;
        }

        foreach (char c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        port = int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        return port is >= 1 and <= 65535;
    }

    private static bool TryParseIPv6(string text, [NotNullWhen(true)] out string? address)
    {
        address = null;
        if (text.Length == 0 || !text.Contains(':', StringComparison.Ordinal)
            || !IPAddress.TryParse(text, out IPAddress? ip) || ip.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        address = text;
        return true;
    }

    private static bool TryValidateHost(string host, out bool isIp, [NotNullWhen(false)] out string? error)
    {
        isIp = false;
        if (host.Length == 0)
        {
            error = "the host is missing";
            return false;
        }

        bool digitsAndDots = true;
        foreach (char c in host)
        {
            if (!char.IsAsciiDigit(c) && c != '.')
            {
                digitsAndDots = false;
                break;
            }
        }

        if (digitsAndDots)
        {
            // IPAddress.TryParse also takes shorthand such as "10.1" or "167772161"; Talos endpoints are dotted quads.
            if (!IsDottedQuad(host))
            {
                error = $"'{host}' is not an IPv4 address (expected four numbers 0-255 separated by dots)";
                return false;
            }

            isIp = true;
            error = null;
            return true;
        }

        string name = host.EndsWith('.') ? host[..^1] : host;
        if (name.Length is 0 or > MaxDnsNameLength)
        {
            error = $"'{host}' is not a valid host name";
            return false;
        }

        foreach (string label in name.Split('.'))
        {
            if (label.Length is 0 or > MaxDnsLabelLength || label[0] == '-' || label[^1] == '-')
            {
                error = $"'{host}' is not a valid host name";
                return false;
            }

            foreach (char c in label)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
                {
                    error = $"'{host}' is not a valid host name (character '{c}')";
                    return false;
                }
            }
        }

        error = null;
        return true;
    }

    private static bool IsDottedQuad(string text)
    {
        string[] parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        foreach (string part in parts)
        {
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0')
                || int.Parse(part, NumberStyles.None, CultureInfo.InvariantCulture) > 255)
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsUrlScheme(string scheme)
    {
        if (scheme.Length == 0 || !char.IsAsciiLetter(scheme[0]))
        {
            return false;
        }

        foreach (char c in scheme)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '+' && c != '-' && c != '.')
            {
                return false;
            }
        }

        return true;
    }
}
