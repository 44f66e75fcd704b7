using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Talos.Recovery.Api.Machine;
using Talos.Recovery.Client.Etcd;
using YamlDotNet.RepresentationModel;
using ConfigApi = Talos.Recovery.Api.Config;
using EtcdAlarm = Talos.Recovery.Client.Etcd.EtcdAlarm;
using EtcdMember = Talos.Recovery.Client.Etcd.EtcdMember;
using BlockApi = Talos.Recovery.Api.Resource.Block;
using CosiApi = Talos.Recovery.Api.Cosi;

namespace Talos.Recovery.Client;

public partial class TalosClient
{
    private const string MachineConfigType = "MachineConfigs.config.talos.dev";
    private const string MachineTypeType = "MachineTypes.config.talos.dev";
    private const string VolumeStatusType = "VolumeStatuses.block.talos.dev";
    private static readonly TimeSpan FailedPreconditionRetryInterval = TimeSpan.FromMilliseconds(200);

    /// <summary><c>Version</c>.</summary>
    /// <exception cref="TalosNodeException">The node refused or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task<TalosVersionInfo> VersionAsync(string? node = null, CancellationToken cancellationToken = default)
    {
        const string Method = MachineService + "/Version";
        var (response, connection) = await UnaryAsync(Method, node, static (c, o) => c.Machine.VersionAsync(new Empty(), o), cancellationToken).ConfigureAwait(false);
        Api.Machine.Version message = Required(Method, node, connection, response.Messages, static m => m.Metadata);
        Api.Machine.VersionInfo info = message.Version_ ?? new Api.Machine.VersionInfo();
        return new TalosVersionInfo(
            Describe(node, connection), info.Tag, info.Sha, info.Built, info.GoVersion, info.Os, info.Arch,
            string.IsNullOrEmpty(message.Platform?.Name) ? null : message.Platform.Name, message.Features?.Rbac ?? false);
    }

    /// <summary><c>Hostname</c>.</summary>
    /// <exception cref="TalosNodeException">The node refused or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task<string> HostnameAsync(string? node = null, CancellationToken cancellationToken = default)
    {
        const string Method = MachineService + "/Hostname";
        var (response, connection) = await UnaryAsync(Method, node, static (c, o) => c.Machine.HostnameAsync(new Empty(), o), cancellationToken).ConfigureAwait(false);
        return Required(Method, node, connection, response.Messages, static m => m.Metadata).Hostname_;
    }

    /// <summary>The machine configuration (<c>MachineConfigs.config.talos.dev/v1alpha1</c>) as YAML text. Needs <c>os:admin</c>.</summary>
    /// <returns>The configuration exactly as submitted to the node (<c>MachineConfigSpec.yaml_marshalled</c>), or the YAML spec when the node sends no proto spec.</returns>
    /// <exception cref="TalosNodeException">The node refused (<see cref="StatusCode.PermissionDenied"/> without <c>os:admin</c>), has no configuration (<see cref="StatusCode.NotFound"/>), or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task<string> GetMachineConfigAsync(string? node = null, CancellationToken cancellationToken = default)
    {
        const string Method = StateService + "/Get";
        var request = new CosiApi.GetRequest { Namespace = "config", Type = MachineConfigType, Id = "v1alpha1" };
        var (response, connection) = await UnaryAsync(Method, node, (c, o) => c.State.GetAsync(request, o), cancellationToken).ConfigureAwait(false);
        CosiApi.Spec? spec = response.Resource?.Spec;
        if (spec is not null && !spec.ProtoSpec.IsEmpty)
        {
            return ConfigApi.MachineConfigSpec.Parser.ParseFrom(spec.ProtoSpec).YamlMarshalled.ToStringUtf8();
        }

        if (spec is not null && !string.IsNullOrEmpty(spec.YamlSpec))
        {
            // v1.12+: a YAML string scalar holding the whole config; ≤1.11: the config as a mapping.
            return ReadYamlScalar(spec.YamlSpec) ?? spec.YamlSpec;
        }

        throw CreateNodeException(Method, node, connection, StatusCode.NotFound, "the machine config resource has an empty spec", null);
    }

