package snapshotextension // import "github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension"

import (
	"context"
	"sync"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
)

// jobs is the work the scheduler starts: one snapshot attempt, one prune,
// one restore drill. Each logs and counts its own outcome and returns
// promptly once ctx ends.
type jobs interface {
	snapshot(ctx context.Context)
	prune(ctx context.Context)
	drill(ctx context.Context)
}

// tickSources are the scheduler's inputs; a nil channel never ticks.
type tickSources struct {
	snapshot, prune, drill <-chan time.Time
}

// scheduler runs one job at a time, so a drill or a prune never runs
// beside a snapshot attempt. A snapshot tick that comes while an attempt
// runs is skipped (and reported to onSkip): the next tick takes the
// snapshot. Any other tick that comes while a job runs waits for it, so a
// long job does not push the others back by a whole interval; waiting
// jobs start in the order snapshot, prune, drill.
type scheduler struct {
	jobs   jobs
	onSkip func()

	busy    chan struct{} // closed when the running job returns; nil when idle
	running string
	pending map[string]bool
}

// run starts jobs on the ticks until ctx ends, then waits for the running
// job (which sees the same ctx) to return.
func (s *scheduler) run(ctx context.Context, ticks tickSources, onStart bool) {
	s.pending = make(map[string]bool)
	if onStart {
		s.start(ctx, jobSnapshot)
	}
	for {
		select {
		case <-ctx.Done():
			if s.busy != nil {
				<-s.busy
			}
			return
		case <-ticks.snapshot:
			if s.running == jobSnapshot {
				s.onSkip()
				continue
			}
			s.due(ctx, jobSnapshot)
		case <-ticks.prune:
			s.due(ctx, jobPrune)
		case <-ticks.drill:
			s.due(ctx, jobDrill)
		case <-s.busy:
			s.busy, s.running = nil, ""
			for _, name := range []string{jobSnapshot, jobPrune, jobDrill} {
				if s.pending[name] {
					s.pending[name] = false
					s.start(ctx, name)
					break
				}
			}
		}
	}
}

// Job names.
const (
	jobSnapshot = "snapshot"
	jobPrune    = "prune"
	jobDrill    = "drill"
)

// due starts the job now, or once the running one has returned.
func (s *scheduler) due(ctx context.Context, name string) {
	if s.busy != nil {
		s.pending[name] = true
		return
	}
	s.start(ctx, name)
}

func (s *scheduler) start(ctx context.Context, name string) {
	job := map[string]func(context.Context){jobSnapshot: s.jobs.snapshot, jobPrune: s.jobs.prune, jobDrill: s.jobs.drill}[name]
	done := make(chan struct{})
	s.busy, s.running = done, name
	go func() {
		defer close(done)
		job(ctx)
	}()
}

// nextTick returns the next scheduled time after prev (the previous one,
// without jitter) that is not before now, and when to fire for it: that time
// plus a random delay below jitter. Keeping prev free of jitter stops the
// jitter from accumulating into drift.
func nextTick(sched snapshotconfig.Schedule, prev, now time.Time, jitter time.Duration, random func(time.Duration) time.Duration) (due, fire time.Time) {
	due = sched.Next(prev)
	if due.Before(now) {
		due = sched.Next(now)
	}
	fire = due
	if jitter > 0 {
		fire = due.Add(random(jitter))
	}
	return due, fire
}

// clock is the time source of the tick goroutines.
type clock struct {
	now    func() time.Time
	random func(max time.Duration) time.Duration // in [0, max)
}

// ticks sends the due time of every scheduled attempt on the returned
// channel until ctx ends; wg tracks the goroutine.
func (c clock) ticks(ctx context.Context, wg *sync.WaitGroup, sched snapshotconfig.Schedule, jitter time.Duration) <-chan time.Time {
	ch := make(chan time.Time)
	wg.Add(1)
	go func() {
		defer wg.Done()
		prev := c.now()
		for {
			due, fire := nextTick(sched, prev, c.now(), jitter, c.random)
			prev = due
			timer := time.NewTimer(fire.Sub(c.now()))
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
			select {
			case ch <- due:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}
