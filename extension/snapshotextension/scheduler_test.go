package snapshotextension

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
)

// waitBound turns a scheduler that never does what a test waits for into a
// failure instead of a hang; nothing the tests wait for takes near this long.
const waitBound = 30 * time.Second

// fakeJobs reports every job it starts on started, then runs until release
// is closed or, unless ignoreCancel, until its context ends.
type fakeJobs struct {
	started      chan string
	finished     chan string
	release      chan struct{}
	ignoreCancel bool
}

func newFakeJobs() *fakeJobs {
	return &fakeJobs{started: make(chan string, 16), finished: make(chan string, 16), release: make(chan struct{})}
}

func (f *fakeJobs) run(ctx context.Context, name string) {
	f.started <- name
	done := ctx.Done()
	if f.ignoreCancel {
		done = nil
	}
	select {
	case <-f.release:
	case <-done:
	}
	f.finished <- name
}

func (f *fakeJobs) snapshot(ctx context.Context) { f.run(ctx, "snapshot") }
func (f *fakeJobs) prune(ctx context.Context)    { f.run(ctx, "prune") }
func (f *fakeJobs) drill(ctx context.Context)    { f.run(ctx, "drill") }

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitBound):
		t.Fatalf("gave up waiting for %s", what)
		var zero T
		return zero
	}
}

// requireNothing checks that nothing is waiting on ch right now.
func requireNothing[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %v", what, v)
	default:
	}
}

type runningScheduler struct {
	jobs          *fakeJobs
	snapshotTicks chan time.Time
	pruneTicks    chan time.Time
	drillTicks    chan time.Time
	skipped       chan struct{}
	cancel        context.CancelFunc
	done          chan struct{}
}

