package snapshot

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// Lock timing defaults (FORMAT.md "Locks").
const (
	locksPrefix      = "locks/"
	bucketLockSuffix = ".json"
	maxLockSize      = 64 << 10

	// DefaultLockExpiry: a lock not refreshed for this long is stale.
	DefaultLockExpiry = 30 * time.Minute
	// DefaultLockRefresh: how often a holder refreshes its lock.
	DefaultLockRefresh = 5 * time.Minute
	// DefaultLockWait: how long an operation waits for a conflicting lock.
	DefaultLockWait = 10 * time.Minute
	lockPoll        = time.Second
)

// ErrLocked: a conflicting lock is held (a prune, forget or snapshot runs
// elsewhere); the message names its holder.
var ErrLocked = errors.New("the repository is locked")

// ErrLockLost: this process's lock was removed or could not be refreshed in
// time; the operation stopped before it could do harm.
var ErrLockLost = errors.New("the repository lock was lost")

// LockOptions tune the bucket locks (zero values: the defaults).
type LockOptions struct {
	Expiry  time.Duration
	Refresh time.Duration
	// Wait bounds how long to wait for a conflicting lock to go: zero
	// means DefaultLockWait, a negative value not at all.
	Wait time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Held, when set, lists the locks this process holds right now. It
	// must be shared by every Repository of the process that takes locks
	// (a long-running collector passes one to each Open). With it, a lock
	// object of this very process that it no longer holds (its release
	// failed, say while the bucket was down) is stale at once, instead of
	// blocking every snapshot of this process until it expires.
	Held *HeldLocks
}

// HeldLocks is the set of lock objects a process holds; see LockOptions.Held.
type HeldLocks struct {
	mu   sync.Mutex
	keys map[string]bool
}

// NewHeldLocks returns an empty set, to share between a process's Opens.
func NewHeldLocks() *HeldLocks { return &HeldLocks{keys: map[string]bool{}} }

func (h *HeldLocks) set(key string, held bool) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if held {
		h.keys[key] = true
	} else {
		delete(h.keys, key)
	}
}

