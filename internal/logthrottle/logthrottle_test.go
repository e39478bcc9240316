package logthrottle

import (
	"testing"
	"time"
)

func TestGatePassesFirstThenOncePerInterval(t *testing.T) {
	g := New(time.Minute)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	steps := []struct {
		at    time.Duration
		ok    bool
		since time.Duration
	}{
		{0, true, 0},
		{time.Second, false, 0},
		{59 * time.Second, false, 0},
		{time.Minute, true, time.Minute},
		{time.Minute + time.Second, false, 0},
		{5 * time.Minute, true, 4 * time.Minute},
	}
	for _, s := range steps {
		since, ok := g.Pass(t0.Add(s.at))
		if ok != s.ok || since != s.since {
			t.Errorf("at +%v: Pass = (%v, %v), want (%v, %v)", s.at, since, ok, s.since, s.ok)
		}
	}
}
