package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// noWait makes a conflicting lock fail at once.
var noWait = LockOptions{Wait: -1}

func openWithLocks(t testing.TB, b storage.Bucket, o LockOptions) *Repository {
	t.Helper()
	r, err := Open(testContext(t), b, Keys{}, WithLockOptions(o))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// syncLog collects log lines from several goroutines.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *syncLog) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

func TestLockConflicts(t *testing.T) {
	ctx := testContext(t)
	repo := openWithLocks(t, newBucket(t), noWait)
	s1, err := repo.lock(ctx, false, "snapshot", nil)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := repo.lock(ctx, false, "snapshot", nil)
	if err != nil {
		t.Fatalf("two shared locks conflict: %v", err)
	}
	_, err = repo.lock(ctx, true, "prune", nil)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "shared lock") || !strings.Contains(err.Error(), "snapshot unlock") {
		t.Fatalf("exclusive lock beside shared ones: %v", err)
	}
	s1.release()
	s2.release()
	ex, err := repo.lock(ctx, true, "prune", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.lock(ctx, false, "snapshot", nil); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "exclusive lock") {
		t.Fatalf("shared lock beside an exclusive one: %v", err)
	}
	ex.release()
	if keys := objectKeys(t, repo.bucket, locksPrefix); len(keys) != 0 {
		t.Fatalf("released locks left: %v", keys)
	}
}

// TestLockWaits: a lock that waits gets it once the holder releases.
func TestLockWaits(t *testing.T) {
	ctx := testContext(t)
	repo := openWithLocks(t, newBucket(t), LockOptions{Wait: time.Minute})
	ex, err := repo.lock(ctx, true, "prune", nil)
	if err != nil {
		t.Fatal(err)
	}
	log := &syncLog{}
	got := make(chan error, 1)
	go func() {
		l, err := repo.lock(ctx, false, "snapshot", log.logger())
		if err == nil {
			l.release()
		}
		got <- err
	}()
	waitFor(t, ctx, "the snapshot to wait for the prune", func() bool { return strings.Contains(log.String(), "waiting for a lock") })
	ex.release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// plantLock stores a lock record as another process would have.
func plantLock(t testing.TB, b storage.Bucket, l LockInfo) string {
	t.Helper()
	key, err := newLockKey()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(l)
	writeObject(t, b, key, data)
	return key
}

// deadPID returns the pid of a process that has exited.
func deadPID(t testing.TB) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot run true:", err)
	}
	return cmd.Process.Pid
}

func TestStaleLocksTakenOver(t *testing.T) {
	ctx := testContext(t)
	b := newBucket(t)
	repo := openWithLocks(t, b, noWait)
	self := processIdentity()
	expired := plantLock(t, b, LockInfo{Format: 1, Exclusive: true, Operation: "prune", Hostname: "elsewhere", PID: 1,
		Time: time.Now().Add(-2 * DefaultLockExpiry)})
	dead := *self
	dead.Format, dead.Exclusive, dead.Operation, dead.Time, dead.PID = 1, true, "prune", time.Now(), deadPID(t)
	if self.BootID == "" {
		t.Skip("no boot id here: only expiry makes locks stale")
	}
	deadKey := plantLock(t, b, dead)
	live := plantLock(t, b, LockInfo{Format: 1, Operation: "snapshot", Hostname: "elsewhere", PID: 1, Time: time.Now()})

	log := &syncLog{}
	l, err := repo.lock(ctx, true, "prune", log.logger())
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("exclusive lock beside a live shared one: %v", err)
	}
	keys := objectKeys(t, b, locksPrefix)
	if len(keys) != 1 || keys[0] != live {
		t.Fatalf("locks after the takeover: %v, want only %s", keys, live)
	}
	for _, want := range []string{expired, deadKey, "not refreshed for", "on this machine is gone"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log does not mention %q:\n%s", want, log)
		}
	}
	l, err = repo.lock(ctx, false, "snapshot", nil)
	if err != nil {
		t.Fatal(err)
	}
	l.release()
}