// abandoned says whether l is a lock of this process (self) that it does
// not hold. Without a shared set nothing is known to be abandoned.
func (h *HeldLocks) abandoned(l, self *LockInfo) bool {
	if h == nil || !sameProcess(l, self) {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.keys[l.Key]
}

// sameProcess says whether l was written by the process self describes.
func sameProcess(l, self *LockInfo) bool {
	return l.Hostname == self.Hostname && l.BootID != "" && l.BootID == self.BootID &&
		l.PIDNamespace != "" && l.PIDNamespace == self.PIDNamespace &&
		l.PID == self.PID && l.ProcessStart == self.ProcessStart
}

func (o LockOptions) withDefaults() LockOptions {
	if o.Expiry <= 0 {
		o.Expiry = DefaultLockExpiry
	}
	if o.Refresh <= 0 || o.Refresh >= o.Expiry {
		o.Refresh = min(DefaultLockRefresh, o.Expiry/6)
	}
	if o.Wait < 0 {
		o.Wait = 0
	} else if o.Wait == 0 {
		o.Wait = DefaultLockWait
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// LockInfo is one lock object in locks/ (FORMAT.md "Locks").
type LockInfo struct {
	Format    int       `json:"format"`
	Exclusive bool      `json:"exclusive"`
	Operation string    `json:"operation"`
	Created   time.Time `json:"created"`
	// Time is the last refresh.
	Time     time.Time `json:"time"`
	Hostname string    `json:"hostname"`
	PID      int       `json:"pid"`
	// ProcessStart, BootID and PIDNamespace identify the process beyond
	// its pid, so a reused pid is not taken for the holder.
	ProcessStart uint64 `json:"process_start,omitempty"`
	BootID       string `json:"boot_id,omitempty"`
	PIDNamespace string `json:"pid_namespace,omitempty"`

	// Key is the lock's object key (not stored).
	Key string `json:"-"`
	// Stale says why the lock is stale, "" when it is live (not stored).
	Stale string `json:"-"`
}

func (l *LockInfo) String() string {
	kind := "shared"
	if l.Exclusive {
		kind = "exclusive"
	}
	return fmt.Sprintf("%s lock %s of %s by pid %d on %s, refreshed %s", kind, l.Key, l.Operation, l.PID, l.Hostname, l.Time.UTC().Format(time.RFC3339))
}

// staleness says why a lock is stale, or "" when it may be live: not
// refreshed within expiry, or held by a process of this machine (same boot,
// same pid namespace) that no longer runs.
func staleness(l *LockInfo, self *LockInfo, opts LockOptions) string {
	age := opts.Now().Sub(l.Time)
	if age > opts.Expiry {
		return fmt.Sprintf("not refreshed for %s (expiry %s)", age.Round(time.Second), opts.Expiry)
	}
	if opts.Held.abandoned(l, self) {
		return "left by this process, which no longer holds it (its release failed)"
	}
	// A refresh time further ahead than the expiry would keep the lock live
	// until that time (a clock set far ahead and back, or a planted lock):
	// no holder whose clock agrees within the expiry can have written it.
	if age < -opts.Expiry {
		return fmt.Sprintf("refreshed %s in the future (expiry %s): its writer's clock was ahead, or the lock was forged", (-age).Round(time.Second), opts.Expiry)
	}
	if l.Hostname == self.Hostname && l.BootID != "" && l.BootID == self.BootID &&
		l.PIDNamespace != "" && l.PIDNamespace == self.PIDNamespace && !processRunning(l.PID, l.ProcessStart) {
		return fmt.Sprintf("process %d on this machine is gone", l.PID)
	}
	return ""
}

// bucketLock is a lock this process holds. ctx is cancelled (cause
// ErrLockLost) when the lock is lost.
type bucketLock struct {
	repo *Repository
	opts LockOptions
	log  *slog.Logger
	info LockInfo

	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}

	mu          sync.Mutex
	key         string
	lastRefresh time.Time
	// undeleted holds earlier lock objects a refresh could not delete;
	// release tries again.
	undeleted []string
}

// lock takes a shared or exclusive lock for operation op, waiting up to
// opts.Wait for conflicting locks and taking over stale ones (logged).
// Use the returned lock's ctx for the work and call release when done.
func (r *Repository) lock(ctx context.Context, exclusive bool, op string, log *slog.Logger) (*bucketLock, error) {
	opts := r.lockOpts.withDefaults()
	log = discardLogger(log)
	deadline := opts.Now().Add(opts.Wait)
	for {
		l, conflict, err := r.tryLock(ctx, exclusive, op, opts, log)
		if err != nil || l != nil {
			return l, err
		}
		if !opts.Now().Before(deadline) {
			return nil, fmt.Errorf("%w: %s in %s; wait for it to finish, or if that process is gone for good, run `otelcol-chroma snapshot unlock`", ErrLocked, conflict, r.bucket)
		}
		log.Info("waiting for a lock in the bucket", "holder", conflict.String())
		// Jitter: two processes that saw each other and both backed off
		// do not retry in step.
		t := time.NewTimer(lockPoll/2 + rand.N(lockPoll))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for %s: %w", conflict, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// tryLock removes stale locks, creates this process's lock and checks for
// conflicts. Creating before checking makes two racing processes see each
// other: at least one backs off (FORMAT.md "Locks").
func (r *Repository) tryLock(ctx context.Context, exclusive bool, op string, opts LockOptions, log *slog.Logger) (*bucketLock, *LockInfo, error) {
	self := processIdentity()
	if _, err := r.sweepStaleLocks(ctx, self, opts, log); err != nil {
		return nil, nil, err
	}
	now := opts.Now().UTC()
	info := *self
	info.Format, info.Exclusive, info.Operation, info.Created, info.Time = 1, exclusive, op, now, now
	key, err := r.createLock(ctx, &info)
	if err != nil {
		return nil, nil, err
	}
	opts.Held.set(key, true)
	giveUp := func() {
		opts.Held.set(key, false)
		r.deleteLock(key)
	}
	locks, err := r.readLocks(ctx, self, opts)
	if err != nil {
		giveUp()
		return nil, nil, err
	}
	for i := range locks {
		other := &locks[i]
		if other.Key != key && other.Stale == "" && (exclusive || other.Exclusive) {
			giveUp()
			return nil, other, nil
		}
	}
	l := &bucketLock{repo: r, opts: opts, log: log, info: info, key: key, lastRefresh: now, done: make(chan struct{})}
	l.info.Key = key
	l.ctx, l.cancel = context.WithCancelCause(ctx)
	go l.refreshLoop()
	return l, nil, nil
}

func newLockKey() (string, error) {
	b := make([]byte, 16)
	if _, err := crand.Read(b); err != nil {
		return "", err
	}
	return locksPrefix + hex.EncodeToString(b) + bucketLockSuffix, nil
}

// createLock stores info under a new random key with CreateIfAbsent.
func (r *Repository) createLock(ctx context.Context, info *LockInfo) (string, error) {
	key, err := newLockKey()
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(info)
	if err != nil {
		return "", err
	}
	if err := r.bucket.CreateIfAbsent(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
		return "", fmt.Errorf("create lock %s in %s: %w%s", key, r.bucket, err, storageHint(err))
	}
	return key, nil
}

// deleteLock removes a lock object, even after the caller's context ended.
func (r *Repository) deleteLock(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.bucket.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete lock %s in %s: %w%s", key, r.bucket, err, storageHint(err))
	}
	return nil
}

// readLocks reads every lock and marks the stale ones. An unreadable lock
// object counts as live until its object is older than the expiry.
func (r *Repository) readLocks(ctx context.Context, self *LockInfo, opts LockOptions) ([]LockInfo, error) {
	var out []LockInfo
	for obj, err := range r.bucket.List(ctx, locksPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list %s in %s: %w%s", locksPrefix, r.bucket, err, storageHint(err))
		}
		l, err := r.readLock(ctx, obj.Key)
		if errors.Is(err, storage.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			l = &LockInfo{Operation: "unknown (" + err.Error() + ")", Time: obj.Modified}
		}
		l.Key = obj.Key
		l.Stale = staleness(l, self, opts)
		out = append(out, *l)
	}
	return out, nil
}

func (r *Repository) readLock(ctx context.Context, key string) (*LockInfo, error) {
	rc, err := r.bucket.Read(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxLockSize))
	if err != nil {
		return nil, err
	}
	var l LockInfo
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("%w: lock %s: %v", ErrCorrupt, key, err)
	}
	return &l, nil
}

