using System.Collections.Concurrent;
using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Talos.Recovery.Api.Common;
using Empty = Google.Protobuf.WellKnownTypes.Empty;
using Talos.Recovery.Api.Machine;
using Talos.Recovery.Testing.Certificates;
using Talos.Recovery.Testing.Tls;
using Talos.Recovery.Tests.Tls;
using ConfigApi = Talos.Recovery.Api.Config;
using CosiApi = Talos.Recovery.Api.Cosi;

namespace Talos.Recovery.Tests.Client;

/// <summary>
/// A small Talos node for the client tests: the generated MachineService and State server bases in Kestrel behind the
/// Talos TLS middleware, with behaviours only a fake can produce on demand (truncated or stalled streams,
/// FailedPrecondition a given number of times, one-to-many error envelopes, role checks).
/// </summary>
internal sealed class FakeTalosNode : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeTalosNode(WebApplication app, FakeMachine machine, int port)
    {
        _app = app;
        Machine = machine;
        Port = port;
    }

    public FakeMachine Machine { get; }

    public int Port { get; }

    public static async Task<FakeTalosNode> StartAsync(TalosCertificate serverCertificate, TalosCertificateAuthority clientCa)
    {
        var machine = new FakeMachine();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<ILoggerFactory>(TlsTestServer.Logs);
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(machine);
        builder.Services.AddSingleton(new FakeState(machine));
        var tls = new TalosTlsServerOptions
        {
            CertificatePem = serverCertificate.CertificatePem,
            KeyPem = serverCertificate.KeyPem,
            ClientCaPem = clientCa.CertificatePem,
            LoggerFactory = TlsTestServer.Logs,
        };
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            listen.UseTalosTls(tls);
        }));
        WebApplication app = builder.Build();
        app.MapGrpcService<FakeMachine>();
        app.MapGrpcService<FakeState>();
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new FakeTalosNode(app, machine, new Uri(address).Port);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }

    /// <summary>A gzip-compressed tar holding the given files (name → bytes), as Talos's Copy sends.</summary>
    public static byte[] TarGz(params (string Name, byte[] Bytes)[] files)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach ((string name, byte[] bytes) in files)
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, name)
                {
                    DataStream = new MemoryStream(bytes),
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                };
                tar.WriteEntry(entry);
            }
        }

        return output.ToArray();
    }
}

/// <summary>The machine service of <see cref="FakeTalosNode"/>. Every field is a behaviour a test sets.</summary>
internal sealed class FakeMachine : MachineService.MachineServiceBase
{
    public byte[] Snapshot { get; set; } = [];

    /// <summary>End the snapshot stream with OK after this many bytes (a truncated "successful" stream).</summary>
    public int? SnapshotTruncateAt { get; set; }

    /// <summary>Send one chunk, then nothing (a stalled etcd reader).</summary>
    public bool SnapshotStalls { get; set; }

    public byte[] CopyArchive { get; set; } = [];

    public int BootstrapFailedPreconditions { get; set; }

    public int RecoverFailedPreconditions { get; set; }

    public ConcurrentQueue<BootstrapRequest> Bootstraps { get; } = new();

    public ConcurrentQueue<string> Nodes { get; } = new();

    public ResetRequest? LastReset { get; private set; }

    public byte[] Uploaded { get; private set; } = [];

    public int LargestUploadChunk { get; private set; }

    public int Recovers { get; private set; }

    public override Task<VersionResponse> Version(Empty request, ServerCallContext context)
    {
        string node = Route(context, "os:admin", "os:operator", "os:reader");
        return Task.FromResult(new VersionResponse
        {
            Messages =
            {
                new Api.Machine.Version
                {
                    Version_ = new Api.Machine.VersionInfo { Tag = "v1.11.3", Sha = "abc", Built = "today", GoVersion = "go1.24", Os = "linux", Arch = "amd64" },
                    Platform = new PlatformInfo { Name = "metal" },
                    Features = new FeaturesInfo { Rbac = true },
                    Metadata = node == "" ? null : new Api.Common.Metadata { Hostname = node },
                },
            },
        });
    }

    public override Task<HostnameResponse> Hostname(Empty request, ServerCallContext context)
    {
        string node = Route(context, "os:admin", "os:operator", "os:reader");
        return Task.FromResult(new HostnameResponse { Messages = { new Api.Machine.Hostname { Hostname_ = node == "" ? "cp-1" : "host-" + node } } });
    }

