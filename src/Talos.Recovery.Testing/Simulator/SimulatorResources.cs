using System.Globalization;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Talos.Recovery.Api.Config;
using Talos.Recovery.Api.Cosi;
using Talos.Recovery.Api.Cosi.Meta;
using Talos.Recovery.Client;

namespace Talos.Recovery.Testing.Simulator;

/// <summary>The COSI resources a simulated node serves, and the machine configuration it reports.</summary>
internal static class SimulatorResources
{
    public const string MachineTypes = "MachineTypes.config.talos.dev";
    public const string MachineConfigs = "MachineConfigs.config.talos.dev";
    public const string ResourceDefinitions = "ResourceDefinitions.meta.cosi.dev";

    private static readonly Timestamp Created = Timestamp.FromDateTime(DateTime.UtcNow);

    /// <summary>The types served: (type, namespace, sensitive).</summary>
    public static readonly IReadOnlyList<(string Type, string Namespace, bool Sensitive)> Types =
    [
        (MachineTypes, "config", false),
        (MachineConfigs, "config", true),
        (ResourceDefinitions, "meta", false),
    ];

    public static bool IsSensitive(string type) => Types.Any(t => t.Type == type && t.Sensitive);

    /// <summary>Every resource of <paramref name="type"/> on <paramref name="node"/>, or null when the type is not supported.</summary>
    public static IReadOnlyList<Resource>? List(SimulatedNode node, string type) => type switch
    {
        MachineTypes => [MachineType(node)],
        MachineConfigs => [MachineConfig(node)],
        ResourceDefinitions => Types.Select(t => Definition(t.Type, t.Namespace, t.Sensitive)).ToList(),
        _ => null,
    };

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