    /// <summary>The machine type (<c>MachineTypes.config.talos.dev/machine-type</c>).</summary>
    /// <returns>The type; <see cref="TalosMachineType.Unknown"/> when the node has none yet (no configuration).</returns>
    /// <exception cref="TalosNodeException">The node refused or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task<TalosMachineType> GetMachineTypeAsync(string? node = null, CancellationToken cancellationToken = default)
    {
        const string Method = StateService + "/Get";
        var request = new CosiApi.GetRequest { Namespace = "config", Type = MachineTypeType, Id = "machine-type" };
        CosiApi.GetResponse response;
        try
        {
            (response, _) = await UnaryAsync(Method, node, (c, o) => c.State.GetAsync(request, o), cancellationToken).ConfigureAwait(false);
        }
        catch (TalosNodeException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return TalosMachineType.Unknown;
        }

        CosiApi.Spec? spec = response.Resource?.Spec;
        if (spec is not null && !spec.ProtoSpec.IsEmpty)
        {
            return ConfigApi.MachineTypeSpec.Parser.ParseFrom(spec.ProtoSpec).MachineType switch
            {
                ConfigApi.MachineType.Init => TalosMachineType.Init,
                ConfigApi.MachineType.ControlPlane => TalosMachineType.ControlPlane,
                ConfigApi.MachineType.Worker => TalosMachineType.Worker,
                _ => TalosMachineType.Unknown,
            };
        }

        return (ReadYamlScalar(spec?.YamlSpec ?? string.Empty) ?? string.Empty).Trim() switch
        {
            "init" => TalosMachineType.Init,
            "controlplane" => TalosMachineType.ControlPlane,
            "worker" => TalosMachineType.Worker,
            _ => TalosMachineType.Unknown,
        };
    }

    /// <summary>
    /// One volume's status (<c>VolumeStatuses.block.talos.dev</c>, namespace <c>runtime</c>), e.g. <c>ETCD</c>: Talos 1.14+ reports it
    /// as a directory on <c>EPHEMERAL</c>, or as a partition of its own when a <c>VolumeConfig</c> provisions one.
    /// </summary>
    /// <param name="volumeId">The volume id, e.g. <c>ETCD</c> or <c>EPHEMERAL</c>.</param>
    /// <param name="node">The node; <see langword="null"/> for the endpoint.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The status; <see langword="null"/> when the node has no such volume (<see cref="StatusCode.NotFound"/>).</returns>
    /// <exception cref="TalosNodeException">The node refused (a node older than Talos 1.8 does not know the resource type:
    /// <see cref="StatusCode.PermissionDenied"/> "resource type … is not supported"), or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task<TalosVolumeStatus?> GetVolumeStatusAsync(string volumeId, string? node = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(volumeId);
        const string Method = StateService + "/Get";
        var request = new CosiApi.GetRequest { Namespace = "runtime", Type = VolumeStatusType, Id = volumeId };
        CosiApi.GetResponse response;
        TalosConnection connection;
        try
        {
            (response, connection) = await UnaryAsync(Method, node, (c, o) => c.State.GetAsync(request, o), cancellationToken).ConfigureAwait(false);
        }
        catch (TalosNodeException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return null;
        }

        string answered = Describe(node, connection);
        CosiApi.Spec? spec = response.Resource?.Spec;
        if (spec is not null && !spec.ProtoSpec.IsEmpty)
        {
            var s = BlockApi.VolumeStatusSpec.Parser.ParseFrom(spec.ProtoSpec);
            return new TalosVolumeStatus(answered, volumeId, (TalosVolumeType)(int)s.Type, (TalosVolumePhase)(int)s.Phase, s.Location, s.MountLocation, s.ParentId, s.Size, s.ErrorMessage);
        }

        var fields = ReadYamlMapping(spec?.YamlSpec ?? string.Empty);
        string Field(string key) => fields.TryGetValue(key, out var v) ? v : string.Empty;
        return new TalosVolumeStatus(
            answered,
            volumeId,
            System.Enum.TryParse<TalosVolumeType>(Field("type"), ignoreCase: true, out var type) ? type : TalosVolumeType.Partition,
            System.Enum.TryParse<TalosVolumePhase>(Field("phase"), ignoreCase: true, out var phase) ? phase : TalosVolumePhase.Waiting,
            Field("location"),
            Field("mountLocation"),
            Field("parentID"),
            ulong.TryParse(Field("size"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var size) ? size : 0,
            Field("errorMessage"));
    }

