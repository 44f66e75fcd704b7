using Google.Protobuf;
using Grpc.Core;
using Talos.Recovery.Api.Common;
using Talos.Recovery.Testing.Tls;
using Metadata = Talos.Recovery.Api.Common.Metadata;

namespace Talos.Recovery.Testing.Simulator;

/// <summary>
/// apid's part: who the caller is (roles from the client certificate, or <c>talos-role</c> on the plaintext listener),
/// where a call goes (<c>node</c> one-to-one, <c>nodes</c> one-to-many, or the endpoint node itself), and machined's
/// role check on the target.
/// </summary>
internal sealed class SimulatorRouter
{
    private const string Admin = "os:admin";
    private const string Operator = "os:operator";
    private const string Reader = "os:reader";
    private const string EtcdBackup = "os:etcd:backup";

    private static readonly Dictionary<string, string[]> Rules = new(StringComparer.Ordinal)
    {
        ["EtcdSnapshot"] = [Admin, Operator, EtcdBackup],
        ["EtcdRecover"] = [Admin],
        ["Bootstrap"] = [Admin],
        ["Reset"] = [Admin],
        ["EtcdMemberList"] = [Admin, Operator, Reader, EtcdBackup],
        ["EtcdStatus"] = [Admin, Operator, Reader, EtcdBackup],
        ["EtcdAlarmList"] = [Admin, Operator, Reader, EtcdBackup],
        ["EtcdAlarmDisarm"] = [Admin, Operator],
        ["EtcdDefragment"] = [Admin, Operator],
        ["EtcdRemoveMemberByID"] = [Admin],
        ["EtcdLeaveCluster"] = [Admin],
        ["EtcdForfeitLeadership"] = [Admin],
        ["ServiceList"] = [Admin, Operator, Reader],
        ["ServiceStart"] = [Admin, Operator],
        ["ServiceStop"] = [Admin, Operator],
        ["ServiceRestart"] = [Admin, Operator],
        ["Copy"] = [Admin],
        ["Read"] = [Admin],
        ["Reboot"] = [Admin, Operator],
        ["Shutdown"] = [Admin, Operator],
        ["Version"] = [Admin, Operator, Reader],
        ["Hostname"] = [Admin, Operator, Reader],
        ["List"] = [Admin, Operator, Reader],
        ["Events"] = [Admin, Operator, Reader],
        ["cosi.Get"] = [Admin, Operator, Reader],
        ["cosi.List"] = [Admin, Operator, Reader],
        ["cosi.Watch"] = [Admin, Operator, Reader],
    };

    private readonly SimulatedNode _endpoint;

    public SimulatorRouter(SimulatedNode endpoint) => _endpoint = endpoint;

