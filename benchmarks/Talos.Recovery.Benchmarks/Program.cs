using BenchmarkDotNet.Running;
using Talos.Recovery.Benchmarks;

if (args.Length > 0 && args[0] == "dataset")
{
    return await Dataset.RunAsync(args);
}

if (args.Length > 0 && args[0] == "profile")
{
    return await Profile.RunAsync(args);
}

if (args.Length > 0 && args[0] == "simserve")
{
    return await SimulatorServer.ServeAsync(args);
}

if (args.Length > 0 && args[0] == "simsnapshot")
{
    return await SimulatorSnapshotProfile.RunAsync(args);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
