using System.Runtime.InteropServices;
using Talos.Recovery.Cli;

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
