using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Talos.Recovery.Api.Common;
using Talos.Recovery.Api.Config;
using Talos.Recovery.Api.Cosi.Meta;
using Talos.Recovery.Api.Machine;
using Block = Talos.Recovery.Api.Resource.Block;
using Cosi = Talos.Recovery.Api.Cosi;
using Enums = Talos.Recovery.Api.Resource.Enums;
using Empty = Google.Protobuf.WellKnownTypes.Empty;
using FileInfo = Talos.Recovery.Api.Machine.FileInfo;
using Metadata = Talos.Recovery.Api.Common.Metadata;
using VersionInfo = Talos.Recovery.Api.Machine.VersionInfo;

namespace Talos.Recovery.Tests.Client.Wire;

/// <summary>
/// Pins the Talos machine API / COSI wire contract of the generated types: proto packages (which make the
/// gRPC paths), streaming kinds, field numbers and a few hand-encoded byte vectors. A change to a .proto
/// file that would break talking to a real Talos node fails here.
/// </summary>
public class WireContractTests
{
    [Test]
    public void Proto_packages_and_file_paths_match_talos_and_cosi()
    {
        Assert.Multiple(() =>
        {
            Assert.That(CommonReflection.Descriptor.Package, Is.EqualTo("common"));
            Assert.That(CommonReflection.Descriptor.Name, Is.EqualTo("common/common.proto"));
            Assert.That(MachineReflection.Descriptor.Package, Is.EqualTo("machine"));
            Assert.That(MachineReflection.Descriptor.Name, Is.EqualTo("machine/machine.proto"));
            Assert.That(ConfigReflection.Descriptor.Package, Is.EqualTo("resource.config"));
            Assert.That(ConfigReflection.Descriptor.Name, Is.EqualTo("resource/config/config.proto"));
            Assert.That(Api.Rpc.StatusReflection.Descriptor.Package, Is.EqualTo("google.rpc"));
            Assert.That(Api.Rpc.StatusReflection.Descriptor.Name, Is.EqualTo("google/rpc/status.proto"));
            Assert.That(Cosi.ResourceReflection.Descriptor.Package, Is.EqualTo("cosi.resource"));
            Assert.That(Cosi.ResourceReflection.Descriptor.Name, Is.EqualTo("v1alpha1/resource.proto"));
            Assert.That(Cosi.StateReflection.Descriptor.Package, Is.EqualTo("cosi.resource"));
            Assert.That(Cosi.StateReflection.Descriptor.Name, Is.EqualTo("v1alpha1/state.proto"));
            Assert.That(MetaReflection.Descriptor.Package, Is.EqualTo("cosi.resource.meta"));
            Assert.That(MetaReflection.Descriptor.Name, Is.EqualTo("v1alpha1/meta.proto"));
            Assert.That(Block.BlockReflection.Descriptor.Package, Is.EqualTo("talos.resource.definitions.block"));
            Assert.That(Block.BlockReflection.Descriptor.Name, Is.EqualTo("resource/definitions/block/block.proto"));
            Assert.That(Enums.EnumsReflection.Descriptor.Package, Is.EqualTo("talos.resource.definitions.enums"));
            Assert.That(Enums.EnumsReflection.Descriptor.Name, Is.EqualTo("resource/definitions/enums/enums.proto"));
        });
    }

    [Test]
    public void Generated_types_live_in_talos_recovery_namespaces_and_stay_internal()
    {
        System.Type[] types =
        [
            typeof(Data), typeof(EtcdMember), typeof(MachineService), typeof(MachineConfigSpec),
            typeof(Api.Rpc.Status), typeof(Cosi.Resource), typeof(Cosi.State), typeof(ResourceDefinitionSpec),
        ];

        Assert.Multiple(() =>
        {
            foreach (System.Type type in types)
            {
                Assert.That(type.Namespace, Does.StartWith("Talos.Recovery.Api."), type.FullName);
                Assert.That(type.IsPublic, Is.False, $"{type.FullName} must be internal");
            }

            Assert.That(typeof(Cosi.Resource).Namespace, Is.EqualTo("Talos.Recovery.Api.Cosi"));
            Assert.That(typeof(ResourceDefinitionSpec).Namespace, Is.EqualTo("Talos.Recovery.Api.Cosi.Meta"));
            Assert.That(typeof(MachineTypeSpec).Namespace, Is.EqualTo("Talos.Recovery.Api.Config"));
        });
    }

