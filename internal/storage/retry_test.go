package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var errFlaky = errors.New("connection reset by peer")

// memBucket is an in-memory Bucket whose operations can be made to fail.
type memBucket struct {
	mu      sync.Mutex
	objects map[string][]byte
	calls   map[string]int
	// fault, if set, is asked before each call (after counting it); a
	// non-nil error fails the call. "after" faults run once the operation
	// has taken effect, as when a response is lost.
	fault      func(op string, call int) error
	faultAfter func(op string, call int) error
	// listFault fails a listing after n items on the given call.
	listFault func(call int) (afterItems int, err error)
}

func newMem() *memBucket {
	return &memBucket{objects: map[string][]byte{}, calls: map[string]int{}}
}

func (m *memBucket) String() string { return "mem://test" }

func (m *memBucket) enter(op string) (int, error) {
	m.mu.Lock()
	m.calls[op]++
	n := m.calls[op]
	m.mu.Unlock()
	if m.fault != nil {
		return n, m.fault(op, n)
	}
	return n, nil
}

func (m *memBucket) leave(op string, n int) error {
	if m.faultAfter != nil {
		return m.faultAfter(op, n)
	}
	return nil
}

func (m *memBucket) count(op string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[op]
}

func (m *memBucket) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if _, err := m.enter("stat"); err != nil {
		return ObjectInfo{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.objects[key]
	if !ok {
		return ObjectInfo{}, ErrNotExist
	}
	return ObjectInfo{Key: key, Size: int64(len(data))}, nil
}

func (m *memBucket) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	if _, err := m.enter("read"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.objects[key]
	if !ok {
		return nil, ErrNotExist
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (m *memBucket) put(op, key string, r io.Reader, ifAbsent bool) error {
	n, err := m.enter(op)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m.mu.Lock()
	if _, ok := m.objects[key]; ok && ifAbsent {
		m.mu.Unlock()
		return ErrExists
	}
	m.objects[key] = data
	m.mu.Unlock()
	return m.leave(op, n)
}

func (m *memBucket) Write(ctx context.Context, key string, r io.Reader, size int64) error {
	return m.put("write", key, r, false)
}

func (m *memBucket) CreateIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	return m.put("create", key, r, true)
}

func (m *memBucket) Delete(ctx context.Context, key string) error {
	if _, err := m.enter("delete"); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objects, key)
	return nil
}

func (m *memBucket) List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		n, err := m.enter("list")
		if err != nil {
			yield(ObjectInfo{}, err)
			return
		}
		failAfter, failErr := -1, error(nil)
		if m.listFault != nil {
			failAfter, failErr = m.listFault(n)
		}
		m.mu.Lock()
		var keys []string
		for k := range m.objects {
			if strings.HasPrefix(k, prefix) {
				keys = append(keys, k)
			}
		}
		m.mu.Unlock()
		slices.Sort(keys)
		for i, k := range keys {
			if failErr != nil && i == failAfter {
				yield(ObjectInfo{}, failErr)
				return
			}
			if !yield(ObjectInfo{Key: k}, nil) {
				return
			}
		}
	}
}

// fakeClock advances only when slept on, and records each sleep.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

var testPolicy = RetryPolicy{
	MaxAttempts:    5,
	InitialBackoff: 100 * time.Millisecond,
	MaxBackoff:     time.Second,
	MaxElapsed:     time.Minute,
}

func wrap(m *memBucket, p RetryPolicy) (*retryBucket, *fakeClock) {
	c := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	return &retryBucket{inner: m, policy: p.withDefaults(), clock: c}, c
}

func failFirst(n int, err error) func(string, int) error {
	return func(_ string, call int) error {
		if call <= n {
			return err
		}
		return nil
	}
}

