package snapshotextension // import "github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension"

import (
	"context"
	"sync"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
)

// jobs is the work the scheduler starts: one snapshot attempt, one prune.
// Each logs and counts its own outcome and returns promptly once ctx ends.
type jobs interface {
	snapshot(ctx context.Context)
	prune(ctx context.Context)
}

// scheduler runs one job at a time. A snapshot tick that comes while a job
// runs is skipped (and reported to onSkip): the next tick takes the snapshot.
// A prune tick that comes while a job runs waits for it, so a long snapshot
// does not push prune back by a whole prune interval.
type scheduler struct {
	jobs   jobs
	onSkip func()
}

// run starts jobs on the ticks until ctx ends, then waits for the running
// job (which sees the same ctx) to return.
func (s *scheduler) run(ctx context.Context, snapshotTicks, pruneTicks <-chan time.Time, onStart bool) {
	var busy chan struct{} // closed when the running job returns; nil when idle
	prunePending := false
	start := func(job func(context.Context)) {
		done := make(chan struct{})
		busy = done
		go func() {
			defer close(done)
			job(ctx)
		}()
	}
	if onStart {
		start(s.jobs.snapshot)
	}
	for {
		select {
		case <-ctx.Done():
			if busy != nil {
				<-busy
			}
			return
		case <-snapshotTicks:
			if busy != nil {
				s.onSkip()
				continue
			}
			start(s.jobs.snapshot)
		case <-pruneTicks:
			if busy != nil {
				prunePending = true
				continue
			}
			start(s.jobs.prune)
		case <-busy:
			busy = nil
			if prunePending {
				prunePending = false
				start(s.jobs.prune)
			}
		}
	}
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
