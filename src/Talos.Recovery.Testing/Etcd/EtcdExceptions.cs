namespace Talos.Recovery.Testing.Etcd;

/// <summary>
/// The root of the exceptions the etcd test harness throws: a process that would not start or become healthy,
/// a gateway request etcd refused, an <c>etcdctl</c> command that failed.
/// </summary>
public class EtcdHarnessException : TalosRecoveryException
{
    /// <summary>Creates an exception with a message.</summary>
    public EtcdHarnessException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    public EtcdHarnessException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The <c>etcd</c> or <c>etcdctl</c> executable could not be found. The message says where the harness looked and
/// how to install them (on Debian and Ubuntu: <c>apt-get install etcd-server etcd-client</c>).
/// </summary>
public class EtcdNotFoundException : EtcdHarnessException
{
    /// <summary>The install hint included in every message.</summary>
    public const string InstallHint =
        "Install etcd 3.4 or later: on Debian/Ubuntu 'sudo apt-get update && sudo apt-get install -y etcd-server etcd-client', " +
        "or set " + EtcdBinaries.EtcdVariable + " and " + EtcdBinaries.EtcdctlVariable + " to the executables.";

    /// <summary>Creates the exception for a missing executable.</summary>
    /// <param name="executable">The executable that is missing (<c>etcd</c> or <c>etcdctl</c>).</param>
    /// <param name="searched">Where it was looked for.</param>
    public EtcdNotFoundException(string executable, string searched)
        : base($"'{executable}' was not found ({searched}). {InstallHint}")
    {
        Executable = executable;
    }

    /// <summary>The executable that is missing.</summary>
    public string Executable { get; }
}

/// <summary>An etcd member did not start or did not become healthy in time. <see cref="LogTail"/> has its last log lines.</summary>
public class EtcdStartException : EtcdHarnessException
{
    /// <summary>Creates the exception.</summary>
    public EtcdStartException(string message, string? logTail = null, Exception? innerException = null)
        : base(string.IsNullOrEmpty(logTail) ? message : message + Environment.NewLine + "--- etcd log (tail) ---" + Environment.NewLine + logTail, innerException)
    {
        LogTail = logTail;
    }

    /// <summary>The last lines etcd wrote before the failure, when there are any.</summary>
    public string? LogTail { get; }
}

/// <summary>etcd's v3 JSON gateway answered a request with an error.</summary>
public class EtcdGatewayException : EtcdHarnessException
{
    /// <summary>Creates the exception.</summary>
    public EtcdGatewayException(string message, int httpStatusCode, int? grpcStatusCode, string? etcdError, Exception? innerException = null)
        : base(message, innerException)
    {
        HttpStatusCode = httpStatusCode;
        GrpcStatusCode = grpcStatusCode;
        EtcdError = etcdError;
    }

    /// <summary>The HTTP status code of the answer (0 when there was no answer).</summary>
    public int HttpStatusCode { get; }

    /// <summary>The gRPC status code etcd reported (<c>code</c> in the error body), when there was one.</summary>
    public int? GrpcStatusCode { get; }

    /// <summary>etcd's error text, e.g. <c>etcdserver: invalid auth token</c>, when there was one.</summary>
    public string? EtcdError { get; }
}

/// <summary>An <c>etcdctl</c> command exited with a non-zero code or timed out.</summary>
public class EtcdctlException : EtcdHarnessException
{
    /// <summary>Creates the exception from a finished command.</summary>
    public EtcdctlException(string message, EtcdctlResult result)
        : base(message)
    {
        ArgumentNullException.ThrowIfNull(result);
        Result = result;
    }

    /// <summary>The command, its exit code and its output.</summary>
    public EtcdctlResult Result { get; }
}