// sweepStaleLocks deletes stale locks and logs each takeover.
func (r *Repository) sweepStaleLocks(ctx context.Context, self *LockInfo, opts LockOptions, log *slog.Logger) ([]LockInfo, error) {
	locks, err := r.readLocks(ctx, self, opts)
	if err != nil {
		return nil, err
	}
	var removed []LockInfo
	for _, l := range locks {
		if l.Stale == "" {
			continue
		}
		if err := r.deleteLock(l.Key); err != nil {
			return removed, err
		}
		log.Warn("removed a stale lock", "lock", l.String(), "why", l.Stale)
		removed = append(removed, l)
	}
	return removed, nil
}

// refreshLoop refreshes the lock until release, and cancels ctx when the
// lock is lost.
func (l *bucketLock) refreshLoop() {
	defer close(l.done)
	t := time.NewTicker(l.opts.Refresh)
	defer t.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		if err := l.refresh(); err != nil {
			l.log.Warn("could not refresh the lock in the bucket", "lock", l.info.String(), "error", err)
		}
		if err := l.check(); err != nil {
			l.cancel(err)
			return
		}
	}
}

// refresh writes a new lock object, then makes sure the old one is still
// there (nobody took it over) before deleting it. Never re-creating a lock
// someone removed is what makes a takeover safe (FORMAT.md "Locks").
func (l *bucketLock) refresh() error {
	ctx := l.ctx
	now := l.opts.Now().UTC()
	info := l.info
	info.Time = now
	newKey, err := l.repo.createLock(ctx, &info)
	if err != nil {
		return err
	}
	l.opts.Held.set(newKey, true)
	oldKey := l.currentKey()
	if _, err := l.repo.bucket.Stat(ctx, oldKey); err != nil {
		l.opts.Held.set(newKey, false)
		l.repo.deleteLock(newKey)
		if errors.Is(err, storage.ErrNotExist) {
			l.cancel(fmt.Errorf("%w: %s was removed by another process (it took the lock over as stale, or ran unlock --force)", ErrLockLost, oldKey))
		}
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.key, l.lastRefresh, l.info.Time, l.info.Key = newKey, now, now, newKey
	l.opts.Held.set(oldKey, false)
	if err := l.repo.deleteLock(oldKey); err != nil {
		l.undeleted = append(l.undeleted, oldKey)
		return err
	}
	return nil
}

// check reports ErrLockLost when the lock is gone or was not refreshed for
// longer than expiry minus one refresh interval: past that, another process
// whose clock runs up to one refresh interval ahead may take it over.
func (l *bucketLock) check() error {
	if cause := context.Cause(l.ctx); cause != nil && errors.Is(cause, ErrLockLost) {
		return cause
	}
	l.mu.Lock()
	last := l.lastRefresh
	l.mu.Unlock()
	if age := l.opts.Now().Sub(last); age > l.opts.Expiry-l.opts.Refresh {
		return fmt.Errorf("%w: not refreshed for %s (the bucket did not answer); stopping before another process may take it over", ErrLockLost, age.Round(time.Second))
	}
	return nil
}

// currentKey is the lock's object key (it changes with each refresh).
func (l *bucketLock) currentKey() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.key
}

