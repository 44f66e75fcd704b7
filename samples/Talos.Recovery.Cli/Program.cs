using Talos.Recovery.Cli;

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
