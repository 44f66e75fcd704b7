using System.Globalization;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Talos.Recovery.Api.Config;
using Talos.Recovery.Api.Cosi;
using Talos.Recovery.Api.Cosi.Meta;
using Talos.Recovery.Api.Resource.Block;
using Talos.Recovery.Api.Resource.Enums;
using Talos.Recovery.Client;

namespace Talos.Recovery.Testing.Simulator;

/// <summary>The COSI resources a simulated node serves, and the machine configuration it reports.</summary>
internal static class SimulatorResources
{
    public const string MachineTypes = "MachineTypes.config.talos.dev";
    public const string MachineConfigs = "MachineConfigs.config.talos.dev";
    public const string ResourceDefinitions = "ResourceDefinitions.meta.cosi.dev";
    public const string VolumeStatuses = "VolumeStatuses.block.talos.dev";

    private static readonly Timestamp Created = Timestamp.FromDateTime(DateTime.UtcNow);

    /// <summary>Every type a simulated node may serve: (type, namespace, sensitive).</summary>
    private static readonly IReadOnlyList<(string Type, string Namespace, bool Sensitive)> AllTypes =
    [
        (MachineTypes, "config", false),
        (MachineConfigs, "config", true),
        (ResourceDefinitions, "meta", false),
        (VolumeStatuses, "runtime", false),
    ];

    /// <summary>The types <paramref name="node"/> serves: volume statuses only from Talos 1.8 on, as on Talos.</summary>
    public static IReadOnlyList<(string Type, string Namespace, bool Sensitive)> Types(SimulatedNode node)
        => AllTypes.Where(t => t.Type != VolumeStatuses || TalosClusterSimulator.ParseVersion(node.Simulator.Options.TalosVersion) is not { } v || v >= TalosClusterSimulator.VolumeStatusVersion).ToList();

    public static bool IsSensitive(string type) => AllTypes.Any(t => t.Type == type && t.Sensitive);

    /// <summary>Every resource of <paramref name="type"/> on <paramref name="node"/>, or null when the type is not supported.</summary>
    public static IReadOnlyList<Resource>? List(SimulatedNode node, string type) => type switch
    {
        MachineTypes => [MachineType(node)],
        MachineConfigs => [MachineConfig(node)],
        ResourceDefinitions => Types(node).Select(t => Definition(t.Type, t.Namespace, t.Sensitive)).ToList(),
        VolumeStatuses => VolumeStatusList(node),
        _ => null,
    };

    /// <summary>
    /// The volumes a recovery cares about, laid out like a Talos system disk: <c>STATE</c> and <c>EPHEMERAL</c> partitions, and
    /// <c>ETCD</c> (control planes with <see cref="TalosSimulatorOptions.EtcdVolume"/> set) as a directory on <c>EPHEMERAL</c> or a
    /// partition of its own. Without an <c>ETCD</c> volume, Get of id <c>ETCD</c> is <c>NotFound</c>.
    /// </summary>
    private static List<Resource> VolumeStatusList(SimulatedNode node)
    {
        var separate = node.IsControlPlane && node.EtcdVolume == SimulatedEtcdVolume.Partition;
        var list = new List<Resource>
        {
            Partition("STATE", 5, 100 * 1024 * 1024),
            Partition("EPHEMERAL", separate ? 7 : 6, 40UL * 1024 * 1024 * 1024),
        };
        if (separate)
        {
            list.Add(Partition("ETCD", 6, 10UL * 1024 * 1024 * 1024));
        }
        else if (node.IsControlPlane && node.EtcdVolume == SimulatedEtcdVolume.Directory)
        {
            var spec = new VolumeStatusSpec { Phase = BlockVolumePhase.VolumePhaseReady, Type = BlockVolumeType.VolumeTypeDirectory, ParentId = "EPHEMERAL" };
            list.Add(Make("runtime", VolumeStatuses, "ETCD", spec.ToByteString(), "phase: ready\ntype: directory\nparentID: EPHEMERAL\n"));
        }

        return list;
    }

    private static Resource Partition(string id, int index, ulong size)
    {
        string device = string.Create(CultureInfo.InvariantCulture, $"/dev/sda{index}");
        string pretty = string.Create(CultureInfo.InvariantCulture, $"{size / (1024.0 * 1024 * 1024):0.#} GiB");
        var spec = new VolumeStatusSpec
        {
            Phase = BlockVolumePhase.VolumePhaseReady,
            Type = BlockVolumeType.VolumeTypePartition,
            Location = device,
            MountLocation = device,
            ParentLocation = "/dev/sda",
            PartitionIndex = index,
            Size = size,
            PrettySize = pretty,
            Filesystem = BlockFilesystemType.FilesystemTypeXfs,
        };
        string yaml = string.Create(CultureInfo.InvariantCulture,
            $"phase: ready\ntype: partition\nlocation: {device}\nmountLocation: {device}\npartitionIndex: {index}\nparentLocation: /dev/sda\nsize: {size}\nprettySize: {pretty}\nfilesystem: xfs\n");
        return Make("runtime", VolumeStatuses, id, spec.ToByteString(), yaml);
    }