func TestRetryTransientThenSuccess(t *testing.T) {
	m := newMem()
	m.objects["k"] = []byte("v")
	m.fault = failFirst(3, errFlaky)
	r, c := wrap(m, testPolicy)
	info, err := r.Stat(t.Context(), "k")
	if err != nil || info.Size != 1 {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	if got := m.count("stat"); got != 4 {
		t.Fatalf("attempts = %d, want 4", got)
	}
	// Waits grow and stay within [d/2, d] for d = 100ms, 200ms, 400ms.
	if len(c.sleeps) != 3 {
		t.Fatalf("sleeps = %v, want 3", c.sleeps)
	}
	for i, d := range c.sleeps {
		hi := testPolicy.InitialBackoff << i
		if d < hi/2 || d > hi {
			t.Errorf("sleep %d = %s, want within [%s, %s]", i, d, hi/2, hi)
		}
	}
}

func TestRetryBackoffCapped(t *testing.T) {
	r, _ := wrap(newMem(), testPolicy)
	for attempt := 1; attempt < 40; attempt++ {
		if d := r.backoff(attempt); d > testPolicy.MaxBackoff || d < testPolicy.MaxBackoff/2 && attempt > 5 {
			t.Fatalf("backoff(%d) = %s", attempt, d)
		}
	}
}

func TestRetryNeverRetriesFinalErrors(t *testing.T) {
	for _, final := range []error{
		fmt.Errorf("access denied: %w", ErrPermanent),
		fmt.Errorf("stat k: %w", ErrNotExist),
		fmt.Errorf("create k: %w", ErrExists),
		context.Canceled,
	} {
		m := newMem()
		m.fault = failFirst(100, final)
		r, c := wrap(m, testPolicy)
		if err := r.Delete(t.Context(), "k"); !errors.Is(err, final) {
			t.Errorf("Delete error = %v, want %v", err, final)
		}
		if got := m.count("delete"); got != 1 || len(c.sleeps) != 0 {
			t.Errorf("%v: %d attempts, %d sleeps; want 1 and 0", final, got, len(c.sleeps))
		}
	}
}

func TestRetryMaxAttempts(t *testing.T) {
	m := newMem()
	m.fault = failFirst(100, errFlaky)
	r, _ := wrap(m, testPolicy)
	err := r.Delete(t.Context(), "k")
	if !errors.Is(err, errFlaky) || !strings.Contains(err.Error(), "gave up after 5 attempts") {
		t.Fatalf("error = %v", err)
	}
	if got := m.count("delete"); got != testPolicy.MaxAttempts {
		t.Fatalf("attempts = %d, want %d", got, testPolicy.MaxAttempts)
	}
}

func TestRetryMaxElapsed(t *testing.T) {
	m := newMem()
	m.fault = failFirst(100, errFlaky)
	p := testPolicy
	p.MaxAttempts = 1000
	p.MaxBackoff = 10 * time.Second
	p.MaxElapsed = 30 * time.Second
	r, c := wrap(m, p)
	if err := r.Delete(t.Context(), "k"); !errors.Is(err, errFlaky) {
		t.Fatalf("error = %v", err)
	}
	var total time.Duration
	for _, d := range c.sleeps {
		total += d
	}
	if total > p.MaxElapsed {
		t.Fatalf("slept %s in total, budget %s", total, p.MaxElapsed)
	}
	if m.count("delete") >= 1000 {
		t.Fatalf("MaxElapsed did not stop the retries")
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	m := newMem()
	ctx, cancel := context.WithCancel(t.Context())
	m.fault = func(string, int) error {
		cancel() // the caller gives up while the first attempt runs
		return errFlaky
	}
	// Real clock with waits far longer than any test run: only the
	// cancellation can end this.
	r := WithRetry(m, RetryPolicy{MaxAttempts: 10, InitialBackoff: time.Hour, MaxBackoff: time.Hour, MaxElapsed: 10 * time.Hour})
	err := r.Delete(ctx, "k")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if got := m.count("delete"); got != 1 {
		t.Fatalf("attempts = %d, want 1", got)
	}
}

func TestRetryCancelDuringBackoff(t *testing.T) {
	m := newMem()
	failed := make(chan struct{}, 10)
	m.fault = func(string, int) error {
		failed <- struct{}{}
		return errFlaky
	}
	r := WithRetry(m, RetryPolicy{MaxAttempts: 10, InitialBackoff: time.Hour, MaxBackoff: time.Hour, MaxElapsed: 10 * time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Delete(ctx, "k") }()
	<-failed // first attempt failed; the wrapper now waits an hour
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errFlaky) {
			t.Fatalf("error = %v, want context.Canceled wrapping the last error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Delete did not return after cancel")
	}
}

func TestRetryWriteRewindsSeekableReader(t *testing.T) {
	m := newMem()
	m.fault = failFirst(2, errFlaky)
	r, _ := wrap(m, testPolicy)
	data := strings.Repeat("0123456789", 1000)
	if err := r.Write(t.Context(), "k", strings.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if got := string(m.objects["k"]); got != data {
		t.Fatalf("stored %d bytes, want %d", len(got), len(data))
	}
	if m.count("write") != 3 {
		t.Fatalf("attempts = %d, want 3", m.count("write"))
	}
}

func TestRetryWriteRewindsToStartOffset(t *testing.T) {
	m := newMem()
	m.fault = failFirst(1, errFlaky)
	r, _ := wrap(m, testPolicy)
	src := strings.NewReader("HEADERpayload")
	if _, err := src.Seek(6, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if err := r.Write(t.Context(), "k", src, 7); err != nil {
		t.Fatal(err)
	}
	if got := string(m.objects["k"]); got != "payload" {
		t.Fatalf("stored %q, want payload", got)
	}
}

func TestRetryWriteUnseekableReaderOnce(t *testing.T) {
	m := newMem()
	m.fault = failFirst(1, errFlaky)
	r, _ := wrap(m, testPolicy)
	err := r.Write(t.Context(), "k", io.MultiReader(strings.NewReader("x")), 1)
	if !errors.Is(err, errFlaky) {
		t.Fatalf("error = %v, want the transient error", err)
	}
	if m.count("write") != 1 {
		t.Fatalf("attempts = %d, want 1", m.count("write"))
	}
}

func TestRetryCreateIfAbsentLostAnswer(t *testing.T) {
	m := newMem()
	// The first create lands, but its answer is lost.
	m.faultAfter = func(op string, call int) error {
		if op == "create" && call == 1 {
			return errFlaky
		}
		return nil
	}
	r, _ := wrap(m, testPolicy)
	if err := r.CreateIfAbsent(t.Context(), "lock", strings.NewReader("owner-a"), 7); err != nil {
		t.Fatalf("CreateIfAbsent = %v, want success (own object found)", err)
	}

	// Someone else's object is still a conflict.
	m2 := newMem()
	m2.fault = func(op string, call int) error {
		if op == "create" && call == 1 {
			m2.mu.Lock()
			m2.objects["lock"] = []byte("owner-b")
			m2.mu.Unlock()
			return errFlaky
		}
		return nil
	}
	r2, _ := wrap(m2, testPolicy)
	if err := r2.CreateIfAbsent(t.Context(), "lock", strings.NewReader("owner-a"), 7); !errors.Is(err, ErrExists) {
		t.Fatalf("CreateIfAbsent = %v, want ErrExists", err)
	}
	// A prefix of our content is not our content either.
	m3 := newMem()
	m3.fault = func(op string, call int) error {
		if op == "create" && call == 1 {
			m3.mu.Lock()
			m3.objects["lock"] = []byte("owner-a plus more")
			m3.mu.Unlock()
			return errFlaky
		}
		return nil
	}
	r3, _ := wrap(m3, testPolicy)
	if err := r3.CreateIfAbsent(t.Context(), "lock", strings.NewReader("owner-a"), 7); !errors.Is(err, ErrExists) {
		t.Fatalf("CreateIfAbsent = %v, want ErrExists", err)
	}
}

func TestRetryCreateIfAbsentConflictFirstTry(t *testing.T) {
	m := newMem()
	m.objects["lock"] = []byte("owner-a")
	r, _ := wrap(m, testPolicy)
	// Same bytes, but no earlier attempt of ours: a real conflict.
	if err := r.CreateIfAbsent(t.Context(), "lock", strings.NewReader("owner-a"), 7); !errors.Is(err, ErrExists) {
		t.Fatalf("CreateIfAbsent = %v, want ErrExists", err)
	}
}

func TestRetryListResumesAfterLastKey(t *testing.T) {
	m := newMem()
	for _, k := range []string{"a", "b", "c", "d"} {
		m.objects[k] = nil
	}
	m.listFault = func(call int) (int, error) {
		switch call {
		case 1:
			return 2, errFlaky // after a, b
		case 2:
			return 0, errFlaky // before anything
		}
		return -1, nil
	}
	r, _ := wrap(m, testPolicy)
	var keys []string
	for info, err := range r.List(t.Context(), "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(keys, want) {
		t.Fatalf("keys = %q, want %q", keys, want)
	}
	if m.count("list") != 3 {
		t.Fatalf("list calls = %d, want 3", m.count("list"))
	}
}

func TestRetryListStopEarlyAndFinalError(t *testing.T) {
	m := newMem()
	for _, k := range []string{"a", "b", "c"} {
		m.objects[k] = nil
	}
	r, _ := wrap(m, testPolicy)
	for range r.List(t.Context(), "") {
		break
	}
	if m.count("list") != 1 {
		t.Fatalf("list calls = %d, want 1", m.count("list"))
	}

	m.fault = failFirst(100, fmt.Errorf("denied: %w", ErrPermanent))
	var got error
	n := 0
	for _, err := range r.List(t.Context(), "") {
		got = err
		n++
	}
	if n != 1 || !errors.Is(got, ErrPermanent) {
		t.Fatalf("got %d items, last error %v; want one ErrPermanent", n, got)
	}
}

func TestRetryReadAndUnwrap(t *testing.T) {
	m := newMem()
	m.objects["k"] = []byte("v")
	m.fault = failFirst(1, errFlaky)
	r, _ := wrap(m, testPolicy)
	rc, err := r.Read(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if Unwrap(r) != Bucket(m) || Unwrap(m) != Bucket(m) {
		t.Fatal("Unwrap did not return the inner bucket")
	}
	if r.String() != m.String() {
		t.Fatalf("String = %q", r.String())
	}
}

func TestIsTransient(t *testing.T) {
	for err, want := range map[error]bool{
		nil:                                   false,
		errFlaky:                              true,
		fmt.Errorf("x: %w", ErrPermanent):     false,
		fmt.Errorf("x: %w", ErrNotExist):      false,
		fmt.Errorf("x: %w", ErrExists):        false,
		context.DeadlineExceeded:              false,
		fmt.Errorf("x: %w", context.Canceled): false,
	} {
		if got := IsTransient(err); got != want {
			t.Errorf("IsTransient(%v) = %v, want %v", err, got, want)
		}
	}
}