// verify checks, just before an irreversible step, that the lock is still
// this process's: fresh enough and still in the bucket.
func (l *bucketLock) verify(ctx context.Context) error {
	if err := l.check(); err != nil {
		return err
	}
	key := l.currentKey()
	if _, err := l.repo.bucket.Stat(ctx, key); err != nil {
		if errors.Is(err, storage.ErrNotExist) {
			return fmt.Errorf("%w: %s was removed by another process", ErrLockLost, key)
		}
		return fmt.Errorf("check lock %s in %s: %w%s", key, l.repo.bucket, err, storageHint(err))
	}
	return nil
}

// release stops refreshing and deletes the lock object.
func (l *bucketLock) release() error {
	l.cancel(errLockReleased)
	<-l.done
	l.mu.Lock()
	keys := append(l.undeleted, l.key)
	l.mu.Unlock()
	var errs []error
	for _, k := range keys {
		// Not held any more, deleted or not: an object left behind is
		// this process's to take over (LockOptions.Held).
		l.opts.Held.set(k, false)
		errs = append(errs, l.repo.deleteLock(k))
	}
	return errors.Join(errs...)
}

var errLockReleased = errors.New("lock released")

// Locks lists the locks in the bucket, stale ones marked.
func (r *Repository) Locks(ctx context.Context) ([]LockInfo, error) {
	return r.readLocks(ctx, processIdentity(), r.lockOpts.withDefaults())
}

// Unlock removes stale locks, or with force every lock, and returns what
// it removed. A forced unlock while a prune or snapshot still runs makes
// that operation stop (it finds its lock gone); use it only when the
// holder is gone for good.
func (r *Repository) Unlock(ctx context.Context, force bool, log *slog.Logger) ([]LockInfo, error) {
	log = discardLogger(log)
	opts := r.lockOpts.withDefaults()
	if !force {
		return r.sweepStaleLocks(ctx, processIdentity(), opts, log)
	}
	locks, err := r.readLocks(ctx, processIdentity(), opts)
	if err != nil {
		return nil, err
	}
	var removed []LockInfo
	for _, l := range locks {
		if err := r.deleteLock(l.Key); err != nil {
			return removed, err
		}
		log.Warn("removed a lock", "lock", l.String(), "stale", l.Stale)
		removed = append(removed, l)
	}
	return removed, nil
}

// processIdentity describes this process for its locks.
func processIdentity() *LockInfo {
	host, _ := os.Hostname()
	pid := os.Getpid()
	bootID, pidNS, start := machineIdentity(pid)
	return &LockInfo{Hostname: strings.TrimSpace(host), PID: pid, ProcessStart: start, BootID: bootID, PIDNamespace: pidNS}
}