    private static Resource MachineType(SimulatedNode node)
    {
        var (value, text) = node.MachineType switch
        {
            TalosMachineType.Init => (Api.Config.MachineType.Init, "init"),
            TalosMachineType.ControlPlane => (Api.Config.MachineType.ControlPlane, "controlplane"),
            TalosMachineType.Worker => (Api.Config.MachineType.Worker, "worker"),
            _ => (Api.Config.MachineType.Unknown, "unknown"),
        };
        return Make("config", MachineTypes, "machine-type", new MachineTypeSpec { MachineType = value }.ToByteString(), text);
    }

    private static Resource MachineConfig(SimulatedNode node)
    {
        string yaml = node.MachineConfigYaml;
        var block = new StringBuilder("|\n");
        foreach (string line in yaml.TrimEnd('\n').Split('\n'))
        {
            block.Append("    ").Append(line).Append('\n');
        }

        return Make("config", MachineConfigs, "v1alpha1", new MachineConfigSpec { YamlMarshalled = ByteString.CopyFromUtf8(yaml) }.ToByteString(), block.ToString());
    }

    private static Resource Definition(string type, string ns, bool sensitive)
    {
        string plural = type[..type.IndexOf('.', StringComparison.Ordinal)];
        string singular = plural.EndsWith('s') ? plural[..^1] : plural;
        string capitals = new([.. singular.Where(char.IsUpper)]);
        var lowerSingular = singular.ToLowerInvariant();
        var lowerCapitals = capitals.ToLowerInvariant();
        string[] suffixParts = type[(plural.Length + 1)..].Split('.');
        var all = new List<string> { lowerSingular, lowerCapitals, lowerCapitals + "s" };
        string prefix = plural.ToLowerInvariant();
        all.Add(prefix);
        foreach (string part in suffixParts[..^1])
        {
            prefix += "." + part;
            all.Add(prefix);
        }

        var spec = new ResourceDefinitionSpec
        {
            ResourceType = type,
            DisplayType = singular,
            DefaultNamespace = ns,
            Aliases = { lowerCapitals, lowerCapitals + "s" },
            AllAliases = { all },
            Sensitivity = sensitive ? ResourceDefinitionSpec.Types.Sensitivity.Sensitive : ResourceDefinitionSpec.Types.Sensitivity.NonSensitive,
        };
        string yaml = string.Create(CultureInfo.InvariantCulture,
            $"resourceType: {type}\ndisplayType: {singular}\ndefaultNamespace: {ns}\naliases:\n    - {lowerCapitals}\n    - {lowerCapitals}s\nallAliases:\n{string.Concat(all.Select(a => "    - " + a + "\n"))}sensitivity: {(sensitive ? 1 : 0)}\n");
        return Make("meta", ResourceDefinitions, type.ToLowerInvariant(), spec.ToByteString(), yaml);
    }

    private static Resource Make(string ns, string type, string id, ByteString protoSpec, string yamlSpec) => new()
    {
        Metadata = new Api.Cosi.Metadata
        {
            Namespace = ns,
            Type = type,
            Id = id,
            Version = "1",
            Owner = "",
            Phase = "running",
            Created = Created,
            Updated = Created,
        },
        Spec = new Spec { ProtoSpec = protoSpec, YamlSpec = yamlSpec },
    };

    /// <summary>A plausible generated v1alpha1 machine configuration for <paramref name="node"/>.</summary>
    public static string GenerateMachineConfig(TalosClusterSimulator simulator, SimulatedNode node)
    {
        string type = node.MachineType switch
        {
            TalosMachineType.Init => "init",
            TalosMachineType.Worker => "worker",
            _ => "controlplane",
        };
        string ca = Convert.ToBase64String(simulator.CertificateAuthority.CertificatePem.Span);
        string token = RandomToken(6) + "." + RandomToken(16);
        string firstControlPlane = simulator.Nodes.Count > 0 ? simulator.Nodes[0].Address : node.Address;
        return $"""
            version: v1alpha1
            debug: false
            persist: true
            machine:
                type: {type}
                token: {token}
                ca:
                    crt: {ca}
                    key: ""
                certSANs: []
                kubelet:
                    image: ghcr.io/siderolabs/kubelet:v1.34.1
                    defaultRuntimeSeccompProfileEnabled: true
                network:
                    hostname: {node.Name}
                install:
                    disk: /dev/sda
                    image: ghcr.io/siderolabs/installer:{simulator.Options.TalosVersion}
                    wipe: false
                features:
                    rbac: true
                    stableHostname: true
            cluster:
                id: {RandomToken(43)}
                secret: {RandomToken(43)}
                controlPlane:
                    endpoint: https://{firstControlPlane}:6443
                clusterName: {TalosClusterSimulator.ContextName}
                network:
                    dnsDomain: cluster.local
                    podSubnets:
                        - 10.244.0.0/16
                    serviceSubnets:
                        - 10.96.0.0/12
                token: {RandomToken(6)}.{RandomToken(16)}
                etcd:
                    ca:
                        crt: {ca}
                        key: ""

            """;
    }

    private static string RandomToken(int length)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        return string.Create(length, 0, (span, _) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[Random.Shared.Next(alphabet.Length)];
            }
        });
    }
}
