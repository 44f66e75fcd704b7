using Grpc.Core;

namespace Talos.Recovery.Client;

/// <summary>
/// A Talos machine API call failed on a node: the node (or apid on its behalf) answered with a gRPC error, or the
/// node could not be reached. Carries the node, the method and the gRPC status; the <see cref="RpcException"/> is the
/// inner exception.
/// </summary>
public class TalosNodeException : TalosRecoveryException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed and what to do about it.</param>
    /// <param name="node">The node the call was for, or <see langword="null"/> for the endpoint node itself.</param>
    /// <param name="method">The API method, e.g. <c>machine.MachineService/Bootstrap</c>.</param>
    /// <param name="statusCode">The gRPC status code.</param>
    /// <param name="detail">The server's status message.</param>
    /// <param name="innerException">The cause, usually an <see cref="RpcException"/>.</param>
    public TalosNodeException(string message, string? node, string method, StatusCode statusCode, string detail, Exception? innerException = null)
        : base(message, innerException)
    {
        Node = node;
        Method = method;
        StatusCode = statusCode;
        Detail = detail;
    }

    /// <summary>The node the call was for, or <see langword="null"/> when it went to the endpoint node itself.</summary>
    public string? Node { get; }

    /// <summary>The API method, e.g. <c>machine.MachineService/Bootstrap</c>.</summary>
    public string Method { get; }

    /// <summary>The gRPC status code.</summary>
    public StatusCode StatusCode { get; }

    /// <summary>The server's status message (e.g. <c>etcd data directory is not empty</c>).</summary>
    public string Detail { get; }
}
