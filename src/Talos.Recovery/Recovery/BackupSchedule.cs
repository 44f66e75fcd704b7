using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Talos.Recovery.Recovery;

/// <summary>How often <see cref="BackupSchedule"/> takes a backup set and which ones it keeps.</summary>
public sealed class BackupScheduleOptions
{
    /// <summary>The directory that holds the backup sets, one sub-directory each (<c>backup-yyyyMMddTHHmmssZ</c>).</summary>
    public required string Root { get; init; }

    /// <summary>Time between the start of one backup and the start of the next. Default one hour.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>After a failed backup, the next attempt comes this much later (at most <see cref="Interval"/>). Default five minutes.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The newest sets always kept (at least 1). Default 24.</summary>
    public int KeepLast { get; init; } = 24;

    /// <summary>Sets younger than this are kept too, however many there are; <see langword="null"/> (default): only <see cref="KeepLast"/>.</summary>
    public TimeSpan? KeepWithin { get; init; }

    /// <summary>The clock (tests); default the system's.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where the schedule logs each backup, failure and removal.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(Root);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Interval, TimeSpan.Zero, nameof(Interval));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RetryInterval, TimeSpan.Zero, nameof(RetryInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(KeepLast, 1, nameof(KeepLast));
        if (KeepWithin is { } within)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(within, TimeSpan.Zero, nameof(KeepWithin));
        }
    }
}

/// <summary>One backup set under a schedule's root, as its manifest describes it (not verified by listing).</summary>
/// <param name="Directory">The set's directory.</param>
/// <param name="CreatedAt">When the set was taken (from its manifest).</param>
/// <param name="Manifest">The set's manifest.</param>
public sealed record BackupSetEntry(string Directory, DateTimeOffset CreatedAt, BackupManifest Manifest);

/// <summary>What one scheduled attempt did.</summary>
/// <param name="StartedAt">When the attempt started.</param>
/// <param name="Backup">The new, verified set; <see langword="null"/> when the attempt failed.</param>
/// <param name="Error">Why it failed; <see langword="null"/> on success.</param>
/// <param name="Removed">Older sets removed by retention after this success (none after a failure).</param>
/// <param name="NextAttemptAt">When the next attempt is due.</param>
public sealed record BackupScheduleOutcome(DateTimeOffset StartedAt, BackupSet? Backup, Exception? Error, IReadOnlyList<string> Removed, DateTimeOffset NextAttemptAt)
{
    /// <summary>True when a new verified set was written.</summary>
    public bool Succeeded => Backup is not null;
}

/// <summary>
/// Backups on a schedule, with retention, so that a recent verified snapshot always exists: each attempt takes a full
/// backup set (<see cref="RecoveryClient.BackupAsync"/>: snapshot or raw copy, machine configurations, verified
/// manifest) into a new directory under <see cref="BackupScheduleOptions.Root"/>, then removes the sets retention no
/// longer keeps. Retention runs only after a successful backup and never removes the newest set, so a failing cluster
/// never costs the last good backup; directories that are not readable backup sets are left alone.
/// </summary>
/// <example>
/// <code>
/// var schedule = new BackupSchedule(recovery, new BackupScheduleOptions { Root = "/var/backups/talos", Interval = TimeSpan.FromHours(1), KeepLast = 48 });
/// await schedule.RunAsync(new Progress&lt;BackupScheduleOutcome&gt;(o => Console.WriteLine(o.Succeeded ? o.Backup!.Directory : o.Error!.Message)), stoppingToken);
/// </code>
/// </example>
public sealed class BackupSchedule
{
    private const string Prefix = "backup-";
    private const string StampFormat = "yyyyMMdd'T'HHmmss'Z'";

    private readonly RecoveryClient _recovery;
    private readonly BackupScheduleOptions _options;
    private readonly ILogger _logger;

    /// <summary>A schedule taking backups through <paramref name="recovery"/>.</summary>
    public BackupSchedule(RecoveryClient recovery, BackupScheduleOptions options)
    {
        ArgumentNullException.ThrowIfNull(recovery);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _recovery = recovery;
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<BackupSchedule>();
    }

    /// <summary>The root directory, as a full path.</summary>
    public string Root => Path.GetFullPath(_options.Root);

