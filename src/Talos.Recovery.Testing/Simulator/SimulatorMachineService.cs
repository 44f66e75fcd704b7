using Empty = Google.Protobuf.WellKnownTypes.Empty;
using Grpc.Core;
using Talos.Recovery.Api.Common;
using Talos.Recovery.Api.Machine;

namespace Talos.Recovery.Testing.Simulator;

/// <summary>The simulated <c>machine.MachineService</c> of one node's endpoint: routing and roles, then the target node's handler.</summary>
internal sealed class SimulatorMachineService : MachineService.MachineServiceBase
{
    private static readonly WriteOptions BufferedWrite = new(WriteFlags.BufferHint);
    private readonly SimulatorRouter _router;

    public SimulatorMachineService(SimulatedNode node) => _router = new SimulatorRouter(node);

    public override Task<BootstrapResponse> Bootstrap(BootstrapRequest request, ServerCallContext context)
        => _router.UnaryAsync(context, "Bootstrap", n => n.BootstrapAsync(request));

    public override async Task<EtcdRecoverResponse> EtcdRecover(IAsyncStreamReader<Data> requestStream, ServerCallContext context)
    {
        if (SimulatorRouter.ManyTargets(context).Count == 0)
        {
            return await _router.UnaryAsync(context, "EtcdRecover", n => n.EtcdRecoverAsync(requestStream.ReadAllAsync(context.CancellationToken), context.CancellationToken)).ConfigureAwait(false);
        }

        // One-to-many: apid sends every message to every target.
        var chunks = new List<Data>();
        await foreach (var chunk in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            chunks.Add(chunk);
        }

        return await _router.UnaryAsync(context, "EtcdRecover", n => n.EtcdRecoverAsync(chunks.ToAsyncEnumerable(), context.CancellationToken)).ConfigureAwait(false);
    }

    public override Task EtcdSnapshot(EtcdSnapshotRequest request, IServerStreamWriter<Data> responseStream, ServerCallContext context)
        => _router.StreamAsync(context, "EtcdSnapshot", responseStream, (n, write, ct) => n.EtcdSnapshotAsync(write, ct, buffered => context.WriteOptions = buffered ? BufferedWrite : null));

    public override Task<ResetResponse> Reset(ResetRequest request, ServerCallContext context)
        => _router.UnaryAsync(context, "Reset", n => n.ResetAsync(request));

    public override Task<RebootResponse> Reboot(RebootRequest request, ServerCallContext context)
        => _router.UnaryAsync(context, "Reboot", n => n.RebootAsync(request));

    public override Task<EtcdMemberListResponse> EtcdMemberList(EtcdMemberListRequest request, ServerCallContext context)
        => _router.UnaryAsync(context, "EtcdMemberList", n => n.EtcdMemberListAsync(request, context.CancellationToken));

    public override Task<EtcdStatusResponse> EtcdStatus(Empty request, ServerCallContext context)
        => _router.UnaryAsync(context, "EtcdStatus", n => n.EtcdStatusAsync(context.CancellationToken));

    public override Task<EtcdAlarmListResponse> EtcdAlarmList(Empty request, ServerCallContext context)
        => _router.UnaryAsync(context, "EtcdAlarmList", n => n.EtcdAlarmListAsync(context.CancellationToken));

    public override Task<EtcdRemoveMemberByIDResponse> EtcdRemoveMemberByID(EtcdRemoveMemberByIDRequest request, ServerCallContext context)
        => _router.UnaryAsync(context, "EtcdRemoveMemberByID", n => n.EtcdRemoveMemberByIdAsync(request, context.CancellationToken));

    public override Task<EtcdLeaveClusterResponse> EtcdLeaveCluster(EtcdLeaveClusterRequest request, ServerCallContext context)
        => _router.UnaryAsync(context, "EtcdLeaveCluster", n => n.EtcdLeaveClusterAsync(context.CancellationToken));

    public override Task<EtcdForfeitLeadershipResponse> EtcdForfeitLeadership(EtcdForfeitLeadershipRequest request, ServerCallContext context)
        => _router.UnaryAsync(context, "EtcdForfeitLeadership", n => n.EtcdForfeitLeadershipAsync(context.CancellationToken));

    public override Task<ServiceListResponse> ServiceList(Empty request, ServerCallContext context)
        => _router.UnaryAsync(context, "ServiceList", n => n.ServiceListAsync(context.CancellationToken));

    public override Task Copy(CopyRequest request, IServerStreamWriter<Data> responseStream, ServerCallContext context)
        => _router.StreamAsync(context, "Copy", responseStream, (n, write, ct) => n.CopyAsync(request, write, ct));

    public override Task Read(ReadRequest request, IServerStreamWriter<Data> responseStream, ServerCallContext context)
        => _router.StreamAsync(context, "Read", responseStream, (n, write, ct) => n.ReadAsync(request, write, ct));

    public override Task<VersionResponse> Version(Empty request, ServerCallContext context)
        => _router.UnaryAsync(context, "Version", n => Task.FromResult(n.Version()));

    public override Task<HostnameResponse> Hostname(Empty request, ServerCallContext context)
        => _router.UnaryAsync(context, "Hostname", n => Task.FromResult(n.Hostname()));

    public override Task Events(EventsRequest request, IServerStreamWriter<Event> responseStream, ServerCallContext context)
        => _router.StreamAsync(context, "Events", responseStream, (n, write, ct) => n.EventsAsync(request, write, ct));
}
