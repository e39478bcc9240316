package snapshot

import (
	"context"
	"errors"
	"testing"
)

func coreTokens(n int) *uploader {
	u := &uploader{cores: make(chan struct{}, n)}
	for range n {
		u.cores <- struct{}{}
	}
	u.ctx, u.cancel = context.WithCancelCause(context.Background())
	return u
}

// While SQLite's check runs, the workers hash and compress on one core
// fewer; with a single core nothing is reserved, and a worker waiting for
// a core stops when the run is cancelled.
func TestReserveCore(t *testing.T) {
	ctx := testContext(t)
	u := coreTokens(2)
	release := u.reserveCore(ctx)
	if len(u.cores) != 1 {
		t.Fatalf("%d of 2 core tokens left to the workers during the check; want 1", len(u.cores))
	}
	release()
	if len(u.cores) != 2 {
		t.Fatalf("%d core tokens after the check; want 2", len(u.cores))
	}

	single := coreTokens(1)
	single.reserveCore(ctx)()
	if len(single.cores) != 1 {
		t.Fatal("the only core was taken from the workers")
	}

	busy := coreTokens(2)
	<-busy.cores
	<-busy.cores
	stop := errors.New("stop")
	busy.cancel(stop)
	if _, _, err := busy.hashAndEncode(nil, blockJob{}); !errors.Is(err, stop) {
		t.Fatalf("a worker waiting for a core in a cancelled run: %v", err)
	}
}
