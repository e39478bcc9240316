package snapshotextension // import "github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension"

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.uber.org/zap"

	"github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension/internal/metadata"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
)

// defaultShutdownGrace bounds how long Shutdown waits for a running attempt
// to stop after cancelling it. The engine stops within moments; a bucket
// request that ignores cancellation must not hold the collector.
const defaultShutdownGrace = 10 * time.Second

// options are the extension's seams: its clock and tick sources, its jobs
// and its retention hook.
type options struct {
	clock         clock
	snapshotTicks <-chan time.Time // nil: from the configured schedule
	pruneTicks    <-chan time.Time // nil: every prune_interval
	drillTicks    <-chan time.Time // nil: every drill::interval, when drills run
	jobs          jobs             // nil: the engine
	maintainer    maintainer       // nil: the engine's retention and prune
	shutdownGrace time.Duration
}

type option func(*options)

type snapshotExtension struct {
	cfg  *Config
	set  extension.Settings
	opts options
	tel  *metadata.TelemetryBuilder

	stop context.CancelFunc
	done chan struct{}

	// unrecorded is shared with the attempts (see attempts.unrecorded).
	unrecorded atomic.Int64
}

func newExtension(cfg *Config, set extension.Settings, opts ...option) (*snapshotExtension, error) {
	o := options{
		clock:         clock{now: time.Now, random: func(d time.Duration) time.Duration { return rand.N(d) }},
		shutdownGrace: defaultShutdownGrace,
	}
	for _, opt := range opts {
		opt(&o)
	}
	tel, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("snapshot extension telemetry: %w", err)
	}
	return &snapshotExtension{cfg: cfg, set: set, opts: o, tel: tel}, nil
}

// SnapshotSettings returns the extension's settings, so that the
// chromabackup receiver (`snapshot_extension:`) reads the bucket this
// extension writes, configured once.
func (e *snapshotExtension) SnapshotSettings() snapshotconfig.Settings { return e.cfg.Settings }

// UnrecordedFailures returns the instance this extension records its
// attempts under and how many of its attempts failed since the last status
// record it wrote, because the bucket took none (it was down, full, or
// refused writes). The chromabackup receiver adds them to the record's
// count, so a bucket that can be read but not written pages as failing.
func (e *snapshotExtension) UnrecordedFailures() (instance string, failures int) {
	return snapshot.AttemptInstance(e.cfg.Instance), int(e.unrecorded.Load())
}

// Start checks the key and the bucket URL (without contacting the bucket),
// then schedules the attempts. A bucket that cannot be reached does not
// stop the collector: each attempt fails and logs why until it is back.
func (e *snapshotExtension) Start(ctx context.Context, _ component.Host) error {
	sched, err := e.cfg.SnapshotSchedule()
	if err != nil {
		return err
	}
	maint, err := e.maintenance()
	if err != nil {
		return err
	}
	j := e.opts.jobs
	if j == nil {
		if j, err = e.engineJobs(ctx, maint); err != nil {
			return err
		}
	}
	drills := e.drillsOn()
	e.logStart(sched, drills)
	runCtx, stop := context.WithCancel(context.Background())
	e.stop, e.done = stop, make(chan struct{})
	var wg sync.WaitGroup
	ticks := e.tickSources(runCtx, &wg, sched, maint != nil, drills)
	s := &scheduler{jobs: j, onSkip: e.skipped}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.run(runCtx, ticks, e.cfg.OnStart)
	}()
	go func() {
		wg.Wait()
		close(e.done)
	}()
	return nil
}

// tickSources are the test's ticks, else the configured schedules: prune
// only with maintenance, drills only when they run.
func (e *snapshotExtension) tickSources(ctx context.Context, wg *sync.WaitGroup, sched snapshotconfig.Schedule, prune, drills bool) tickSources {
	t := tickSources{snapshot: e.opts.snapshotTicks, prune: e.opts.pruneTicks, drill: e.opts.drillTicks}
	if t.snapshot == nil {
		t.snapshot = e.opts.clock.ticks(ctx, wg, sched, e.cfg.Jitter)
	}
	if t.prune == nil && prune {
		every := cmp.Or(e.cfg.PruneInterval, snapshotconfig.DefaultPruneInterval)
		t.prune = e.opts.clock.ticks(ctx, wg, snapshotconfig.IntervalSchedule{Every: every}, 0)
	}
	if t.drill == nil && drills {
		t.drill = e.opts.clock.ticks(ctx, wg, snapshotconfig.IntervalSchedule{Every: e.cfg.Drill.DrillInterval()}, 0)
	}
	return t
}