    /// <summary><c>EtcdMemberList</c>; <paramref name="queryLocal"/> asks only the node's own etcd member.</summary>
    /// <exception cref="TalosNodeException">The node refused (not a control plane, no permission) or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task<TalosEtcdMemberList> EtcdMembersAsync(string? node = null, bool queryLocal = true, CancellationToken cancellationToken = default)
    {
        const string Method = MachineService + "/EtcdMemberList";
        var request = new EtcdMemberListRequest { QueryLocal = queryLocal };
        var (response, connection) = await UnaryAsync(Method, node, (c, o) => c.Machine.EtcdMemberListAsync(request, o), cancellationToken).ConfigureAwait(false);
        EtcdMembers? members = Single(Method, node, connection, response.Messages, static m => m.Metadata);
        var list = new List<EtcdMember>(members?.Members.Count ?? 0);
        foreach (Api.Machine.EtcdMember member in members?.Members ?? [])
        {
            list.Add(new EtcdMember(member.Id, member.Hostname, [.. member.PeerUrls], [.. member.ClientUrls], member.IsLearner));
        }

        return new TalosEtcdMemberList(Describe(node, connection), list);
    }

    /// <summary><c>EtcdStatus</c>.</summary>
    /// <exception cref="TalosNodeException">The node refused (not a control plane, no permission, etcd down) or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task<TalosEtcdMemberStatus> EtcdStatusAsync(string? node = null, CancellationToken cancellationToken = default)
    {
        const string Method = MachineService + "/EtcdStatus";
        var (response, connection) = await UnaryAsync(Method, node, static (c, o) => c.Machine.EtcdStatusAsync(new Empty(), o), cancellationToken).ConfigureAwait(false);
        Api.Machine.EtcdMemberStatus status = Required(Method, node, connection, response.Messages, static m => m.Metadata).MemberStatus ?? new Api.Machine.EtcdMemberStatus();
        return new TalosEtcdMemberStatus(
            Describe(node, connection), status.MemberId, status.ProtocolVersion, status.DbSize, status.DbSizeInUse, status.Leader,
            status.RaftIndex, status.RaftTerm, status.RaftAppliedIndex, [.. status.Errors], status.IsLearner, status.StorageVersion);
    }

    /// <summary><c>EtcdAlarmList</c>.</summary>
    /// <exception cref="TalosNodeException">The node refused or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task<IReadOnlyList<EtcdAlarm>> EtcdAlarmsAsync(string? node = null, CancellationToken cancellationToken = default)
    {
        const string Method = MachineService + "/EtcdAlarmList";
        var (response, connection) = await UnaryAsync(Method, node, static (c, o) => c.Machine.EtcdAlarmListAsync(new Empty(), o), cancellationToken).ConfigureAwait(false);
        Api.Machine.EtcdAlarm? alarm = Single(Method, node, connection, response.Messages, static m => m.Metadata);
        var alarms = new List<EtcdAlarm>();
        foreach (EtcdMemberAlarm memberAlarm in alarm?.MemberAlarms ?? [])
        {
            alarms.Add(new EtcdAlarm(memberAlarm.MemberId, (EtcdAlarmType)(int)memberAlarm.Alarm));
        }

        return alarms;
    }

    /// <summary><c>EtcdRemoveMemberByID</c>.</summary>
    /// <exception cref="TalosNodeException">The node refused or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task EtcdRemoveMemberAsync(ulong memberId, string? node = null, CancellationToken cancellationToken = default)
    {
        const string Method = MachineService + "/EtcdRemoveMemberByID";
        var request = new EtcdRemoveMemberByIDRequest { MemberId = memberId };
        var (response, connection) = await UnaryAsync(Method, node, (c, o) => c.Machine.EtcdRemoveMemberByIDAsync(request, o), cancellationToken, mutating: true).ConfigureAwait(false);
        Single(Method, node, connection, response.Messages, static m => m.Metadata);
    }

    /// <summary><c>EtcdLeaveCluster</c>.</summary>
    /// <exception cref="TalosNodeException">The node refused or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task EtcdLeaveClusterAsync(string? node = null, CancellationToken cancellationToken = default)
    {
        const string Method = MachineService + "/EtcdLeaveCluster";
        var (response, connection) = await UnaryAsync(Method, node, static (c, o) => c.Machine.EtcdLeaveClusterAsync(new EtcdLeaveClusterRequest(), o), cancellationToken, mutating: true).ConfigureAwait(false);
        Single(Method, node, connection, response.Messages, static m => m.Metadata);
    }

