using Grpc.Core;
using Grpc.Net.Client;
using Talos.Recovery.Api.Common;
using Talos.Recovery.Api.Machine;
using Talos.Recovery.Client;
using Talos.Recovery.Client.Transport;
using Talos.Recovery.Testing.Certificates;
using Talos.Recovery.Testing.Simulator;
using Metadata = Grpc.Core.Metadata;
using Talos.Recovery.Tests.Integration;

namespace Talos.Recovery.Tests.Simulator;

/// <summary>Raw generated gRPC clients over the Talos TLS transport, pointed at one simulated node's endpoint.</summary>
internal sealed class SimulatorConnection : IDisposable
{
    private readonly TalosTlsTransport _transport;
    private readonly GrpcChannel _channel;

    public SimulatorConnection(TalosClusterSimulator simulator, SimulatedNode endpoint, TalosCertificate client)
    {
        _transport = TalosTlsTransport.Create(new TalosTlsTransportOptions
        {
            CaPem = simulator.CertificateAuthority.CertificatePem,
            ClientCertificatePem = client.CertificatePem,
            ClientKeyPem = client.KeyPem,
            ConnectTimeout = TimeSpan.FromSeconds(5),
        });
        _channel = _transport.CreateChannel(endpoint.Address, endpoint.Port);
        Machine = new MachineService.MachineServiceClient(_channel);
        State = new Talos.Recovery.Api.Cosi.State.StateClient(_channel);
    }

    public MachineService.MachineServiceClient Machine { get; }

    public Talos.Recovery.Api.Cosi.State.StateClient State { get; }

    public void Dispose()
    {
        _channel.Dispose();
        _transport.Dispose();
    }
}

internal static class SimulatorKit
{
    public static async Task<TalosClusterSimulator> StartAsync(TalosSimulatorOptions? options = null)
    {
        EtcdRequirement.Require();
        return await TalosClusterSimulator.StartAsync(options);
    }

    /// <summary>Call options: <c>node</c> metadata (when given) and a short deadline.</summary>
    public static CallOptions To(string? node, int seconds = 10)
    {
        var headers = new Metadata();
        if (node is not null)
        {
            headers.Add("node", node);
        }

        return new CallOptions(headers, DateTime.UtcNow.AddSeconds(seconds));
    }

    /// <summary>The etcd ServiceInfo of a node, through the API; null while the node is unreachable.</summary>
    public static async Task<ServiceInfo?> EtcdServiceAsync(MachineService.MachineServiceClient client, string node)
    {
        try
        {
            var list = await client.ServiceListAsync(new Google.Protobuf.WellKnownTypes.Empty(), To(node, 5));
            return list.Messages[0].Services.Single(s => s.Id == "etcd");
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            return null;
        }
    }

    /// <summary>Polls ServiceList until the node's etcd is in <paramref name="state"/> (and healthy, for Running).</summary>
    public static async Task<ServiceInfo> WaitEtcdAsync(MachineService.MachineServiceClient client, string node, string state, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        ServiceInfo? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await EtcdServiceAsync(client, node);
            if (last is not null && last.State == state && (state != "Running" || last.Health.Healthy))
            {
                return last;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"etcd on {node} did not reach {state} in {timeout.TotalSeconds} s; last: {last}");
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>Reads a server stream of common.Data into memory, checking each chunk.</summary>
    public static async Task<byte[]> ReadAllAsync(AsyncServerStreamingCall<Data> call, Action<Data>? check = null)
    {
        using var buffer = new MemoryStream();
        await foreach (var chunk in call.ResponseStream.ReadAllAsync())
        {
            check?.Invoke(chunk);
            chunk.Bytes.WriteTo(buffer);
        }

        return buffer.ToArray();
    }
}
