using System.Globalization;

namespace Talos.Recovery.Client;

/// <summary>
/// The public facts of one X.509 certificate from a talosconfig (a CA in <c>ca</c> or the client certificate in
/// <c>crt</c>). Immutable; holds no private key.
/// </summary>
public sealed class TalosCertificateInfo
{
    internal TalosCertificateInfo(string subject, string issuer, string serialNumber, DateTimeOffset notBefore, DateTimeOffset notAfter, IReadOnlyList<string> organizations, ReadOnlyMemory<byte> rawData)
    {
        Subject = subject;
        Issuer = issuer;
        SerialNumber = serialNumber;
        NotBefore = notBefore;
        NotAfter = notAfter;
        Organizations = organizations;
        RawData = rawData;
    }

    /// <summary>The subject distinguished name, as .NET formats it (for example <c>O=os:admin</c>).</summary>
    public string Subject { get; }

    /// <summary>The issuer distinguished name, as .NET formats it (for example <c>O=talos</c>).</summary>
    public string Issuer { get; }

    /// <summary>The serial number in upper-case hexadecimal, big-endian.</summary>
    public string SerialNumber { get; }

    /// <summary>The start of the validity period, in UTC.</summary>
    public DateTimeOffset NotBefore { get; }

    /// <summary>The end of the validity period, in UTC.</summary>
    public DateTimeOffset NotAfter { get; }

    /// <summary>
    /// The subject's Organization (O) values in encoded order (DER sorts the values of one RDN), empty values left out. For a Talos client
    /// certificate these are its roles (<c>os:admin</c>, <c>os:etcd:backup</c>, …).
    /// </summary>
    public IReadOnlyList<string> Organizations { get; }

    /// <summary>The certificate in DER encoding.</summary>
    public ReadOnlyMemory<byte> RawData { get; }

    /// <summary>Whether <paramref name="instant"/> lies within [<see cref="NotBefore"/>, <see cref="NotAfter"/>].</summary>
    /// <param name="instant">The time to check, typically <see cref="DateTimeOffset.UtcNow"/>.</param>
    /// <returns><see langword="true"/> when the certificate is valid at that time.</returns>
    public bool IsValidAt(DateTimeOffset instant) => instant >= NotBefore && instant <= NotAfter;

    /// <summary>The subject and validity period, for diagnostics.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Subject} (valid {NotBefore:u} to {NotAfter:u})");
}
