using System.Runtime.InteropServices;
using Talos.Recovery.Cli;

// HTTP/2 lets a server run up to the stream's receive window ahead of a slow reader, and .NET grows that window up
// to 16 MiB per stream: received snapshot bytes then pile up in memory while the disk catches up. The CLI talks to
// one node at a time, so 1 MiB (still ~100 MB/s at a 10 ms round trip) keeps a save's peak memory small. Read once,
// at the first HTTP/2 connection; a value set by the user wins.
const string MaxStreamWindow = "DOTNET_SYSTEM_NET_HTTP_SOCKETSHTTPHANDLER_FLOWCONTROL_MAXSTREAMWINDOWSIZE";
if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(MaxStreamWindow)))
{
    Environment.SetEnvironmentVariable(MaxStreamWindow, "1048576");
}

// SIGINT (Ctrl+C) and SIGTERM cancel the running command, which then cleans up (stops the processes it started, removes
// its files) and exits with 130; a second signal ends the process at once.
using var interrupt = new CancellationTokenSource();
void OnSignal(PosixSignalContext context)
{
    if (!interrupt.IsCancellationRequested)
    {
        context.Cancel = true;
        interrupt.Cancel();
    }
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

return await CliApp.RunAsync(args, Console.Out, Console.Error, interrupt.Token);