    [TestCase("EtcdSnapshot", false, true)]
    [TestCase("EtcdRecover", true, false)]
    [TestCase("Bootstrap", false, false)]
    [TestCase("Reset", false, false)]
    [TestCase("EtcdMemberList", false, false)]
    [TestCase("EtcdStatus", false, false)]
    [TestCase("EtcdAlarmList", false, false)]
    [TestCase("EtcdAlarmDisarm", false, false)]
    [TestCase("EtcdRemoveMemberByID", false, false)]
    [TestCase("EtcdLeaveCluster", false, false)]
    [TestCase("EtcdForfeitLeadership", false, false)]
    [TestCase("ServiceList", false, false)]
    [TestCase("ServiceStart", false, false)]
    [TestCase("ServiceStop", false, false)]
    [TestCase("ServiceRestart", false, false)]
    [TestCase("Copy", false, true)]
    [TestCase("Read", false, true)]
    [TestCase("List", false, true)]
    [TestCase("Events", false, true)]
    [TestCase("Kubeconfig", false, true)]
    [TestCase("Reboot", false, false)]
    [TestCase("Shutdown", false, false)]
    [TestCase("Version", false, false)]
    [TestCase("Hostname", false, false)]
    public void Machine_service_methods_have_talos_names_and_streaming_kinds(string name, bool clientStreaming, bool serverStreaming)
    {
        MethodDescriptor? method = MachineService.Descriptor.FindMethodByName(name);

        Assert.That(method, Is.Not.Null, name);
        Assert.Multiple(() =>
        {
            Assert.That(method!.FullName, Is.EqualTo("machine.MachineService." + name));
            Assert.That(method.IsClientStreaming, Is.EqualTo(clientStreaming));
            Assert.That(method.IsServerStreaming, Is.EqualTo(serverStreaming));
        });
    }

    [Test]
    public void Machine_service_request_and_response_types_match_talos()
    {
        Assert.Multiple(() =>
        {
            AssertTypes("EtcdSnapshot", "machine.EtcdSnapshotRequest", "common.Data");
            AssertTypes("EtcdRecover", "common.Data", "machine.EtcdRecoverResponse");
            AssertTypes("EtcdStatus", "google.protobuf.Empty", "machine.EtcdStatusResponse");
            AssertTypes("EtcdAlarmList", "google.protobuf.Empty", "machine.EtcdAlarmListResponse");
            AssertTypes("EtcdAlarmDisarm", "google.protobuf.Empty", "machine.EtcdAlarmDisarmResponse");
            AssertTypes("ServiceList", "google.protobuf.Empty", "machine.ServiceListResponse");
            AssertTypes("Version", "google.protobuf.Empty", "machine.VersionResponse");
            AssertTypes("Hostname", "google.protobuf.Empty", "machine.HostnameResponse");
            AssertTypes("Copy", "machine.CopyRequest", "common.Data");
            AssertTypes("Read", "machine.ReadRequest", "common.Data");
            AssertTypes("List", "machine.ListRequest", "machine.FileInfo");
            AssertTypes("Events", "machine.EventsRequest", "machine.Event");
            AssertTypes("Shutdown", "machine.ShutdownRequest", "machine.ShutdownResponse");
        });

        static void AssertTypes(string name, string input, string output)
        {
            MethodDescriptor method = MachineService.Descriptor.FindMethodByName(name);
            Assert.That(method.InputType.FullName, Is.EqualTo(input), name + " input");
            Assert.That(method.OutputType.FullName, Is.EqualTo(output), name + " output");
        }
    }

