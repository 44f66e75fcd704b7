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

// Ctrl+C cancels the running command (exit 130); a second Ctrl+C ends the process at once.
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (!interrupt.IsCancellationRequested)
    {
        e.Cancel = true;
        interrupt.Cancel();
    }
};

return await CliApp.RunAsync(args, Console.Out, Console.Error, interrupt.Token);