    /// <summary>
    /// Takes backups until <paramref name="cancellationToken"/> is cancelled: one at once, then one every
    /// <see cref="BackupScheduleOptions.Interval"/> (after a failure, after <see cref="BackupScheduleOptions.RetryInterval"/>).
    /// A failed attempt is reported and logged, never thrown; cancellation ends the loop with
    /// <see cref="OperationCanceledException"/> (an attempt in progress leaves nothing behind).
    /// </summary>
    public async Task RunAsync(IProgress<BackupScheduleOutcome>? progress = null, CancellationToken cancellationToken = default)
    {
        var time = _options.TimeProvider;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var started = time.GetUtcNow();
            BackupSet? set = null;
            Exception? error = null;
            IReadOnlyList<string> removed = [];
            try
            {
                set = await _recovery.BackupAsync(NewDirectory(started), cancellationToken: cancellationToken).ConfigureAwait(false);
                removed = Prune(set.Directory);
            }
            catch (Exception e) when (e is TalosRecoveryException or IOException or UnauthorizedAccessException && !cancellationToken.IsCancellationRequested)
            {
                error = e;
                RecoveryLog.ScheduledBackupFailed(_logger, e.Message, e);
            }

            var wait = set is not null ? _options.Interval : TimeSpan.FromTicks(Math.Min(_options.RetryInterval.Ticks, _options.Interval.Ticks));
            var next = started + wait;
            if (set is not null)
            {
                RecoveryLog.ScheduledBackupWritten(_logger, set.Directory, set.Status.Revision, removed.Count, next);
            }

            progress?.Report(new BackupScheduleOutcome(started, set, error, removed, next));
            var delay = next - time.GetUtcNow();
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Takes one backup set now and applies retention (after success only). Failures throw as from <see cref="RecoveryClient.BackupAsync"/>.</summary>
    public async Task<BackupScheduleOutcome> BackupNowAsync(CancellationToken cancellationToken = default)
    {
        var started = _options.TimeProvider.GetUtcNow();
        var set = await _recovery.BackupAsync(NewDirectory(started), cancellationToken: cancellationToken).ConfigureAwait(false);
        var removed = Prune(set.Directory);
        RecoveryLog.ScheduledBackupWritten(_logger, set.Directory, set.Status.Revision, removed.Count, started + _options.Interval);
        return new BackupScheduleOutcome(started, set, null, removed, started + _options.Interval);
    }

    /// <summary>The backup sets under the root whose manifests are readable, newest first (none verified here).</summary>
    public IReadOnlyList<BackupSetEntry> List()
    {
        var root = Root;
        if (!Directory.Exists(root))
        {
            return [];
        }

        var sets = new List<BackupSetEntry>();
        foreach (var directory in Directory.EnumerateDirectories(root, Prefix + "*"))
        {
            var manifest = ReadManifest(directory);
            if (manifest is not null)
            {
                sets.Add(new BackupSetEntry(directory, manifest.CreatedAt, manifest));
            }
        }

        return sets.OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.Directory, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// The newest set that passes full verification (<see cref="BackupSet.Open"/>), trying older ones when a newer one
    /// fails; <see langword="null"/> when none does. This is the set to restore from.
    /// </summary>
    public BackupSet? FindLatestVerified(CancellationToken cancellationToken = default)
    {
        foreach (var entry in List())
        {
            try
            {
                return BackupSet.Open(entry.Directory, cancellationToken);
            }
            catch (BackupSetException e)
            {
                RecoveryLog.ScheduledBackupUnusable(_logger, entry.Directory, e.Message);
            }
        }

        return null;
    }

    /// <summary>Removes the sets retention does not keep; the set just written (<paramref name="newest"/>) always stays.</summary>
    private List<string> Prune(string newest)
    {
        var now = _options.TimeProvider.GetUtcNow();
        var removed = new List<string>();
        var sets = List();
        for (var i = 0; i < sets.Count; i++)
        {
            var set = sets[i];
            var keep = i < _options.KeepLast
                || string.Equals(Path.GetFullPath(set.Directory), Path.GetFullPath(newest), StringComparison.Ordinal)
                || (_options.KeepWithin is { } within && now - set.CreatedAt <= within);
            if (keep)
            {
                continue;
            }

            try
            {
                Directory.Delete(set.Directory, recursive: true);
                removed.Add(set.Directory);
                RecoveryLog.ScheduledBackupRemoved(_logger, set.Directory, set.CreatedAt);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                RecoveryLog.ScheduledBackupRemoveFailed(_logger, set.Directory, e.Message);
            }
        }

        return removed;
    }

    private string NewDirectory(DateTimeOffset at)
    {
        var name = Prefix + at.UtcDateTime.ToString(StampFormat, CultureInfo.InvariantCulture);
        var path = Path.Combine(Root, name);
        for (var n = 2; Directory.Exists(path); n++)
        {
            path = Path.Combine(Root, name + "-" + n.ToString(CultureInfo.InvariantCulture));
        }

        return path;
    }

    private static BackupManifest? ReadManifest(string directory)
    {
        try
        {
            return BackupManifestJson.Read(File.ReadAllBytes(Path.Combine(directory, BackupManifest.FileName)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }
}