    public override async Task EtcdSnapshot(EtcdSnapshotRequest request, IServerStreamWriter<Data> responseStream, ServerCallContext context)
    {
        Route(context, "os:admin", "os:operator", "os:etcd:backup");
        ControlPlaneOnly(context);
        int end = SnapshotTruncateAt ?? Snapshot.Length;
        for (int offset = 0; offset < end; offset += 1024)
        {
            await responseStream.WriteAsync(new Data { Bytes = ByteString.CopyFrom(Snapshot, offset, Math.Min(1024, end - offset)) });
            if (SnapshotStalls)
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }
        }
    }

    public override async Task<EtcdRecoverResponse> EtcdRecover(IAsyncStreamReader<Data> requestStream, ServerCallContext context)
    {
        Route(context, "os:admin");
        Recovers++;
        var received = new MemoryStream();
        await foreach (Data data in requestStream.ReadAllAsync(context.CancellationToken))
        {
            LargestUploadChunk = Math.Max(LargestUploadChunk, data.Bytes.Length);
            data.Bytes.WriteTo(received);
        }

        if (RecoverFailedPreconditions > 0)
        {
            RecoverFailedPreconditions--;
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "etcd service is not ready for recovery yet"));
        }

        Uploaded = received.ToArray();
        return new EtcdRecoverResponse { Messages = { new EtcdRecover() } };
    }

    public override Task<BootstrapResponse> Bootstrap(BootstrapRequest request, ServerCallContext context)
    {
        Route(context, "os:admin");
        Bootstraps.Enqueue(request);
        if (BootstrapFailedPreconditions > 0)
        {
            BootstrapFailedPreconditions--;
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "bootstrap is not available yet"));
        }

        return Task.FromResult(new BootstrapResponse { Messages = { new Bootstrap() } });
    }

    public override Task<EtcdMemberListResponse> EtcdMemberList(EtcdMemberListRequest request, ServerCallContext context)
    {
        string node = Route(context, "os:admin", "os:operator", "os:reader", "os:etcd:backup");
        if (node == "unreachable")
        {
            // apid's one-to-many error envelope: the call itself is OK.
            return Task.FromResult(new EtcdMemberListResponse
            {
                Messages =
                {
                    new EtcdMembers
                    {
                        Metadata = new Api.Common.Metadata
                        {
                            Hostname = "10.5.0.9",
                            Error = "rpc error: code = Unavailable desc = connection refused",
                            Status = new Api.Rpc.Status { Code = (int)StatusCode.Unavailable, Message = "connection refused" },
                        },
                    },
                },
            });
        }

        ControlPlaneOnly(context);
        return Task.FromResult(new EtcdMemberListResponse
        {
            Messages =
            {
                new EtcdMembers
                {
                    Members =
                    {
                        new EtcdMember { Id = 0xabc, Hostname = "cp-1", PeerUrls = { "https://10.5.0.2:2380" }, ClientUrls = { "https://10.5.0.2:2379" }, IsLearner = !request.QueryLocal },
                    },
                },
            },
        });
    }

    public override Task<EtcdStatusResponse> EtcdStatus(Empty request, ServerCallContext context)
    {
        Route(context, "os:admin", "os:operator", "os:reader", "os:etcd:backup");
        ControlPlaneOnly(context);
        return Task.FromResult(new EtcdStatusResponse
        {
            Messages = { new EtcdStatus { MemberStatus = new EtcdMemberStatus { MemberId = 7, Leader = 7, ProtocolVersion = "3.6.5", DbSize = 4096, RaftIndex = 42, Errors = { "NOSPACE" } } } },
        });
    }

    public override Task<ServiceListResponse> ServiceList(Empty request, ServerCallContext context)
    {
        Route(context, "os:admin", "os:operator", "os:reader");
        var etcd = new ServiceInfo
        {
            Id = "etcd",
            State = "Preparing",
            Health = new ServiceHealth { Unknown = true },
            Events = new ServiceEvents
            {
                Events =
                {
                    new ServiceEvent { Msg = "Waiting for service \"cri\" to be \"up\"", State = "Waiting", Ts = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)) },
                    new ServiceEvent { Msg = "Running pre state", State = "Preparing", Ts = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 1, 0, 0, 5, TimeSpan.Zero)) },
                },
            },
        };
        return Task.FromResult(new ServiceListResponse
        {
            Messages = { new ServiceList { Services = { etcd, new ServiceInfo { Id = "apid", State = "Running", Health = new ServiceHealth { Healthy = true } } } } },
        });
    }

    public override Task<ResetResponse> Reset(ResetRequest request, ServerCallContext context)
    {
        Route(context, "os:admin");
        LastReset = request;
        return Task.FromResult(new ResetResponse { Messages = { new Reset { ActorId = "actor-1" } } });
    }

    public override async Task Copy(CopyRequest request, IServerStreamWriter<Data> responseStream, ServerCallContext context)
    {
        Route(context, "os:admin");
        for (int offset = 0; offset < CopyArchive.Length; offset += 1024)
        {
            await responseStream.WriteAsync(new Data { Bytes = ByteString.CopyFrom(CopyArchive, offset, Math.Min(1024, CopyArchive.Length - offset)) });
        }
    }

    public override async Task Read(ReadRequest request, IServerStreamWriter<Data> responseStream, ServerCallContext context)
    {
        Route(context, "os:admin");
        await responseStream.WriteAsync(new Data { Bytes = ByteString.CopyFromUtf8("hello ") });
        if (request.Path == "/broken")
        {
            // One-to-many style: the error arrives as a data message and the stream ends OK.
            await responseStream.WriteAsync(new Data { Metadata = new Api.Common.Metadata { Hostname = "10.5.0.3", Error = "open /broken: permission denied", Status = new Api.Rpc.Status { Code = (int)StatusCode.PermissionDenied, Message = "open /broken: permission denied" } } });
            return;
        }

        await responseStream.WriteAsync(new Data { Bytes = ByteString.CopyFromUtf8("world") });
    }

    public override async Task Events(EventsRequest request, IServerStreamWriter<Event> responseStream, ServerCallContext context)
    {
        Route(context, "os:admin", "os:operator", "os:reader");
        var sequence = new SequenceEvent { Sequence = "reset", Action = SequenceEvent.Types.Action.Start };
        var service = new ServiceStateEvent { Service = "etcd", Action = ServiceStateEvent.Types.Action.Running, Message = "Started task etcd" };
        await responseStream.WriteAsync(new Event { Id = "1", ActorId = "other", Data = Any.Pack(sequence, "talos/runtime") });
        await responseStream.WriteAsync(new Event { Id = "2", ActorId = "actor-1", Data = Any.Pack(sequence, "talos/runtime") });
        await responseStream.WriteAsync(new Event { Id = "3", ActorId = "actor-1", Data = Any.Pack(service, "talos/runtime") });
    }

    /// <summary>Records the <c>node</c> header, checks the caller's roles like machined, and returns the node ("" for none).</summary>
    private string Route(ServerCallContext context, params string[] allowed)
    {
        string node = context.RequestHeaders.GetValue("node") ?? string.Empty;
        Nodes.Enqueue(node);
        IReadOnlyList<string> roles = context.GetHttpContext().Features.Get<ITalosClientIdentity>()?.Roles ?? [];
        if (!roles.Any(allowed.Contains))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "not authorized"));
        }

        return node;
    }

    private static void ControlPlaneOnly(ServerCallContext context)
    {
        if (context.RequestHeaders.GetValue("node") == "worker")
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "etcd is only available on control plane nodes"));
        }
    }
}

