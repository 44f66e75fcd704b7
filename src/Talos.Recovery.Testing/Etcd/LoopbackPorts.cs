using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Talos.Recovery.Testing.Etcd;

/// <summary>
/// Chooses TCP ports on 127.0.0.1 at run time for servers the harness starts.
/// </summary>
/// <remarks>
/// A port is drawn at random from 20000 up to just below the kernel's ephemeral range
/// (<c>/proc/sys/net/ipv4/ip_local_port_range</c>, usually 32768–60999), so outgoing connections, which take their
/// source port from the ephemeral range, never occupy it. A port is offered only if this process has not offered
/// it before and a test bind on 127.0.0.1 succeeds. Another process can still take the port between the test bind
/// and the server's bind; callers detect that (<c>address already in use</c>) and start again with new ports.
/// </remarks>
internal static class LoopbackPorts
{
    private const int LowestPort = 20000;
    private static readonly HashSet<int> Offered = [];
    private static readonly Lock OfferedLock = new();

    /// <summary>Returns <paramref name="count"/> distinct ports that were free a moment ago.</summary>
    internal static int[] Take(int count)
    {
        var highest = EphemeralRangeStart() - 1;
        if (highest - LowestPort < 1000)
        {
            highest = LowestPort + 10000;
        }

        var ports = new int[count];
        for (var i = 0; i < count; i++)
        {
            ports[i] = TakeOne(highest);
        }

        return ports;
    }

    private static int TakeOne(int highest)
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var candidate = Random.Shared.Next(LowestPort, highest + 1);
            lock (OfferedLock)
            {
                if (Offered.Contains(candidate))
                {
                    continue;
                }

                if (IsFree(candidate))
                {
                    Offered.Add(candidate);
                    return candidate;
                }
            }
        }

        throw new EtcdStartException($"No free TCP port found on 127.0.0.1 between {LowestPort} and {highest}.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen(1);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int EphemeralRangeStart()
    {
        try
        {
            var text = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range");
            var first = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0];
            return int.Parse(first, NumberStyles.None, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or OverflowException)
        {
            return 32768;
        }
    }
}