    /// <summary><c>EtcdForfeitLeadership</c>; returns the member that received leadership, or empty.</summary>
    /// <exception cref="TalosNodeException">The node refused or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task<string> EtcdForfeitLeadershipAsync(string? node = null, CancellationToken cancellationToken = default)
    {
        const string Method = MachineService + "/EtcdForfeitLeadership";
        var (response, connection) = await UnaryAsync(Method, node, static (c, o) => c.Machine.EtcdForfeitLeadershipAsync(new EtcdForfeitLeadershipRequest(), o), cancellationToken, mutating: true).ConfigureAwait(false);
        return Single(Method, node, connection, response.Messages, static m => m.Metadata)?.Member ?? string.Empty;
    }

    /// <summary><c>ServiceList</c>.</summary>
    /// <exception cref="TalosNodeException">The node refused or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task<IReadOnlyList<TalosServiceInfo>> ServicesAsync(string? node = null, CancellationToken cancellationToken = default)
    {
        const string Method = MachineService + "/ServiceList";
        var (response, connection) = await UnaryAsync(Method, node, static (c, o) => c.Machine.ServiceListAsync(new Empty(), o), cancellationToken).ConfigureAwait(false);
        ServiceList? list = Single(Method, node, connection, response.Messages, static m => m.Metadata);
        string answered = Describe(node, connection);
        var services = new List<TalosServiceInfo>(list?.Services.Count ?? 0);
        foreach (ServiceInfo service in list?.Services ?? [])
        {
            services.Add(ToServiceInfo(answered, service));
        }

        return services;
    }

