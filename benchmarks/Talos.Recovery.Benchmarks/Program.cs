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

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
