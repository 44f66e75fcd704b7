using System.Globalization;
using System.Text;

namespace Talos.Recovery.Testing.Etcd;

/// <summary>
/// Deterministic test data for <see cref="EtcdGatewayClient.PutManyAsync"/>: the same arguments always give the
/// same keys and values, so datasets can be rebuilt and compared. Values are pseudo-random bytes (they do not
/// compress), like the protobuf values Kubernetes stores.
/// </summary>
public static class EtcdTestData
{
    private static readonly string[] Resources =
    [
        "pods", "configmaps", "secrets", "services/specs", "serviceaccounts", "events", "leases",
        "deployments", "replicasets", "endpointslices", "apiregistration.k8s.io/apiservices",
    ];

    /// <summary>
    /// <paramref name="count"/> puts with keys <c>{keyPrefix}{i:D8}</c> (i from 0) and values of
    /// <paramref name="valueSize"/> bytes. Enumerated lazily; each enumeration yields the same sequence.
    /// </summary>
    public static IEnumerable<EtcdPut> Sequential(string keyPrefix, long count, int valueSize, int seed = 1, long lease = 0)
    {
        ArgumentNullException.ThrowIfNull(keyPrefix);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(valueSize);
        return Iterate();

        IEnumerable<EtcdPut> Iterate()
        {
            var random = new Random(seed);
            for (long i = 0; i < count; i++)
            {
                var key = Encoding.UTF8.GetBytes(keyPrefix + i.ToString("D8", CultureInfo.InvariantCulture));
                var value = new byte[valueSize];
                random.NextBytes(value);
                yield return new EtcdPut(key, value, lease);
            }
        }
    }

    /// <summary>
    /// <paramref name="count"/> puts shaped like a Kubernetes control plane's etcd:
    /// <c>/registry/{resource}/{namespace}/{name}</c> spread over common resources and ten namespaces, with values of
    /// <paramref name="valueSize"/> bytes. Keys are distinct. Enumerated lazily; each enumeration yields the same sequence.
    /// </summary>
    public static IEnumerable<EtcdPut> KubernetesLike(long count, int valueSize, int seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(valueSize);
        return Iterate();

        IEnumerable<EtcdPut> Iterate()
        {
            var random = new Random(seed);
            for (long i = 0; i < count; i++)
            {
                var resource = Resources[i % Resources.Length];
                var ns = "ns-" + ((i / Resources.Length) % 10).ToString(CultureInfo.InvariantCulture);
                var name = "object-" + i.ToString("D8", CultureInfo.InvariantCulture);
                var key = Encoding.UTF8.GetBytes($"/registry/{resource}/{ns}/{name}");
                var value = new byte[valueSize];
                random.NextBytes(value);
                yield return new EtcdPut(key, value);
            }
        }
    }
}