    /// <summary>The caller's roles, as machined gets them from apid.</summary>
    public static IReadOnlyList<string> CallerRoles(ServerCallContext context)
    {
        var identity = context.GetHttpContext().Features.Get<ITalosClientIdentity>();
        var forwarded = context.RequestHeaders
            .Where(e => e.Key == "talos-role" && !e.IsBinary)
            .SelectMany(e => e.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToList();
        if (identity is null)
        {
            // The plaintext listener: the front (apid) is trusted to say who the caller is.
            return forwarded;
        }

        return identity.Roles.Contains("os:impersonator") && forwarded.Count > 0 ? forwarded : identity.Roles;
    }

    /// <summary>Throws PermissionDenied "not authorized" unless a role allows <paramref name="method"/>.</summary>
    public static void Authorize(string method, IReadOnlyList<string> roles, bool adminOnly = false)
    {
        string[] allowed = adminOnly ? [Admin] : Rules.GetValueOrDefault(method, [Admin]);
        if (!roles.Any(allowed.Contains))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "not authorized"));
        }
    }

    /// <summary>The <c>nodes</c> values (one-to-many), or an empty list.</summary>
    public static List<string> ManyTargets(ServerCallContext context) => Values(context, "nodes");

    /// <summary>
    /// Every value of a metadata key. Go clients send one header field per value; .NET's HttpClient joins the values of a
    /// repeated header with commas, so both shapes count (targets never contain commas).
    /// </summary>
    private static List<string> Values(ServerCallContext context, string key)
        => context.RequestHeaders
            .Where(e => e.Key == key && !e.IsBinary)
            .SelectMany(e => e.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToList();

    /// <summary>The single target of a call without <c>nodes</c>: the <c>node</c> value or the endpoint node.</summary>
    public SimulatedNode SingleTarget(ServerCallContext context)
    {
        var values = Values(context, "node");
        if (values.Count > 1)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "node metadata must be single-valued"));
        }

        return values.Count == 0 ? _endpoint : Resolve(values[0]);
    }

    /// <summary>The node a target string names, as apid would reach it.</summary>
    public SimulatedNode Resolve(string target)
    {
        if (target == _endpoint.Address || string.Equals(target, _endpoint.Name, StringComparison.OrdinalIgnoreCase))
        {
            return _endpoint;
        }

        if (!_endpoint.IsControlPlane)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "no request forwarding"));
        }

        if (target.Contains(':', StringComparison.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.Internal, $"invalid target \"{target}\""));
        }

        var node = _endpoint.Simulator.FindNode(target);
        if (node is null || !node.IsPoweredOn)
        {
            throw new RpcException(new Status(StatusCode.Unavailable,
                $"connection error: desc = \"transport: Error while dialing: dial tcp {target}:50000: connect: connection refused\""));
        }

        return node;
    }

    /// <summary>A unary (or buffered client-stream) call: routed one-to-one, or aggregated one-to-many like apid.</summary>
    public async Task<TResponse> UnaryAsync<TResponse>(ServerCallContext context, string method, Func<SimulatedNode, Task<TResponse>> handler)
        where TResponse : IMessage<TResponse>, new()
    {
        var roles = CallerRoles(context);
        var many = ManyTargets(context);
        if (many.Count == 0)
        {
            var target = SingleTarget(context);
            Authorize(method, roles);
            return await handler(target).ConfigureAwait(false);
        }

        var parts = await Task.WhenAll(many.Select(async target =>
        {
            try
            {
                var node = Resolve(target);
                Authorize(method, roles);
                var response = await handler(node).ConfigureAwait(false);
                return AddHostnameToMessages(response.ToByteArray(), target);
            }
            catch (Exception ex)
            {
                return ErrorResponse(target, ex);
            }
        })).ConfigureAwait(false);

        var parser = new MessageParser<TResponse>(() => new TResponse());
        return parser.ParseFrom(parts.SelectMany(p => p).ToArray());
    }

    /// <summary>A server-streaming call: routed one-to-one, or merged one-to-many (hostname on every message) like apid.</summary>
    public async Task StreamAsync<TResponse>(ServerCallContext context, string method, IServerStreamWriter<TResponse> writer, Func<SimulatedNode, Func<TResponse, Task>, CancellationToken, Task> handler)
        where TResponse : IMessage<TResponse>, new()
    {
        var roles = CallerRoles(context);
        var many = ManyTargets(context);
        var cancellationToken = context.CancellationToken;
        if (many.Count == 0)
        {
            var target = SingleTarget(context);
            Authorize(method, roles);
            await handler(target, m => writer.WriteAsync(m, cancellationToken), cancellationToken).ConfigureAwait(false);
            return;
        }

        var parser = new MessageParser<TResponse>(() => new TResponse());
        using var gate = new SemaphoreSlim(1, 1);
        async Task WriteAsync(byte[] bytes)
        {
            var message = parser.ParseFrom(bytes);
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        }

        await Task.WhenAll(many.Select(async target =>
        {
            try
            {
                var node = Resolve(target);
                Authorize(method, roles);
                await handler(node, m => WriteAsync([.. m.ToByteArray(), .. MetadataField(new Metadata { Hostname = target })]), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                await WriteAsync(MetadataField(ErrorMetadata(target, ex))).ConfigureAwait(false);
            }
        })).ConfigureAwait(false);
    }

    /// <summary>For every top-level field-1 message (<c>messages[i]</c>), appends <c>metadata{hostname}</c> to it.</summary>
    private static byte[] AddHostnameToMessages(byte[] response, string target)
    {
        byte[] metadata = MetadataField(new Metadata { Hostname = target });
        using var output = new MemoryStream();
        var writer = new CodedOutputStream(output);
        var input = new CodedInputStream(response);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 1 && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                byte[] message = input.ReadBytes().ToByteArray();
                writer.WriteTag(tag);
                writer.WriteBytes(ByteString.CopyFrom([.. message, .. metadata]));
            }
            else
            {
                // Unknown layout: copy the field unchanged.
                writer.WriteTag(tag);
                switch (WireFormat.GetTagWireType(tag))
                {
                    case WireFormat.WireType.Varint:
                        writer.WriteUInt64(input.ReadUInt64());
                        break;
                    case WireFormat.WireType.Fixed64:
                        writer.WriteFixed64(input.ReadFixed64());
                        break;
                    case WireFormat.WireType.Fixed32:
                        writer.WriteFixed32(input.ReadFixed32());
                        break;
                    default:
                        writer.WriteBytes(input.ReadBytes());
                        break;
                }
            }
        }

        writer.Flush();
        return output.ToArray();
    }

    /// <summary>Field 1 holding <paramref name="metadata"/>: a serialized <c>common.Empty</c>, which merges into any message whose field 1 is metadata.</summary>
    private static byte[] MetadataField(Metadata metadata) => new Empty { Metadata = metadata }.ToByteArray();

    private static byte[] ErrorResponse(string target, Exception ex)
        => new EmptyResponse { Messages = { new Empty { Metadata = ErrorMetadata(target, ex) } } }.ToByteArray();

    private static Metadata ErrorMetadata(string target, Exception ex)
    {
        var status = ex is RpcException rpc ? rpc.Status : new Status(StatusCode.Unknown, ex.Message);
        return new Metadata
        {
            Hostname = target,
            Error = $"rpc error: code = {status.StatusCode} desc = {status.Detail}",
            Status = new Api.Rpc.Status { Code = (int)status.StatusCode, Message = status.Detail },
        };
    }
}
