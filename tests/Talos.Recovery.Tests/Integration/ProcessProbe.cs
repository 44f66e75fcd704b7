namespace Talos.Recovery.Tests.Integration;

/// <summary>Looks at processes through /proc (Linux), without taking ownership of them.</summary>
internal static class ProcessProbe
{
    /// <summary>Whether a process with this PID exists and is not a zombie.</summary>
    internal static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");

            // Format: pid (comm) state …; comm may contain spaces and parentheses, so split at the last ')'.
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Whether the process runs an executable named etcd.</summary>
    internal static bool IsEtcd(int pid)
    {
        try
        {
            var target = new FileInfo($"/proc/{pid}/exe").LinkTarget;
            return target is not null && Path.GetFileName(target) == "etcd";
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Waits until the process is gone; returns false if it is still alive after <paramref name="timeout"/>.</summary>
    internal static async Task<bool> WaitGoneAsync(int pid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (!IsAlive(pid))
            {
                return true;
            }

            await Task.Delay(50);
        }

        return !IsAlive(pid);
    }
}