func startScheduler(t *testing.T, onStart bool) *runningScheduler {
	t.Helper()
	r := &runningScheduler{
		jobs:          newFakeJobs(),
		snapshotTicks: make(chan time.Time),
		pruneTicks:    make(chan time.Time),
		drillTicks:    make(chan time.Time),
		skipped:       make(chan struct{}, 16),
		done:          make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	s := &scheduler{jobs: r.jobs, onSkip: func() { r.skipped <- struct{}{} }}
	go func() {
		defer close(r.done)
		s.run(ctx, tickSources{r.snapshotTicks, r.pruneTicks, r.drillTicks}, onStart)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// tick delivers a tick; the scheduler has handled the previous one once it
// takes the next, since it handles one event at a time.
func tick(t *testing.T, ch chan<- time.Time) {
	t.Helper()
	select {
	case ch <- time.Time{}:
	case <-time.After(waitBound):
		t.Fatal("the scheduler does not take ticks")
	}
}

func TestSchedulerSkipsTicksWhileAnAttemptRuns(t *testing.T) {
	r := startScheduler(t, false)
	tick(t, r.snapshotTicks)
	assert.Equal(t, "snapshot", receive(t, r.jobs.started, "the first attempt"))

	tick(t, r.snapshotTicks)
	tick(t, r.snapshotTicks)
	receive(t, r.skipped, "the first skip")
	receive(t, r.skipped, "the second skip")
	requireNothing(t, r.jobs.started, "second attempt while the first runs")

	close(r.jobs.release)
	receive(t, r.jobs.finished, "the first attempt's end")
	tick(t, r.snapshotTicks)
	assert.Equal(t, "snapshot", receive(t, r.jobs.started, "the attempt after the first ended"))
	requireNothing(t, r.skipped, "skip once idle")
}

func TestSchedulerOnStartAttemptsAtOnce(t *testing.T) {
	r := startScheduler(t, true)
	assert.Equal(t, "snapshot", receive(t, r.jobs.started, "the attempt on start"))
	tick(t, r.snapshotTicks)
	receive(t, r.skipped, "the tick during the start attempt")
}

func TestSchedulerPruneWaitsForTheRunningAttempt(t *testing.T) {
	r := startScheduler(t, false)
	tick(t, r.snapshotTicks)
	receive(t, r.jobs.started, "the attempt")
	tick(t, r.pruneTicks)
	tick(t, r.snapshotTicks) // handled after the prune tick
	receive(t, r.skipped, "the skipped snapshot tick")
	requireNothing(t, r.jobs.started, "prune during an attempt")

	close(r.jobs.release)
	assert.Equal(t, "prune", receive(t, r.jobs.started, "the deferred prune"))
	tick(t, r.pruneTicks)
	assert.Equal(t, "prune", receive(t, r.jobs.started, "the next prune"))
	requireNothing(t, r.skipped, "a skip")
}

// A drill never runs beside a snapshot attempt: each waits for the other,
// and a snapshot due during a drill is taken right after it, not skipped.
func TestSchedulerDrillNeverOverlapsAnAttempt(t *testing.T) {
	r := startScheduler(t, false)
	tick(t, r.snapshotTicks)
	receive(t, r.jobs.started, "the attempt")
	tick(t, r.drillTicks)
	requireNothing(t, r.jobs.started, "a drill during an attempt")
	r.jobs.release <- struct{}{}
	assert.Equal(t, "snapshot", receive(t, r.jobs.finished, "the attempt's end"))
	assert.Equal(t, "drill", receive(t, r.jobs.started, "the deferred drill"))

	tick(t, r.snapshotTicks)
	tick(t, r.drillTicks) // handled after the snapshot tick
	requireNothing(t, r.jobs.started, "an attempt during a drill")
	requireNothing(t, r.skipped, "a snapshot skipped for a drill")
	r.jobs.release <- struct{}{}
	assert.Equal(t, "drill", receive(t, r.jobs.finished, "the drill's end"))
	assert.Equal(t, "snapshot", receive(t, r.jobs.started, "the attempt due during the drill"))
	r.jobs.release <- struct{}{}
	receive(t, r.jobs.finished, "the attempt's end")
	assert.Equal(t, "drill", receive(t, r.jobs.started, "the drill due during the attempt"))
}

func TestSchedulerCancelStopsTheRunningAttempt(t *testing.T) {
	r := startScheduler(t, true)
	receive(t, r.jobs.started, "the attempt")
	r.cancel()
	assert.Equal(t, "snapshot", receive(t, r.jobs.finished, "the cancelled attempt's end"))
	receive(t, r.done, "the scheduler's end")
}

func TestNextTickInterval(t *testing.T) {
	sched := snapshotconfig.IntervalSchedule{Every: 10 * time.Minute}
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	noJitter := func(time.Duration) time.Duration { t.Fatal("no jitter configured"); return 0 }

	due, fire := nextTick(sched, t0, t0, 0, noJitter)
	assert.Equal(t, t0.Add(10*time.Minute), due)
	assert.Equal(t, due, fire)

	// Late (a long pause): the next time after now, not a burst of missed ones.
	due, _ = nextTick(sched, t0, t0.Add(35*time.Minute), 0, noJitter)
	assert.Equal(t, t0.Add(45*time.Minute), due)
}

func TestNextTickJitterDoesNotDrift(t *testing.T) {
	sched := snapshotconfig.IntervalSchedule{Every: time.Hour}
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	var asked []time.Duration
	random := func(max time.Duration) time.Duration { asked = append(asked, max); return max - time.Second }

	prev := t0
	for i := 1; i <= 3; i++ {
		due, fire := nextTick(sched, prev, prev, 5*time.Minute, random)
		// The previous attempt fired late by the jitter; the schedule does not move.
		assert.Equal(t, t0.Add(time.Duration(i)*time.Hour), due)
		assert.Equal(t, due.Add(5*time.Minute-time.Second), fire)
		prev = due
	}
	assert.Equal(t, []time.Duration{5 * time.Minute, 5 * time.Minute, 5 * time.Minute}, asked)
}

func TestNextTickCron(t *testing.T) {
	s := snapshotconfig.ScheduleSettings{Cron: "15 3 * * 1"} // Mondays at 03:15 UTC
	sched, err := s.SnapshotSchedule()
	require.NoError(t, err)
	fri := time.Date(2026, 12, 4, 22, 0, 0, 0, time.UTC)
	due, fire := nextTick(sched, fri, fri, 0, nil)
	assert.Equal(t, time.Date(2026, 12, 7, 3, 15, 0, 0, time.UTC), due)
	assert.Equal(t, due, fire)

	s = snapshotconfig.ScheduleSettings{Cron: "CRON_TZ=Europe/Berlin 0 3 * * *"}
	sched, err = s.SnapshotSchedule()
	require.NoError(t, err)
	due, _ = nextTick(sched, fri, fri, 0, nil)
	assert.Equal(t, time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC), due.UTC(), "03:00 in Berlin is 02:00 UTC in winter")
}