    [TestCase("Get", false, false)]
    [TestCase("List", false, true)]
    [TestCase("Watch", false, true)]
    [TestCase("Create", false, false)]
    [TestCase("Update", false, false)]
    [TestCase("Destroy", false, false)]
    public void Cosi_state_methods_have_cosi_names_and_streaming_kinds(string name, bool clientStreaming, bool serverStreaming)
    {
        MethodDescriptor? method = Cosi.State.Descriptor.FindMethodByName(name);

        Assert.That(method, Is.Not.Null, name);
        Assert.Multiple(() =>
        {
            Assert.That(method!.FullName, Is.EqualTo("cosi.resource.State." + name));
            Assert.That(method.IsClientStreaming, Is.EqualTo(clientStreaming));
            Assert.That(method.IsServerStreaming, Is.EqualTo(serverStreaming));
        });
    }

    [Test]
    public void Client_stubs_call_the_talos_grpc_paths()
    {
        var invoker = new RecordingCallInvoker();
        var machine = new MachineService.MachineServiceClient(invoker);
        var state = new Cosi.State.StateClient(invoker);

        Record(() => machine.EtcdSnapshot(new EtcdSnapshotRequest()));
        Record(() => machine.EtcdRecover());
        Record(() => machine.BootstrapAsync(new BootstrapRequest()));
        Record(() => machine.EtcdStatusAsync(new Empty()));
        Record(() => machine.Events(new EventsRequest()));
        Record(() => state.GetAsync(new Cosi.GetRequest()));
        Record(() => state.List(new Cosi.ListRequest()));
        Record(() => state.Watch(new Cosi.WatchRequest()));

        Assert.That(invoker.Calls, Is.EqualTo(new[]
        {
            (MethodType.ServerStreaming, "/machine.MachineService/EtcdSnapshot"),
            (MethodType.ClientStreaming, "/machine.MachineService/EtcdRecover"),
            (MethodType.Unary, "/machine.MachineService/Bootstrap"),
            (MethodType.Unary, "/machine.MachineService/EtcdStatus"),
            (MethodType.ServerStreaming, "/machine.MachineService/Events"),
            (MethodType.Unary, "/cosi.resource.State/Get"),
            (MethodType.ServerStreaming, "/cosi.resource.State/List"),
            (MethodType.ServerStreaming, "/cosi.resource.State/Watch"),
        }));

        static void Record(Action call) =>
            Assert.That(() => call(), Throws.TypeOf<RecordingCallInvoker.Recorded>());
    }

    [Test]
    public void Server_stubs_bind_every_method_under_the_talos_paths()
    {
        var machine = new RecordingServiceBinder();
        MachineService.BindService(machine, new UnimplementedMachineServer());
        var state = new RecordingServiceBinder();
        Cosi.State.BindService(state, new UnimplementedStateServer());

        Assert.Multiple(() =>
        {
            Assert.That(machine.Methods, Has.Count.EqualTo(MachineService.Descriptor.Methods.Count));
            Assert.That(machine.Methods, Does.Contain((MethodType.ServerStreaming, "/machine.MachineService/EtcdSnapshot")));
            Assert.That(machine.Methods, Does.Contain((MethodType.ClientStreaming, "/machine.MachineService/EtcdRecover")));
            Assert.That(machine.Methods, Does.Contain((MethodType.Unary, "/machine.MachineService/Reset")));
            Assert.That(machine.Methods, Does.Contain((MethodType.ServerStreaming, "/machine.MachineService/Copy")));
            Assert.That(state.Methods, Has.Count.EqualTo(Cosi.State.Descriptor.Methods.Count));
            Assert.That(state.Methods, Does.Contain((MethodType.ServerStreaming, "/cosi.resource.State/Watch")));
        });
    }