    /// <summary>One service (<c>ServiceList</c> filtered by id, as talosctl does); <see langword="null"/> when the node has no such service.</summary>
    /// <exception cref="TalosNodeException">The node refused or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task<TalosServiceInfo?> ServiceAsync(string id, string? node = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        IReadOnlyList<TalosServiceInfo> services = await ServicesAsync(node, cancellationToken).ConfigureAwait(false);
        return services.FirstOrDefault(s => s.Id == id);
    }

    /// <summary><c>Reset</c>; returns the actor id. The node resets asynchronously: watch it with <see cref="ServiceAsync"/> or <see cref="EventsAsync"/>.</summary>
    /// <remarks>Each of <see cref="TalosResetOptions.SystemLabelsToWipe"/> becomes one <c>ResetPartitionSpec{label, wipe=true}</c>, as talosctl sends them.</remarks>
    /// <exception cref="TalosNodeException">The node refused (needs <c>os:admin</c>) or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task<string> ResetAsync(TalosResetOptions? options = null, string? node = null, CancellationToken cancellationToken = default)
    {
        const string Method = MachineService + "/Reset";
        options ??= new TalosResetOptions();
        var request = new ResetRequest
        {
            Graceful = options.Graceful,
            Reboot = options.Reboot,
            Mode = options.Mode switch
            {
                TalosWipeMode.SystemDisk => ResetRequest.Types.WipeMode.SystemDisk,
                TalosWipeMode.UserDisks => ResetRequest.Types.WipeMode.UserDisks,
                _ => ResetRequest.Types.WipeMode.All,
            },
        };
        foreach (string label in options.SystemLabelsToWipe)
        {
            ArgumentException.ThrowIfNullOrEmpty(label, nameof(options));
            request.SystemPartitionsToWipe.Add(new ResetPartitionSpec { Label = label, Wipe = true });
        }

        request.UserDisksToWipe.AddRange(options.UserDisksToWipe);
        var (response, connection) = await UnaryAsync(Method, node, (c, o) => c.Machine.ResetAsync(request, o), cancellationToken, mutating: true).ConfigureAwait(false);
        return Single(Method, node, connection, response.Messages, static m => m.Metadata)?.ActorId ?? string.Empty;
    }

    /// <summary><c>Reboot</c>; returns the actor id.</summary>
    /// <exception cref="TalosNodeException">The node refused or could not be reached.</exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual async Task<string> RebootAsync(string? node = null, CancellationToken cancellationToken = default)
    {
        const string Method = MachineService + "/Reboot";
        var (response, connection) = await UnaryAsync(Method, node, static (c, o) => c.Machine.RebootAsync(new RebootRequest(), o), cancellationToken, mutating: true).ConfigureAwait(false);
        return Single(Method, node, connection, response.Messages, static m => m.Metadata)?.ActorId ?? string.Empty;
    }

    /// <summary><c>Bootstrap</c>. Returns as soon as the node accepted; a restore runs afterwards and a failure shows only as a
    /// <c>Failed</c> etcd service. Retried on <c>FailedPrecondition</c> only.</summary>
    /// <exception cref="TalosNodeException">
    /// The node refused: <see cref="StatusCode.AlreadyExists"/> (etcd data present), <see cref="StatusCode.Unimplemented"/>
    /// (not a control plane), <see cref="StatusCode.FailedPrecondition"/> for longer than
    /// <see cref="TalosClientOptions.FailedPreconditionRetryTimeout"/>, <see cref="StatusCode.PermissionDenied"/> (needs <c>os:admin</c>).
    /// </exception>
    /// <exception cref="TalosTlsException">The TLS handshake failed.</exception>
    public virtual Task BootstrapAsync(bool recoverEtcd = false, bool recoverSkipHashCheck = false, string? node = null, CancellationToken cancellationToken = default)
    {
        const string Method = MachineService + "/Bootstrap";
        var request = new BootstrapRequest { RecoverEtcd = recoverEtcd, RecoverSkipHashCheck = recoverSkipHashCheck };
        return RetryOnFailedPreconditionAsync(Method, node, async () =>
        {
            var (response, connection) = await UnaryAsync(Method, node, (c, o) => c.Machine.BootstrapAsync(request, o), cancellationToken, mutating: true).ConfigureAwait(false);
            Single(Method, node, connection, response.Messages, static m => m.Metadata);
        }, cancellationToken);
    }

    /// <summary>Runs <paramref name="attempt"/> again every 200 ms while it fails with <c>FailedPrecondition</c>, up to the configured time.</summary>
    private async Task RetryOnFailedPreconditionAsync(string method, string? node, Func<Task> attempt, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        while (true)
        {
            try
            {
                await attempt().ConfigureAwait(false);
                return;
            }
            catch (TalosNodeException ex) when (ex.StatusCode == StatusCode.FailedPrecondition && WithinRetryTime(start))
            {
                TalosClientLog.RetryingFailedPrecondition(_logger, method, node ?? "(endpoint)", ex.Detail);
            }

            await Task.Delay(FailedPreconditionRetryInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private bool WithinRetryTime(long start)
    {
        TimeSpan limit = Options.FailedPreconditionRetryTimeout;
        return limit == Timeout.InfiniteTimeSpan || (limit > TimeSpan.Zero && Stopwatch.GetElapsedTime(start) + FailedPreconditionRetryInterval <= limit);
    }

    private static TalosServiceInfo ToServiceInfo(string node, ServiceInfo service)
    {
        var events = new List<TalosServiceEvent>(service.Events?.Events.Count ?? 0);
        foreach (ServiceEvent e in service.Events?.Events ?? [])
        {
            events.Add(new TalosServiceEvent(e.Msg, ParseState(e.State), e.State, e.Ts is null ? null : e.Ts.ToDateTimeOffset()));
        }

        ServiceHealth? health = service.Health;
        return new TalosServiceInfo(
            node,
            service.Id,
            ParseState(service.State),
            service.State,
            new TalosServiceHealth(health?.Unknown ?? true, health?.Healthy ?? false, health?.LastMessage ?? string.Empty, health?.LastChange?.ToDateTimeOffset()),
            events);
    }

    /// <summary>Parses a service state string (<c>Running</c>, <c>Preparing</c>, …).</summary>
    internal static TalosServiceState ParseState(string state) => state switch
    {
        "Initialized" => TalosServiceState.Initialized,
        "Preparing" => TalosServiceState.Preparing,
        "Waiting" => TalosServiceState.Waiting,
        "Running" => TalosServiceState.Running,
        "Stopping" => TalosServiceState.Stopping,
        "Finished" => TalosServiceState.Finished,
        "Failed" => TalosServiceState.Failed,
        "Skipped" => TalosServiceState.Skipped,
        "Starting" => TalosServiceState.Starting,
        _ => TalosServiceState.Unknown,
    };

    /// <summary>The value of a YAML document that is a single scalar, or <see langword="null"/>.</summary>
    private static Dictionary<string, string> ReadYamlMapping(string yaml)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            if (stream.Documents.Count == 1 && stream.Documents[0].RootNode is YamlMappingNode mapping)
            {
                foreach (var (key, value) in mapping.Children)
                {
                    if (key is YamlScalarNode { Value: { } k } && value is YamlScalarNode { Value: { } v })
                    {
                        result[k] = v;
                    }
                }
            }
        }
        catch (YamlDotNet.Core.YamlException)
        {
        }

        return result;
    }

    private static string? ReadYamlScalar(string yaml)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            return stream.Documents.Count == 1 && stream.Documents[0].RootNode is YamlScalarNode scalar ? scalar.Value : null;
        }
        catch (YamlDotNet.Core.YamlException)
        {
            return null;
        }
    }
}