/// <summary>The COSI state service of <see cref="FakeTalosNode"/>: the machine config and machine type.</summary>
internal sealed class FakeState(FakeMachine machine) : CosiApi.State.StateBase
{
    public const string ConfigYaml = "version: v1alpha1\nmachine:\n  type: controlplane\n---\napiVersion: v1alpha1\nkind: HostnameConfig\n";

    public override Task<CosiApi.GetResponse> Get(CosiApi.GetRequest request, ServerCallContext context)
    {
        machine.Nodes.Enqueue(context.RequestHeaders.GetValue("node") ?? string.Empty);
        if (context.RequestHeaders.GetValue("nodes") is not null)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "one-2-many proxying is not supported for COSI methods"));
        }

        var spec = (request.Type, request.Id) switch
        {
            ("MachineConfigs.config.talos.dev", "v1alpha1") => new CosiApi.Spec
            {
                ProtoSpec = new ConfigApi.MachineConfigSpec { YamlMarshalled = ByteString.CopyFromUtf8(ConfigYaml) }.ToByteString(),
            },
            ("MachineTypes.config.talos.dev", "machine-type") when context.RequestHeaders.GetValue("node") == "worker" => new CosiApi.Spec { YamlSpec = "worker\n" },
            ("MachineTypes.config.talos.dev", "machine-type") => new CosiApi.Spec
            {
                ProtoSpec = new ConfigApi.MachineTypeSpec { MachineType = ConfigApi.MachineType.ControlPlane }.ToByteString(),
            },
            _ => throw new RpcException(new Status(StatusCode.NotFound, "resource not found")),
        };
        return Task.FromResult(new CosiApi.GetResponse
        {
            Resource = new CosiApi.Resource { Metadata = new CosiApi.Metadata { Namespace = request.Namespace, Type = request.Type, Id = request.Id }, Spec = spec },
        });
    }
}