    [Test]
    public void Field_numbers_match_the_talos_and_cosi_tables()
    {
        Assert.Multiple(() =>
        {
            // common
            AssertField(Metadata.Descriptor, "hostname", 1);
            AssertField(Metadata.Descriptor, "error", 2);
            AssertField(Metadata.Descriptor, "status", 3);
            AssertField(Data.Descriptor, "metadata", 1);
            AssertField(Data.Descriptor, "bytes", 2);
            AssertField(Api.Rpc.Status.Descriptor, "details", 3);

            // bootstrap / recovery
            AssertField(BootstrapRequest.Descriptor, "recover_etcd", 1);
            AssertField(BootstrapRequest.Descriptor, "recover_skip_hash_check", 2);
            AssertField(EtcdRecoverResponse.Descriptor, "messages", 1);

            // etcd
            Assert.That(EtcdMember.Descriptor.FindFieldByNumber(1), Is.Null, "EtcdMember field 1 is unused");
            AssertField(EtcdMember.Descriptor, "id", 2);
            AssertField(EtcdMember.Descriptor, "hostname", 3);
            AssertField(EtcdMember.Descriptor, "is_learner", 6);
            AssertField(EtcdMembers.Descriptor, "members", 3);
            AssertField(EtcdMemberStatus.Descriptor, "protocol_version", 1);
            AssertField(EtcdMemberStatus.Descriptor, "is_learner", 9);
            AssertField(EtcdMemberStatus.Descriptor, "member_id", 10);
            AssertField(EtcdMemberStatus.Descriptor, "storage_version", 11);
            AssertField(EtcdStatus.Descriptor, "member_status", 2);
            AssertField(EtcdMemberAlarm.Descriptor, "alarm", 2);
            AssertField(EtcdForfeitLeadership.Descriptor, "member", 2);
            AssertField(EtcdRemoveMemberByIDRequest.Descriptor, "member_id", 1);

            // reset / reboot / events
            AssertField(ResetRequest.Descriptor, "system_partitions_to_wipe", 3);
            AssertField(ResetRequest.Descriptor, "user_disks_to_wipe", 4);
            AssertField(ResetRequest.Descriptor, "mode", 5);
            AssertField(Reset.Descriptor, "actor_id", 2);
            AssertField(RebootRequest.Descriptor, "mode", 1);
            AssertField(EventsRequest.Descriptor, "with_actor_id", 4);
            AssertField(Event.Descriptor, "data", 2);
            AssertField(Event.Descriptor, "actor_id", 4);
            AssertField(ServiceStateEvent.Descriptor, "health", 4);
            AssertField(MachineStatusEvent.Descriptor, "status", 2);

            // services / files / version
            AssertField(ServiceInfo.Descriptor, "health", 4);
            AssertField(ServiceHealth.Descriptor, "last_change", 4);
            AssertField(FileInfo.Descriptor, "xattrs", 12);
            AssertField(ListRequest.Descriptor, "report_xattrs", 5);
            AssertField(Api.Machine.Version.Descriptor, "features", 4);
            AssertField(Hostname.Descriptor, "hostname", 2);

            // resource.config
            AssertField(MachineConfigSpec.Descriptor, "yaml_marshalled", 1);
            AssertField(MachineTypeSpec.Descriptor, "machine_type", 1);

            // talos.resource.definitions.block (VolumeStatuses.block.talos.dev)
            AssertField(Block.VolumeStatusSpec.Descriptor, "phase", 1);
            AssertField(Block.VolumeStatusSpec.Descriptor, "location", 2);
            AssertField(Block.VolumeStatusSpec.Descriptor, "error_message", 3);
            AssertField(Block.VolumeStatusSpec.Descriptor, "parent_location", 7);
            AssertField(Block.VolumeStatusSpec.Descriptor, "partition_index", 8);
            AssertField(Block.VolumeStatusSpec.Descriptor, "size", 9);
            AssertField(Block.VolumeStatusSpec.Descriptor, "filesystem", 10);
            AssertField(Block.VolumeStatusSpec.Descriptor, "mount_location", 11);
            AssertField(Block.VolumeStatusSpec.Descriptor, "pretty_size", 13);
            AssertField(Block.VolumeStatusSpec.Descriptor, "type", 16);
            AssertField(Block.VolumeStatusSpec.Descriptor, "parent_id", 19);
            Assert.That((int)Enums.BlockVolumeType.VolumeTypeDirectory, Is.EqualTo(3));
            Assert.That((int)Enums.BlockVolumePhase.VolumePhaseReady, Is.EqualTo(6));

            // COSI
            AssertField(Cosi.Metadata.Descriptor, "phase", 6);
            AssertField(Cosi.Metadata.Descriptor, "labels", 10);
            AssertField(Cosi.Metadata.Descriptor, "annotations", 11);
            AssertField(Cosi.Spec.Descriptor, "proto_spec", 1);
            AssertField(Cosi.Spec.Descriptor, "yaml_spec", 2);
            AssertField(Cosi.LabelTerm.Descriptor, "value", 3);
            AssertField(Cosi.LabelTerm.Descriptor, "invert", 5);
            AssertField(Cosi.ListRequest.Descriptor, "options", 3);
            AssertField(Cosi.WatchRequest.Descriptor, "options", 4);
            AssertField(Cosi.WatchRequest.Descriptor, "api_version", 5);
            AssertField(Cosi.WatchOptions.Descriptor, "bootstrap_bookmark", 7);
            AssertField(Cosi.Event.Descriptor, "event_type", 2);
            AssertField(Cosi.Event.Descriptor, "bookmark", 5);
            AssertField(ResourceDefinitionSpec.Descriptor, "sensitivity", 7);
        });

        static void AssertField(MessageDescriptor message, string name, int number)
        {
            FieldDescriptor? field = message.FindFieldByName(name);
            Assert.That(field?.FieldNumber, Is.EqualTo(number), $"{message.FullName}.{name}");
        }
    }