// drillsOn says whether this collector runs restore drills: when enabled,
// and in an encrypted bucket only with the reader key, which a drill needs
// to restore; without it the start line says where to run them instead.
func (e *snapshotExtension) drillsOn() bool {
	if !e.cfg.Drill.Enabled {
		return false
	}
	if e.cfg.Encryption.WriterKeyFile != "" && e.cfg.Encryption.ReaderKeyFile == "" {
		e.set.Logger.Warn(`Restore drills are off: in an encrypted bucket a drill restores the newest snapshot, which takes the reader key. ` +
			`Run "otelcol-chroma snapshot drill" where the reader key is (a separate CronJob with this config and --reader-key), ` +
			`or set "encryption::reader_key_file"; set "drill::enabled: false" to silence this`)
		return false
	}
	return true
}

// maintenance returns the retention and prune hook: the engine's, unless
// a test set one. In an encrypted bucket the writer key is enough: each
// snapshot's index tells its instance, time and blocks.
func (e *snapshotExtension) maintenance() (maintainer, error) {
	if e.opts.maintainer != nil {
		return e.opts.maintainer, nil
	}
	m, err := newEngineMaintenance(&e.cfg.Settings, newEngineLogger(e.set.Logger))
	if err != nil {
		return nil, err
	}
	return m, nil
}

// engineJobs loads the keys and opens the bucket for the attempts.
func (e *snapshotExtension) engineJobs(ctx context.Context, maint maintainer) (*attempts, error) {
	keys, err := e.cfg.WriterKeys()
	if err != nil {
		return nil, err
	}
	readKeys, err := e.cfg.ReaderKeys()
	if err != nil {
		return nil, err
	}
	bucket, err := e.cfg.OpenBucket(ctx)
	if err != nil {
		return nil, err
	}
	return &attempts{
		settings:   &e.cfg.Settings,
		bucket:     bucket,
		keys:       keys,
		readKeys:   readKeys,
		version:    e.set.BuildInfo.Version,
		log:        e.set.Logger,
		tel:        e.tel,
		now:        e.opts.clock.now,
		maintainer: maint,
		locks:      snapshot.NewHeldLocks(),
		unrecorded: &e.unrecorded,
	}, nil
}

func (e *snapshotExtension) logStart(sched snapshotconfig.Schedule, drills bool) {
	now := e.opts.clock.now()
	// No path or bucket name: logs may leave the deployment.
	fields := []zap.Field{
		zap.Bool("on_start", e.cfg.OnStart),
		zap.Time("next", sched.Next(now)),
	}
	if e.cfg.Cron != "" {
		fields = append(fields, zap.String("cron", e.cfg.Cron))
	} else {
		fields = append(fields, zap.Duration("interval", cmp.Or(e.cfg.Interval, snapshotconfig.DefaultInterval)))
	}
	if drills {
		fields = append(fields, zap.Duration("drill_interval", e.cfg.Drill.DrillInterval()),
			zap.Bool("drill_with_chroma", e.cfg.Drill.ChromaCommand != ""))
	}
	e.set.Logger.Info("Scheduled snapshots", fields...)
}

func (e *snapshotExtension) skipped() {
	e.tel.ExtensionSnapshotSkippedTicks.Add(context.Background(), 1)
	e.set.Logger.Warn("Scheduled snapshot skipped: the previous attempt is still running")
}

// Shutdown cancels a running attempt and waits for it, at most until ctx
// ends or the shutdown grace passes. The engine leaves no snapshot from a
// cancelled attempt, only blocks that prune removes.
func (e *snapshotExtension) Shutdown(ctx context.Context) error {
	defer e.tel.Shutdown()
	if e.stop == nil {
		return nil
	}
	e.stop()
	grace := time.NewTimer(e.opts.shutdownGrace)
	defer grace.Stop()
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
	case <-grace.C:
	}
	e.set.Logger.Warn("The running snapshot attempt did not stop in time; shutting down without it (it leaves no snapshot, only blocks that prune removes)")
	return nil
}
