using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Threading.Channels;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Talos.Recovery.Api.Common;
using Talos.Recovery.Api.Machine;
using Talos.Recovery.Client;
using Talos.Recovery.Testing.Etcd;
using EtcdApi = Talos.Recovery.Api.Etcd;
using EtcdMember = Talos.Recovery.Api.Machine.EtcdMember;
using EtcdMemberStatus = Talos.Recovery.Api.Machine.EtcdMemberStatus;
using VersionInfo = Talos.Recovery.Api.Machine.VersionInfo;

namespace Talos.Recovery.Testing.Simulator;

/// <summary>The node's machined: what a call routed to this node does.</summary>
public sealed partial class SimulatedNode
{
    private const int ChunkSize = 1024;
    private const int EtcdBlobSize = 32 * 1024;
    private byte[]? _replaySnapshot;
    private static readonly TimeSpan EtcdCallTimeout = TimeSpan.FromSeconds(3);
    private readonly List<Event> _events = [];
    private readonly List<Channel<Event>> _subscribers = [];
    private long _eventSequence;

    internal Task<BootstrapResponse> BootstrapAsync(BootstrapRequest request)
    {
        if (!IsReady)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "bootstrap is not available yet"));
        }

        if (!IsControlPlane)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "bootstrap is only available on control plane nodes"));
        }

        if (EtcdDataDirectoryHasEntries())
        {
            throw new RpcException(new Status(StatusCode.AlreadyExists, "etcd data directory is not empty"));
        }

        return BootstrapCoreAsync(request);
    }

    private async Task<BootstrapResponse> BootstrapCoreAsync(BootstrapRequest request)
    {
        await CancelJoinLoopAsync().ConfigureAwait(false);
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            await StopEtcdProcessAsync().ConfigureAwait(false);
            if (EtcdDataDirectoryHasEntries())
            {
                throw new RpcException(new Status(StatusCode.Unknown, "etcd data directory is not empty"));
            }

            SetEtcdState(TalosServiceState.Finished, "Bootstrap requested");
        }
        finally
        {
            _lifecycle.Release();
        }

        bool recover = request.RecoverEtcd;
        bool skipHashCheck = request.RecoverSkipHashCheck;
        RunInBackground(() => RunBootstrappedEtcdAsync(recover, skipHashCheck));
        return new BootstrapResponse { Messages = { new Bootstrap() } };
    }

    private async Task RunBootstrappedEtcdAsync(bool recover, bool skipHashCheck)
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            SetEtcdState(TalosServiceState.Starting, "Starting service");
            SetEtcdState(TalosServiceState.Waiting, "Waiting for service \"cri\" to be \"up\", time sync, network, etcd spec");
            SetEtcdState(TalosServiceState.Preparing, "Running pre state");
            if (recover && MachineType != TalosMachineType.Init)
            {
                var etcdctl = _simulator.Etcdctl.WithEndpoints(null);
                var status = await etcdctl.RunAsync(["snapshot", "status", EtcdSnapshotUploadPath, "-w", "json"]).ConfigureAwait(false);
                if (!status.Succeeded)
                {
                    SetEtcdState(TalosServiceState.Failed, "Failed to run pre stage: error verifying snapshot: " + EtcdctlError(status));
                    return;
                }

                if (Directory.Exists(EtcdDataDirectory))
                {
                    Directory.Delete(EtcdDataDirectory, recursive: true);
                }

                var arguments = new List<string>
                {
                    "snapshot", "restore", EtcdSnapshotUploadPath,
                    "--data-dir=" + EtcdDataDirectory,
                    "--name=" + Name,
                    "--initial-cluster=" + Name + "=" + EtcdPeerUrl,
                    "--initial-cluster-token=" + _simulator.ClusterToken,
                    "--initial-advertise-peer-urls=" + EtcdPeerUrl,
                };
                if (skipHashCheck)
                {
                    arguments.Add("--skip-hash-check=true");
                }

                var restore = await etcdctl.RunAsync(arguments).ConfigureAwait(false);
                if (!restore.Succeeded)
                {
                    // Like Talos, the partial restore stays on disk: the next Bootstrap gets AlreadyExists until a wipe.
                    CreatePrivateDirectory(Path.Combine(EtcdDataDirectory, "member", "snap"));
                    SetEtcdState(TalosServiceState.Failed, "Failed to run pre stage: error recovering from the snapshot: " + EtcdctlError(restore));
                    return;
                }

                File.Delete(EtcdSnapshotUploadPath);
            }

            SetEtcdState(TalosServiceState.Preparing, "Creating service runner");
            await LaunchEtcdAsync(Name + "=" + EtcdPeerUrl, existing: false, CancellationToken.None).ConfigureAwait(false);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await WaitEtcdHealthyAsync(timeout.Token).ConfigureAwait(false);
                MarkEtcdRunning();
            }
            catch (Exception ex) when (ex is EtcdStartException or OperationCanceledException)
            {
                SetEtcdState(TalosServiceState.Failed, "Failed to start etcd: " + ex.Message);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private static string EtcdctlError(EtcdctlResult result)
    {
        string text = (result.StandardError.Length > 0 ? result.StandardError : result.StandardOutput).Trim();
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string line = lines.LastOrDefault(l => l.StartsWith("Error:", StringComparison.Ordinal)) ?? (lines.Length > 0 ? lines[^1] : "etcdctl failed");
        return line.StartsWith("Error:", StringComparison.Ordinal) ? line["Error:".Length..].Trim() : line;
    }

    internal async Task<EtcdRecoverResponse> EtcdRecoverAsync(IAsyncEnumerable<Data> chunks, CancellationToken cancellationToken)
    {
        if (!IsReady || !Directory.Exists(Path.GetDirectoryName(EtcdSnapshotUploadPath)))
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "etcd service is not ready for recovery yet"));
        }

        if (!IsControlPlane)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "etcd recover is only available on control plane nodes"));
        }

        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.None,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        }

        try
        {
            await using (var file = new FileStream(EtcdSnapshotUploadPath, options))
            {
                await foreach (var chunk in chunks.WithCancellation(cancellationToken).ConfigureAwait(false))
                {
                    await file.WriteAsync(chunk.Bytes.Memory, cancellationToken).ConfigureAwait(false);
                }

                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }
        }
        catch
        {
            File.Delete(EtcdSnapshotUploadPath);
            throw;
        }

        return new EtcdRecoverResponse { Messages = { new EtcdRecover() } };
    }

    /// <summary>
    /// Re-chunks etcd's Maintenance.Snapshot (32 KiB blobs) into 1 KiB <c>common.Data</c> messages, as machined does.
    /// <paramref name="buffer"/> (when given) is called with <see langword="true"/> before every message but the last
    /// of a blob and <see langword="false"/> before that last one, so the server flushes about once per blob, as Go's
    /// gRPC server coalesces writes that queue up, rather than once per 1 KiB message.
    /// </summary>
    internal async Task EtcdSnapshotAsync(Func<Data, Task> write, CancellationToken cancellationToken, Action<bool>? buffer = null)
    {
        RequireControlPlane("etcd snapshot");
        if (_simulator.Options.ReplayEtcdSnapshot && _replaySnapshot is { } replay)
        {
            for (int blob = 0; blob < replay.Length; blob += EtcdBlobSize)
            {
                await WriteBlobAsync(replay.AsMemory(blob, Math.Min(EtcdBlobSize, replay.Length - blob)), write, buffer).ConfigureAwait(false);
            }

            return;
        }

        using var channel = CreateEtcdChannel();
        var maintenance = new EtcdApi.Maintenance.MaintenanceClient(channel);
        using var call = maintenance.Snapshot(new EtcdApi.SnapshotRequest(), cancellationToken: cancellationToken);
        var reader = call.ResponseStream;
        bool any = false;
        try
        {
            using var first = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            first.CancelAfter(TimeSpan.FromSeconds(5));
            any = await reader.MoveNext(first.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            string detail = ex is RpcException rpc ? rpc.Status.Detail : "context deadline exceeded";
            throw new RpcException(new Status(StatusCode.Unknown, "failed reading etcd snapshot: " + detail));
        }

        var copy = _simulator.Options.ReplayEtcdSnapshot ? new MemoryStream() : null;
        try
        {
            while (any)
            {
                var blob = reader.Current.Blob.Memory;
                copy?.Write(blob.Span);
                await WriteBlobAsync(blob, write, buffer).ConfigureAwait(false);
                any = await reader.MoveNext(cancellationToken).ConfigureAwait(false);
            }

            if (copy is not null)
            {
                _replaySnapshot = copy.ToArray();
            }
        }
        catch (RpcException) when (!cancellationToken.IsCancellationRequested)
        {
            // Like machined: a read error in the middle of the stream is swallowed and the stream ends OK.
        }
    }

    private static async Task WriteBlobAsync(ReadOnlyMemory<byte> blob, Func<Data, Task> write, Action<bool>? buffer)
    {
        for (int offset = 0; offset < blob.Length; offset += ChunkSize)
        {
            var piece = blob.Slice(offset, Math.Min(ChunkSize, blob.Length - offset));
            buffer?.Invoke(offset + ChunkSize < blob.Length);

            // The write serializes the message before it completes, and the blob is not reused until then.
            await write(new Data { Bytes = UnsafeByteOperations.UnsafeWrap(piece) }).ConfigureAwait(false);
        }
    }

    internal async Task<ResetResponse> ResetAsync(ResetRequest request)
    {
        string actor = Guid.NewGuid().ToString();
        var labels = request.SystemPartitionsToWipe.Select(p => p.Label).ToList();
        bool system = request.Mode != ResetRequest.Types.WipeMode.UserDisks;
        bool wipeEphemeral = system && (labels.Count == 0 || labels.Contains("EPHEMERAL"));
        bool wipeEtcdVolume = system && (labels.Count == 0 || labels.Contains("ETCD"));
        if (system && labels.Contains("ETCD"))
        {
            // Talos validates the targets before it replies: ETCD must exist, and a directory volume goes only with its backing volume.
            switch (EtcdVolume)
            {
                case SimulatedEtcdVolume.Ephemeral:
                    throw new RpcException(new Status(StatusCode.Unknown, "failed to reset: volume \"ETCD\" is not located"));
                case SimulatedEtcdVolume.Directory when !wipeEphemeral:
                    throw new RpcException(new Status(StatusCode.Unknown, "failed to reset: volume \"ETCD\" resides on volume \"EPHEMERAL\""));
            }
        }

        // The upload (/var/lib/etcd.snapshot) is on EPHEMERAL; etcd's data too, unless it has a partition of its own.
        bool wipeEtcdData = EtcdVolume == SimulatedEtcdVolume.Partition ? wipeEtcdVolume : wipeEphemeral;
        RunInBackground(() => RunResetAsync(request.Graceful, request.Reboot, wipeEtcdData, wipeEphemeral, actor));
        await Task.Yield();
        return new ResetResponse { Messages = { new Reset { ActorId = actor } } };
    }

    private async Task RunResetAsync(bool graceful, bool reboot, bool wipeEtcdData, bool wipeEphemeral, string actor)
    {
        PublishSequence("reset", SequenceEvent.Types.Action.Start, actor);
        _ready = false;
        await Task.Delay(20).ConfigureAwait(false);
        await CancelJoinLoopAsync().ConfigureAwait(false);
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (graceful && IsControlPlane && _etcd is { IsRunning: true })
            {
                try
                {
                    await LeaveEtcdAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (RpcException)
                {
                    // Leaving needs quorum; a reset goes on without it.
                }
            }

            await StopEtcdProcessAsync().ConfigureAwait(false);
            if (IsControlPlane)
            {
                SetEtcdState(TalosServiceState.Finished, "Service finished successfully");
            }

            if (wipeEtcdData)
            {
                WipeEtcdData(includeUpload: false);
            }

            if (wipeEphemeral)
            {
                File.Delete(EtcdSnapshotUploadPath);
            }
        }
        finally
        {
            _lifecycle.Release();
        }

        PublishSequence("reset", SequenceEvent.Types.Action.Stop, actor);
        if (reboot)
        {
            await RebootCoreAsync(CancellationToken.None).ConfigureAwait(false);
        }
        else
        {
            await StopServerAsync().ConfigureAwait(false);
        }
    }

    internal Task<RebootResponse> RebootAsync(RebootRequest request)
    {
        _ = request;
        string actor = Guid.NewGuid().ToString();
        RunInBackground(async () =>
        {
            PublishSequence("reboot", SequenceEvent.Types.Action.Start, actor);
            await Task.Delay(20).ConfigureAwait(false);
            await RebootAsync(CancellationToken.None).ConfigureAwait(false);
        });
        return Task.FromResult(new RebootResponse { Messages = { new Reboot { ActorId = actor } } });
    }

    internal async Task<EtcdMemberListResponse> EtcdMemberListAsync(EtcdMemberListRequest request, CancellationToken cancellationToken)
    {
        RequireControlPlane("member list");
        IEnumerable<SimulatedNode> sources = request.QueryLocal ? [this] : _simulator.ControlPlanes.OrderBy(n => n == this ? 0 : 1);
        RpcException? last = null;
        foreach (var source in sources)
        {
            try
            {
                using var channel = source.CreateEtcdChannel();
                var cluster = new EtcdApi.Cluster.ClusterClient(channel);
                var response = await cluster.MemberListAsync(new EtcdApi.MemberListRequest(), RequireLeader(), DateTime.UtcNow + EtcdCallTimeout, cancellationToken).ConfigureAwait(false);
                var members = new EtcdMembers();
                foreach (var m in response.Members)
                {
                    members.LegacyMembers.Add(m.Name);
                    members.Members.Add(new EtcdMember
                    {
                        Id = m.ID,
                        Hostname = m.Name,
                        PeerUrls = { m.PeerURLs },
                        ClientUrls = { m.ClientURLs },
                        IsLearner = m.IsLearner,
                    });
                }

                return new EtcdMemberListResponse { Messages = { members } };
            }
            catch (RpcException ex)
            {
                last = EtcdError(ex, null);
            }
        }

        throw last ?? new RpcException(new Status(StatusCode.Unknown, "no etcd endpoints"));
    }

    internal async Task<EtcdStatusResponse> EtcdStatusAsync(CancellationToken cancellationToken)
    {
        RequireControlPlane("etcd status");
        using var channel = CreateEtcdChannel();
        var maintenance = new EtcdApi.Maintenance.MaintenanceClient(channel);
        try
        {
            var s = await maintenance.StatusAsync(new EtcdApi.StatusRequest(), null, DateTime.UtcNow + EtcdCallTimeout, cancellationToken).ConfigureAwait(false);
            var parts = s.Version.Split('.');
            var status = new EtcdMemberStatus
            {
                ProtocolVersion = s.Version,
                DbSize = s.DbSize,
                DbSizeInUse = s.DbSizeInUse,
                Leader = s.Leader,
                RaftIndex = s.RaftIndex,
                RaftTerm = s.RaftTerm,
                RaftAppliedIndex = s.RaftAppliedIndex,
                Errors = { s.Errors },
                IsLearner = s.IsLearner,
                MemberId = s.Header?.MemberId ?? 0,
                StorageVersion = parts.Length >= 2 ? parts[0] + "." + parts[1] + ".0" : "unknown",
            };
            return new EtcdStatusResponse { Messages = { new EtcdStatus { MemberStatus = status } } };
        }
        catch (RpcException ex)
        {
            throw EtcdError(ex, null);
        }
    }

    internal async Task<EtcdAlarmListResponse> EtcdAlarmListAsync(CancellationToken cancellationToken)
    {
        RequireControlPlane("etcd alarm list");
        using var channel = CreateEtcdChannel();
        var maintenance = new EtcdApi.Maintenance.MaintenanceClient(channel);
        try
        {
            var response = await maintenance.AlarmAsync(new EtcdApi.AlarmRequest { Action = EtcdApi.AlarmRequest.Types.AlarmAction.Get }, RequireLeader(), DateTime.UtcNow + EtcdCallTimeout, cancellationToken).ConfigureAwait(false);
            var alarm = new EtcdAlarm();
            foreach (var a in response.Alarms)
            {
                alarm.MemberAlarms.Add(new EtcdMemberAlarm { MemberId = a.MemberID, Alarm = (EtcdMemberAlarm.Types.AlarmType)(int)a.Alarm });
            }

            return new EtcdAlarmListResponse { Messages = { alarm } };
        }
        catch (RpcException ex)
        {
            throw EtcdError(ex, null);
        }
    }

    internal async Task<EtcdRemoveMemberByIDResponse> EtcdRemoveMemberByIdAsync(EtcdRemoveMemberByIDRequest request, CancellationToken cancellationToken)
    {
        RequireControlPlane("etcd remove member");
        var result = await LocalEtcdctl().RunAsync(["member", "remove", request.MemberId.ToString("x", CultureInfo.InvariantCulture), "--command-timeout=3s"], cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            string error = EtcdctlError(result);
            throw error.Contains("member not found", StringComparison.Ordinal)
                ? new RpcException(new Status(StatusCode.NotFound, error))
                : new RpcException(new Status(StatusCode.Unknown, "failed to remove member: " + error));
        }

        return new EtcdRemoveMemberByIDResponse { Messages = { new EtcdRemoveMemberByID() } };
    }

    internal async Task<EtcdLeaveClusterResponse> EtcdLeaveClusterAsync(CancellationToken cancellationToken)
    {
        RequireControlPlane("etcd leave");
        await CancelJoinLoopAsync().ConfigureAwait(false);
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await LeaveEtcdAsync(cancellationToken).ConfigureAwait(false);
            await StopEtcdProcessAsync().ConfigureAwait(false);
            SetEtcdState(TalosServiceState.Finished, "Service finished successfully");
            WipeEtcdData();
        }
        finally
        {
            _lifecycle.Release();
        }

        return new EtcdLeaveClusterResponse { Messages = { new EtcdLeaveCluster() } };
    }

    private async Task LeaveEtcdAsync(CancellationToken cancellationToken)
    {
        var status = await EtcdStatusAsync(cancellationToken).ConfigureAwait(false);
        ulong id = status.Messages[0].MemberStatus.MemberId;
        var result = await LocalEtcdctl().RunAsync(["member", "remove", id.ToString("x", CultureInfo.InvariantCulture), "--command-timeout=3s"], cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new RpcException(new Status(StatusCode.Unknown, "failed to leave cluster: " + EtcdctlError(result)));
        }
    }

    internal async Task<EtcdForfeitLeadershipResponse> EtcdForfeitLeadershipAsync(CancellationToken cancellationToken)
    {
        RequireControlPlane("etcd forfeit leadership");
        var list = await EtcdMemberListAsync(new EtcdMemberListRequest { QueryLocal = true }, cancellationToken).ConfigureAwait(false);
        var members = list.Messages[0].Members;
        if (members.Count <= 1)
        {
            throw new RpcException(new Status(StatusCode.Unknown, "cannot forfeit leadership, only one member"));
        }

        var status = (await EtcdStatusAsync(cancellationToken).ConfigureAwait(false)).Messages[0].MemberStatus;
        var reply = new EtcdForfeitLeadership();
        if (status.Leader == status.MemberId)
        {
            var target = members.First(m => m.Id != status.MemberId && !m.IsLearner);
            var result = await LocalEtcdctl().RunAsync(["move-leader", target.Id.ToString("x", CultureInfo.InvariantCulture), "--command-timeout=3s"], cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                throw new RpcException(new Status(StatusCode.Unknown, "failed to move leadership: " + EtcdctlError(result)));
            }

            reply.Member = target.Hostname;
        }

        return new EtcdForfeitLeadershipResponse { Messages = { reply } };
    }

    internal async Task<ServiceListResponse> ServiceListAsync(CancellationToken cancellationToken)
    {
        var now = Timestamp.FromDateTime(DateTime.UtcNow);
        var list = new ServiceList();
        ServiceInfo Running(string id) => new()
        {
            Id = id,
            State = "Running",
            Health = new ServiceHealth { Healthy = true, LastChange = now },
            Events = new ServiceEvents { Events = { new ServiceEvent { Msg = "Health check successful", State = "Running", Ts = now } } },
        };

        list.Services.Add(Running("apid"));
        list.Services.Add(Running("containerd"));
        list.Services.Add(Running("cri"));
        if (IsControlPlane)
        {
            var state = EtcdState;
            bool running = state == TalosServiceState.Running;
            bool healthy = running && await IsEtcdHealthyAsync(cancellationToken).ConfigureAwait(false);
            var etcd = new ServiceInfo
            {
                Id = "etcd",
                State = StateText(state),
                Health = running
                    ? new ServiceHealth { Healthy = healthy, LastMessage = healthy ? "" : "context deadline exceeded", LastChange = now }
                    : new ServiceHealth { Unknown = true },
                Events = new ServiceEvents { Events = { EtcdEvents() } },
            };
            list.Services.Add(etcd);
        }

        list.Services.Add(Running("kubelet"));
        list.Services.Add(Running("machined"));
        if (IsControlPlane)
        {
            list.Services.Add(Running("trustd"));
        }

        list.Services.Add(Running("udevd"));
        return new ServiceListResponse { Messages = { list } };
    }

    internal async Task CopyAsync(CopyRequest request, Func<Data, Task> write, CancellationToken cancellationToken)
    {
        string path = MapPath(request.RootPath);
        bool isFile = File.Exists(path);
        if (!isFile && !Directory.Exists(path))
        {
            throw new RpcException(new Status(StatusCode.Unknown, $"lstat {request.RootPath}: no such file or directory"));
        }

        using var archive = new MemoryStream();
        await using (var gzip = new GZipStream(archive, CompressionLevel.Fastest, leaveOpen: true))
        {
            await using var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true);
            if (isFile)
            {
                await AddTarFileAsync(tar, path, Path.GetFileName(path), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                foreach (string entry in Directory.EnumerateFileSystemEntries(path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                {
                    string relative = Path.GetRelativePath(path, entry).Replace('\\', '/');
                    if (Directory.Exists(entry))
                    {
                        await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, relative + "/") { Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute }, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await AddTarFileAsync(tar, entry, relative, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }

        await WriteChunksAsync(new ReadOnlyMemory<byte>(archive.GetBuffer(), 0, (int)archive.Length), write).ConfigureAwait(false);
    }

    private static async Task AddTarFileAsync(TarWriter tar, string path, string name, CancellationToken cancellationToken)
    {
        await using var stream = UnlockedFile.OpenRead(path);
        var info = new System.IO.FileInfo(path);
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = stream,
            Mode = OperatingSystem.IsWindows() ? UnixFileMode.UserRead | UnixFileMode.UserWrite : File.GetUnixFileMode(path),
            ModificationTime = info.LastWriteTimeUtc,
        };
        await tar.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
    }

    internal async Task ReadAsync(ReadRequest request, Func<Data, Task> write, CancellationToken cancellationToken)
    {
        string path = MapPath(request.Path);
        if (Directory.Exists(path))
        {
            throw new RpcException(new Status(StatusCode.Unknown, "path must be a regular file"));
        }

        if (!File.Exists(path))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"open {request.Path}: no such file or directory"));
        }

        await using var stream = UnlockedFile.OpenRead(path);
        byte[] buffer = new byte[ChunkSize];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            await write(new Data { Bytes = ByteString.CopyFrom(buffer, 0, read) }).ConfigureAwait(false);
        }
    }

    internal VersionResponse Version() => new()
    {
        Messages =
        {
            new Api.Machine.Version
            {
                Version_ = new VersionInfo
                {
                    Tag = _simulator.Options.TalosVersion,
                    Sha = "0000000",
                    Built = "",
                    GoVersion = "go1.24.9",
                    Os = "linux",
                    Arch = "amd64",
                },
                Platform = new PlatformInfo { Name = "metal", Mode = "metal" },
                Features = new FeaturesInfo { Rbac = true },
            },
        },
    };

    internal HostnameResponse Hostname() => new() { Messages = { new Api.Machine.Hostname { Hostname_ = Name } } };

    internal async Task EventsAsync(EventsRequest request, Func<Event, Task> write, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<Event>();
        List<Event> backlog;
        lock (_events)
        {
            int tail = request.TailEvents < 0 ? _events.Count : Math.Min(request.TailEvents, _events.Count);
            backlog = _events.Skip(_events.Count - tail).ToList();
            _subscribers.Add(channel);
        }

        try
        {
            foreach (var e in backlog.Where(e => Matches(e, request)))
            {
                await write(e).ConfigureAwait(false);
            }

            await foreach (var e in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (Matches(e, request))
                {
                    await write(e).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            lock (_events)
            {
                _subscribers.Remove(channel);
            }
        }
    }

    private static bool Matches(Event e, EventsRequest request)
        => string.IsNullOrEmpty(request.WithActorId) || e.ActorId == request.WithActorId;

    internal void CompleteEventStreams()
    {
        lock (_events)
        {
            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryComplete();
            }
        }
    }

    private void PublishSequence(string sequence, SequenceEvent.Types.Action action, string actor)
        => PublishEvent(new SequenceEvent { Sequence = sequence, Action = action }, actor);

    private void PublishEvent(IMessage payload, string actorId)
    {
        var e = new Event
        {
            Id = Interlocked.Increment(ref _eventSequence).ToString("x16", CultureInfo.InvariantCulture),
            ActorId = actorId,
            Data = new Any { TypeUrl = "talos/runtime/" + payload.Descriptor.FullName, Value = payload.ToByteString() },
        };
        lock (_events)
        {
            _events.Add(e);
            if (_events.Count > 1000)
            {
                _events.RemoveAt(0);
            }

            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryWrite(e);
            }
        }
    }

    private void RequireControlPlane(string api)
    {
        if (!IsControlPlane)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, api + " is only available on control plane nodes"));
        }
    }

    private string MapPath(string path)
    {
        if (string.IsNullOrEmpty(path) || !path.StartsWith('/'))
        {
            throw new RpcException(new Status(StatusCode.Unknown, $"path is not absolute {path}"));
        }

        string relative = Path.GetFullPath(path).TrimStart('/');
        return Path.Combine(RootDirectory, relative);
    }

    private GrpcChannel CreateEtcdChannel()
        => GrpcChannel.ForAddress(EtcdUrl, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(2) },
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });

    private Etcdctl LocalEtcdctl() => _simulator.Etcdctl.WithEndpoints(EtcdUrl.GetLeftPart(UriPartial.Authority));

    private static Grpc.Core.Metadata RequireLeader() => new() { { "hasleader", "true" } };

    private static RpcException EtcdError(RpcException ex, string? prefix)
    {
        string detail = ex.StatusCode == StatusCode.DeadlineExceeded ? "context deadline exceeded" : ex.Status.Detail;
        return new RpcException(new Status(StatusCode.Unknown, (prefix ?? "") + detail));
    }

    private static async Task WriteChunksAsync(ReadOnlyMemory<byte> bytes, Func<Data, Task> write)
    {
        for (int offset = 0; offset < bytes.Length; offset += ChunkSize)
        {
            var piece = bytes.Slice(offset, Math.Min(ChunkSize, bytes.Length - offset));
            await write(new Data { Bytes = ByteString.CopyFrom(piece.Span) }).ConfigureAwait(false);
        }
    }
}