    [Test]
    public void Proto3_optional_fields_have_presence()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Cosi.WatchRequest.Descriptor.FindFieldByName("id").HasPresence, Is.True);
            Assert.That(Cosi.WatchOptions.Descriptor.FindFieldByName("start_from_bookmark").HasPresence, Is.True);
            Assert.That(Cosi.Event.Descriptor.FindFieldByName("error").HasPresence, Is.True);
            Assert.That(Cosi.WatchRequest.Descriptor.FindFieldByName("namespace").HasPresence, Is.False);
        });
    }

    [Test]
    public void Enum_values_match_talos()
    {
        Assert.Multiple(() =>
        {
            Assert.That((int)ResetRequest.Types.WipeMode.UserDisks, Is.EqualTo(2));
            Assert.That((int)RebootRequest.Types.Mode.Powercycle, Is.EqualTo(1));
            Assert.That((int)RebootRequest.Types.Mode.Force, Is.EqualTo(2));
            Assert.That((int)EtcdMemberAlarm.Types.AlarmType.Corrupt, Is.EqualTo(2));
            Assert.That((int)ServiceStateEvent.Types.Action.Failed, Is.EqualTo(6));
            Assert.That((int)ServiceStateEvent.Types.Action.Starting, Is.EqualTo(8));
            Assert.That((int)MachineStatusEvent.Types.MachineStage.Resetting, Is.EqualTo(7));
            Assert.That((int)SequenceEvent.Types.Action.Stop, Is.EqualTo(2));
            Assert.That((int)MachineType.ControlPlane, Is.EqualTo(2));
            Assert.That((int)Cosi.EventType.Bootstrapped, Is.EqualTo(3));
            Assert.That((int)Cosi.LabelTerm.Types.Operation.LteNumeric, Is.EqualTo(7));
            Assert.That((int)ResourceDefinitionSpec.Types.Sensitivity.Sensitive, Is.EqualTo(1));
        });
    }

    [Test]
    public void Bootstrap_request_encodes_as_talos_expects()
    {
        var request = new BootstrapRequest { RecoverEtcd = true, RecoverSkipHashCheck = true };

        // field 1 varint (tag 0x08) = 1, field 2 varint (tag 0x10) = 1
        Assert.That(Convert.ToHexString(request.ToByteArray()), Is.EqualTo("08011001"));
    }

    [Test]
    public void Reset_request_encodes_as_talos_expects()
    {
        var request = new ResetRequest { Graceful = false, Reboot = true };
        request.SystemPartitionsToWipe.Add(new ResetPartitionSpec { Label = "EPHEMERAL", Wipe = true });

        // graceful=false: omitted
        // 10 01                         field 2 (reboot) varint 1
        // 1A 0D                         field 3 (system_partitions_to_wipe) length 13
        //    0A 09 "EPHEMERAL"          field 1 (label) length 9
        //    10 01                      field 2 (wipe) varint 1
        // mode = ALL (0): omitted
        Assert.That(
            Convert.ToHexString(request.ToByteArray()),
            Is.EqualTo("1001" + "1A0D" + "0A09" + "455048454D4552414C" + "1001"));
    }

    [Test]
    public void Etcd_member_status_encodes_the_high_field_numbers()
    {
        var status = new EtcdMemberStatus { MemberId = 1, StorageVersion = "3.6.0" };
        var member = new EtcdMember { Id = 0x1234 };

        Assert.Multiple(() =>
        {
            // field 10 varint: tag (10 << 3) | 0 = 0x50; field 11 bytes: tag (11 << 3) | 2 = 0x5A, length 5
            Assert.That(Convert.ToHexString(status.ToByteArray()), Is.EqualTo("5001" + "5A05" + "332E362E30"));
            // field 2 varint: tag 0x10; 0x1234 = 4660 -> varint B4 24
            Assert.That(Convert.ToHexString(member.ToByteArray()), Is.EqualTo("10B424"));
        });
    }

    [Test]
    public void Watch_request_sends_an_explicitly_empty_optional_id()
    {
        var request = new Cosi.WatchRequest { Namespace = "config", Id = string.Empty };

        // 0A 06 "config", then field 3 present with length 0: 1A 00
        Assert.That(Convert.ToHexString(request.ToByteArray()), Is.EqualTo("0A06" + "636F6E666967" + "1A00"));
        Assert.That(new Cosi.WatchRequest { Namespace = "config" }.HasId, Is.False);
    }

    [Test]
    public void Data_chunk_decodes_from_talos_bytes()
    {
        // 0A 05 (metadata, length 5) 0A 03 "cp1" (hostname); 12 03 01 02 03 (bytes)
        Data data = Data.Parser.ParseFrom(Convert.FromHexString("0A050A03637031" + "1203010203"));

        Assert.Multiple(() =>
        {
            Assert.That(data.Metadata.Hostname, Is.EqualTo("cp1"));
            Assert.That(data.Bytes.ToByteArray(), Is.EqualTo(new byte[] { 1, 2, 3 }));
        });
    }

    [Test]
    public void Event_payloads_unpack_from_the_talos_runtime_type_url()
    {
        var payload = new ServiceStateEvent { Service = "etcd", Action = ServiceStateEvent.Types.Action.Running };
        var @event = new Event
        {
            Data = new Any { TypeUrl = "talos/runtime/machine.ServiceStateEvent", Value = payload.ToByteString() },
        };

        Assert.Multiple(() =>
        {
            Assert.That(@event.Data.Is(ServiceStateEvent.Descriptor), Is.True);
            Assert.That(@event.Data.Unpack<ServiceStateEvent>(), Is.EqualTo(payload));
        });
    }

    [Test]
    public void Colliding_property_names_get_the_generator_suffix()
    {
        // A property may not share its class's name, so the generator appends '_' (Version.version, Hostname.hostname).
        var version = new Api.Machine.Version { Version_ = new VersionInfo { Tag = "v1.13.0" } };
        var hostname = new Hostname { Hostname_ = "cp1" };

        Assert.Multiple(() =>
        {
            Assert.That(version.Version_.Tag, Is.EqualTo("v1.13.0"));
            Assert.That(hostname.Hostname_, Is.EqualTo("cp1"));
        });
    }

    private sealed class UnimplementedMachineServer : MachineService.MachineServiceBase
    {
    }

    private sealed class UnimplementedStateServer : Cosi.State.StateBase
    {
    }

    /// <summary>Records the method each call would go to, then fails the call.</summary>
    private sealed class RecordingCallInvoker : CallInvoker
    {
        public List<(MethodType Type, string FullName)> Calls { get; } = [];

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            throw Record(method);

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            throw Record(method);

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            throw Record(method);

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            throw Record(method);

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            throw Record(method);

        private Recorded Record(IMethod method)
        {
            Calls.Add((method.Type, method.FullName));
            return new Recorded();
        }

        public sealed class Recorded : Exception
        {
        }
    }

    /// <summary>Collects what a generated BindService registers.</summary>
    private sealed class RecordingServiceBinder : ServiceBinderBase
    {
        public List<(MethodType Type, string FullName)> Methods { get; } = [];

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            Add(method, handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            Add(method, handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            Add(method, handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            Add(method, handler);

        private void Add(IMethod method, Delegate? handler)
        {
            Assert.That(handler, Is.Not.Null, method.FullName);
            Methods.Add((method.Type, method.FullName));
        }
    }
}
