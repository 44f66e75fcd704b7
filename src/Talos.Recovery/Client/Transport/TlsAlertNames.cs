namespace Talos.Recovery.Client.Transport;

/// <summary>The RFC names of TLS alerts (<c>bad_certificate</c>, …), as Go and OpenSSL print them.</summary>
/// <remarks>Compiled into Talos.Recovery and Talos.Recovery.Testing (shared source).</remarks>
internal static class TlsAlertNames
{
    /// <summary>The RFC name of <paramref name="alert"/>, or <c>alert_N</c> for a code this SDK does not name.</summary>
    public static string GetName(TlsAlert alert) => alert switch
    {
        TlsAlert.CloseNotify => "close_notify",
        TlsAlert.UnexpectedMessage => "unexpected_message",
        TlsAlert.BadRecordMac => "bad_record_mac",
        TlsAlert.RecordOverflow => "record_overflow",
        TlsAlert.HandshakeFailure => "handshake_failure",
        TlsAlert.BadCertificate => "bad_certificate",
        TlsAlert.UnsupportedCertificate => "unsupported_certificate",
        TlsAlert.CertificateRevoked => "certificate_revoked",
        TlsAlert.CertificateExpired => "certificate_expired",
        TlsAlert.CertificateUnknown => "certificate_unknown",
        TlsAlert.IllegalParameter => "illegal_parameter",
        TlsAlert.UnknownCA => "unknown_ca",
        TlsAlert.AccessDenied => "access_denied",
        TlsAlert.DecodeError => "decode_error",
        TlsAlert.DecryptError => "decrypt_error",
        TlsAlert.ProtocolVersion => "protocol_version",
        TlsAlert.InsufficientSecurity => "insufficient_security",
        TlsAlert.InternalError => "internal_error",
        TlsAlert.UserCanceled => "user_canceled",
        TlsAlert.MissingExtension => "missing_extension",
        TlsAlert.UnsupportedExtension => "unsupported_extension",
        TlsAlert.UnrecognizedName => "unrecognized_name",
        TlsAlert.CertificateRequired => "certificate_required",
        TlsAlert.NoApplicationProtocol => "no_application_protocol",
        _ => "alert_" + ((int)alert).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Whether <paramref name="alert"/> is a server's way of refusing a client certificate.</summary>
    public static bool IsCertificateRefusal(TlsAlert alert) => alert is
        TlsAlert.BadCertificate or TlsAlert.UnsupportedCertificate or TlsAlert.CertificateRevoked or
        TlsAlert.CertificateExpired or TlsAlert.CertificateUnknown or TlsAlert.UnknownCA or
        TlsAlert.AccessDenied or TlsAlert.CertificateRequired;
}
