using Grpc.Core;
using Talos.Recovery.Api.Cosi;

namespace Talos.Recovery.Testing.Simulator;

/// <summary>The simulated COSI <c>cosi.resource.State</c> of one node's endpoint: read-only, <c>node</c> routing only.</summary>
internal sealed class SimulatorStateService : State.StateBase
{
    private readonly SimulatorRouter _router;

    public SimulatorStateService(SimulatedNode node) => _router = new SimulatorRouter(node);

    public override Task<GetResponse> Get(GetRequest request, ServerCallContext context)
    {
        var node = Route(context, "cosi.Get", request.Type);
        var resource = Find(node, request.Namespace, request.Type).FirstOrDefault(r => r.Metadata.Id == request.Id)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"resource {request.Type}({request.Namespace}/{request.Id}@undefined) doesn't exist"));
        return Task.FromResult(new GetResponse { Resource = resource });
    }

    public override async Task List(ListRequest request, IServerStreamWriter<ListResponse> responseStream, ServerCallContext context)
    {
        var node = Route(context, "cosi.List", request.Type);
        foreach (var resource in Find(node, request.Namespace, request.Type))
        {
            await responseStream.WriteAsync(new ListResponse { Resource = resource }, context.CancellationToken).ConfigureAwait(false);
        }
    }

    public override async Task Watch(WatchRequest request, IServerStreamWriter<WatchResponse> responseStream, ServerCallContext context)
    {
        var node = Route(context, "cosi.Watch", request.Type);
        var resources = Find(node, request.Namespace, request.Type).Where(r => !request.HasId || r.Metadata.Id == request.Id).ToList();
        if (request.Options?.BootstrapContents == true || request.HasId)
        {
            var response = new WatchResponse();
            response.Event.AddRange(resources.Select(r => new Event { Resource = r, EventType = EventType.Created }));
            if (request.ApiVersion >= 1 && request.Options?.BootstrapContents == true)
            {
                response.Event.Add(new Event { EventType = EventType.Bootstrapped });
            }

            await responseStream.WriteAsync(response, context.CancellationToken).ConfigureAwait(false);
        }

        try
        {
            // The simulated resources never change: follow until the client goes away.
            await Task.Delay(Timeout.Infinite, context.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override Task<CreateResponse> Create(CreateRequest request, ServerCallContext context) => throw WriteDenied();

    public override Task<UpdateResponse> Update(UpdateRequest request, ServerCallContext context) => throw WriteDenied();

    public override Task<DestroyResponse> Destroy(DestroyRequest request, ServerCallContext context) => throw WriteDenied();

    public override Task<TeardownResponse> Teardown(TeardownRequest request, ServerCallContext context) => throw WriteDenied();

    public override Task<TeardownAndDestroyResponse> TeardownAndDestroy(TeardownAndDestroyRequest request, ServerCallContext context) => throw WriteDenied();

    private static RpcException WriteDenied() => new(new Status(StatusCode.PermissionDenied, "write access is not allowed"));

    private SimulatedNode Route(ServerCallContext context, string method, string type)
    {
        if (SimulatorRouter.ManyTargets(context).Count > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "one-2-many proxying is not supported for COSI methods"));
        }

        var node = _router.SingleTarget(context);
        var roles = SimulatorRouter.CallerRoles(context);
        SimulatorRouter.Authorize(method, roles);
        if (SimulatorResources.IsSensitive(type))
        {
            SimulatorRouter.Authorize(method, roles, adminOnly: true);
        }

        return node;
    }

    private static IReadOnlyList<Resource> Find(SimulatedNode node, string ns, string type)
    {
        var known = SimulatorResources.Types(node).FirstOrDefault(t => t.Type == type);
        if (known.Type is null)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"resource type \"{type}\" is not supported"));
        }

        if (known.Namespace != ns)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"namespace \"{ns}\" is not supported"));
        }

        return SimulatorResources.List(node, type)!;
    }
}