// TestLockRefreshAndLoss: the holder refreshes its lock under a new key; a
// lock removed by someone else cancels the holder's work.
func TestLockRefreshAndLoss(t *testing.T) {
	ctx := testContext(t)
	b := newBucket(t)
	repo := openWithLocks(t, b, LockOptions{Expiry: time.Hour, Refresh: 20 * time.Millisecond, Wait: -1})
	l, err := repo.lock(ctx, true, "prune", nil)
	if err != nil {
		t.Fatal(err)
	}
	first := l.currentKey()
	waitFor(t, ctx, "a refresh", func() bool {
		keys := objectKeys(t, b, locksPrefix)
		return len(keys) == 1 && keys[0] != first
	})
	if err := l.verify(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range objectKeys(t, b, locksPrefix) {
		if err := b.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-l.ctx.Done():
	case <-ctx.Done():
		t.Fatal("the holder did not notice its lock was removed")
	}
	if cause := context.Cause(l.ctx); !errors.Is(cause, ErrLockLost) {
		t.Fatalf("cause %v", cause)
	}
	if err := l.verify(ctx); !errors.Is(err, ErrLockLost) {
		t.Fatalf("verify after the loss: %v", err)
	}
	l.release()
	if keys := objectKeys(t, b, locksPrefix); len(keys) != 0 {
		t.Fatalf("a lost lock was re-created: %v", keys)
	}
}

// TestLockLostWhenNotRefreshed: a holder whose clock says the last refresh
// is older than expiry minus one refresh interval stops.
func TestLockLostWhenNotRefreshed(t *testing.T) {
	ctx := testContext(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	repo := openWithLocks(t, newBucket(t), LockOptions{Expiry: time.Hour, Refresh: 10 * time.Minute, Wait: -1, Now: clock})
	l, err := repo.lock(ctx, true, "prune", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.release()
	mu.Lock()
	now = now.Add(51 * time.Minute)
	mu.Unlock()
	if err := l.verify(ctx); !errors.Is(err, ErrLockLost) {
		t.Fatalf("verify 51 minutes after the last refresh: %v", err)
	}
}

func TestUnlock(t *testing.T) {
	ctx := testContext(t)
	b := newBucket(t)
	repo := openWithLocks(t, b, noWait)
	stale := plantLock(t, b, LockInfo{Format: 1, Exclusive: true, Operation: "prune", Hostname: "elsewhere", PID: 1,
		Time: time.Now().Add(-2 * DefaultLockExpiry)})
	live := plantLock(t, b, LockInfo{Format: 1, Operation: "snapshot", Hostname: "elsewhere", PID: 1, Time: time.Now()})
	removed, err := repo.Unlock(ctx, false, nil)
	if err != nil || len(removed) != 1 || removed[0].Key != stale {
		t.Fatalf("unlock removed %v, %v; want only %s", removed, err, stale)
	}
	removed, err = repo.Unlock(ctx, true, nil)
	if err != nil || len(removed) != 1 || removed[0].Key != live {
		t.Fatalf("unlock --force removed %v, %v; want %s", removed, err, live)
	}
}

// flakyDeleteBucket fails the first delete of a lock object.
type flakyDeleteBucket struct {
	storage.Bucket
	failed atomic.Bool
}

func (b *flakyDeleteBucket) Delete(ctx context.Context, key string) error {
	if strings.HasPrefix(key, locksPrefix) && b.failed.CompareAndSwap(false, true) {
		return errors.New("injected delete failure")
	}
	return b.Bucket.Delete(ctx, key)
}

// TestLockReleaseRetriesUndeleted: an old lock object a refresh could not
// delete is deleted on release, so it does not block others until expiry.
func TestLockReleaseRetriesUndeleted(t *testing.T) {
	ctx := testContext(t)
	b := &flakyDeleteBucket{Bucket: newBucket(t)}
	repo := openWithLocks(t, b, LockOptions{Expiry: time.Hour, Refresh: 20 * time.Millisecond, Wait: -1})
	l, err := repo.lock(ctx, true, "prune", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "a refresh that could not delete the old lock", func() bool {
		return b.failed.Load() && len(objectKeys(t, b, locksPrefix)) == 2
	})
	if err := l.release(); err != nil {
		t.Fatal(err)
	}
	if keys := objectKeys(t, b, locksPrefix); len(keys) != 0 {
		t.Fatalf("locks left after release: %v", keys)
	}
}

// removeAllLocks deletes every lock object, as another process taking the
// locks over (or unlock --force) would.
func removeAllLocks(ctx context.Context, b storage.Bucket) {
	for info, err := range b.List(ctx, locksPrefix) {
		if err == nil {
			b.Delete(ctx, info.Key)
		}
	}
}

// TestAbandonedOwnLockTakenOver: with a shared HeldLocks, a lock object of
// this process that its release could not delete (the bucket was down) is
// taken over at once by the next lock of the same process, while a lock the
// process still holds in another repository stays. Without one, the same
// leftover blocks until it expires.
func TestAbandonedOwnLockTakenOver(t *testing.T) {
	ctx := testContext(t)
	held := NewHeldLocks()
	b := &flakyDeleteBucket{Bucket: newBucket(t)}
	first := openWithLocks(t, b, LockOptions{Wait: -1, Held: held})
	l, err := first.lock(ctx, true, "prune", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.release(); err == nil {
		t.Fatal("the injected delete failure was not reported")
	}
	if keys := objectKeys(t, b, locksPrefix); len(keys) != 1 {
		t.Fatalf("want the undeleted lock left, have %v", keys)
	}
	other := openWithLocks(t, b, LockOptions{Wait: -1, Held: held})
	kept, err := other.lock(ctx, false, "snapshot", nil)
	if err != nil {
		t.Fatalf("the process's own abandoned lock blocked it: %v", err)
	}
	defer kept.release()
	log := &syncLog{}
	again, err := first.lock(ctx, false, "snapshot", log.logger())
	if err != nil {
		t.Fatalf("a shared lock beside this process's live one: %v", err)
	}
	again.release()
	if strings.Contains(log.String(), "removed a stale lock") {
		t.Fatalf("a live lock of this process was taken over: %s", log.String())
	}
	if keys := objectKeys(t, b, locksPrefix); len(keys) != 1 || keys[0] != kept.currentKey() {
		t.Fatalf("locks %v; want only the live one %s", keys, kept.currentKey())
	}

	plain := &flakyDeleteBucket{Bucket: newBucket(t)}
	repo := openWithLocks(t, plain, noWait)
	l, err = repo.lock(ctx, true, "prune", nil)
	if err != nil {
		t.Fatal(err)
	}
	l.release()
	if _, err := repo.lock(ctx, false, "snapshot", nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("without a shared HeldLocks the leftover must wait for its expiry: %v", err)
	}
}
