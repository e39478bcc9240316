package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"time"
)

// RetryPolicy bounds how WithRetry retries transient errors: at most
// MaxAttempts tries per operation, and no new try once MaxElapsed has passed
// since the first. Waits between tries grow from InitialBackoff, doubling up
// to MaxBackoff, each randomized ("full jitter") so that replicas failing
// together do not retry together.
type RetryPolicy struct {
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	MaxElapsed     time.Duration
}

// DefaultRetryPolicy rides out a store restart or a network blip of up to
// about half a minute.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:    6,
		InitialBackoff: 250 * time.Millisecond,
		MaxBackoff:     8 * time.Second,
		MaxElapsed:     30 * time.Second,
	}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = d.InitialBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = d.MaxBackoff
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = d.MaxElapsed
	}
	return p
}

// IsTransient reports whether err may go away on a retry: it is not nil, not
// ErrPermanent, ErrNotExist or ErrExists, and not a context's end.
func IsTransient(err error) bool {
	return err != nil &&
		!errors.Is(err, ErrPermanent) &&
		!errors.Is(err, ErrNotExist) &&
		!errors.Is(err, ErrExists) &&
		!errors.Is(err, context.Canceled) &&
		!errors.Is(err, context.DeadlineExceeded)
}

// WithRetry wraps b so that transient errors are retried under policy (zero
// fields take DefaultRetryPolicy's values). Errors that retrying cannot fix
// (ErrPermanent, ErrNotExist, ErrExists) return at once, and so does every
// operation once its context ends.
//
// What can be retried:
//   - Stat, Delete: always.
//   - Read: opening the object; an error while streaming the body is the
//     caller's to handle.
//   - List: a failure before or between items; the listing resumes after the
//     last key yielded, so no key is yielded twice.
//   - Write, CreateIfAbsent: only when the reader is an io.Seeker (a
//     *bytes.Reader, *strings.Reader or *os.File); it is rewound to where it
//     stood before each retry. Other readers get a single attempt, so pass a
//     seekable reader for anything that matters.
//
// A CreateIfAbsent whose earlier try may have landed without its answer
// arriving (a timeout) can find its own object on the retry. When the object
// then holds exactly the bytes being written, the create counts as done;
// give each creator's content something unique (an owner ID) so that another
// creator's object never passes for one's own.
func WithRetry(b Bucket, policy RetryPolicy) Bucket {
	return &retryBucket{inner: b, policy: policy.withDefaults(), clock: realClock{}}
}

// Unwrap returns the bucket under a retry wrapper, or b itself.
func Unwrap(b Bucket) Bucket {
	if r, ok := b.(*retryBucket); ok {
		return r.inner
	}
	return b
}

type clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type retryBucket struct {
	inner  Bucket
	policy RetryPolicy
	clock  clock
}

func (r *retryBucket) String() string { return r.inner.String() }

// do runs op (passing the 1-based attempt number) until it succeeds, fails
// for good, the context ends, or the policy runs out.
func (r *retryBucket) do(ctx context.Context, op func(attempt int) error) error {
	start := r.clock.Now()
	var err error
	for attempt := 1; ; attempt++ {
		if ctxErr := ctx.Err(); ctxErr != nil {
			if err != nil {
				return fmt.Errorf("%w (last error: %w)", ctxErr, err)
			}
			return ctxErr
		}
		err = op(attempt)
		if !IsTransient(err) {
			return err
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%w (last error: %w)", ctxErr, err)
		}
		if attempt >= r.policy.MaxAttempts {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		delay := r.backoff(attempt)
		if elapsed := r.clock.Now().Sub(start); elapsed+delay > r.policy.MaxElapsed {
			return fmt.Errorf("%w (gave up after %d attempts in %s)", err, attempt, elapsed.Round(time.Millisecond))
		}
		if sleepErr := r.clock.Sleep(ctx, delay); sleepErr != nil {
			return fmt.Errorf("%w (last error: %w)", sleepErr, err)
		}
	}
}

// backoff is the wait after the given (1-based) failed attempt: uniform in
// [d/2, d] where d doubles from InitialBackoff up to MaxBackoff. Keeping
// half of d fixed stops a run of short random waits from using up all
// attempts within a moment.
func (r *retryBucket) backoff(attempt int) time.Duration {
	d := r.policy.InitialBackoff
	for i := 1; i < attempt && d < r.policy.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.policy.MaxBackoff)
	half := d / 2
	return half + rand.N(d-half+1)
}

func (r *retryBucket) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	var info ObjectInfo
	err := r.do(ctx, func(int) error {
		var err error
		info, err = r.inner.Stat(ctx, key)
		return err
	})
	return info, err
}

func (r *retryBucket) Delete(ctx context.Context, key string) error {
	return r.do(ctx, func(int) error { return r.inner.Delete(ctx, key) })
}

func (r *retryBucket) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	var rc io.ReadCloser
	err := r.do(ctx, func(int) error {
		var err error
		rc, err = r.inner.Read(ctx, key)
		return err
	})
	return rc, err
}

func (r *retryBucket) Write(ctx context.Context, key string, body io.Reader, size int64) error {
	rewind, ok := rewinder(body)
	if !ok {
		return r.inner.Write(ctx, key, body, size)
	}
	return r.do(ctx, func(attempt int) error {
		if attempt > 1 {
			if err := rewind(); err != nil {
				return err
			}
		}
		return r.inner.Write(ctx, key, body, size)
	})
}

func (r *retryBucket) CreateIfAbsent(ctx context.Context, key string, body io.Reader, size int64) error {
	rewind, ok := rewinder(body)
	if !ok {
		return r.inner.CreateIfAbsent(ctx, key, body, size)
	}
	return r.do(ctx, func(attempt int) error {
		if attempt > 1 {
			if err := rewind(); err != nil {
				return err
			}
		}
		err := r.inner.CreateIfAbsent(ctx, key, body, size)
		if attempt > 1 && errors.Is(err, ErrExists) {
			if err := rewind(); err != nil {
				return err
			}
			same, cmpErr := r.sameContent(ctx, key, body)
			if cmpErr == nil && same {
				return nil // an earlier try landed; its answer was lost
			}
		}
		return err
	})
}

// sameContent reports whether the object under key holds exactly want's bytes.
func (r *retryBucket) sameContent(ctx context.Context, key string, want io.Reader) (bool, error) {
	rc, err := r.inner.Read(ctx, key)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	bufA := make([]byte, 32<<10)
	bufB := make([]byte, 32<<10)
	for {
		n, errA := io.ReadFull(want, bufA)
		if errA != nil && errA != io.EOF && errA != io.ErrUnexpectedEOF {
			return false, errA
		}
		m, errB := io.ReadFull(rc, bufB[:n])
		if errB != nil && errB != io.EOF && errB != io.ErrUnexpectedEOF {
			return false, errB
		}
		if m != n || !bytes.Equal(bufA[:n], bufB[:m]) {
			return false, nil
		}
		if errA != nil { // want is exhausted: the object must be too
			extra, err := io.ReadFull(rc, bufB[:1])
			if extra == 0 && err == io.EOF {
				return true, nil
			}
			if err != nil && err != io.EOF {
				return false, err
			}
			return false, nil
		}
	}
}

// rewinder returns a function that puts body back where it stands now, if
// body can seek.
func rewinder(body io.Reader) (func() error, bool) {
	s, ok := body.(io.Seeker)
	if !ok {
		return nil, false
	}
	start, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, false // e.g. a pipe behind an *os.File
	}
	return func() error {
		if _, err := s.Seek(start, io.SeekStart); err != nil {
			return fmt.Errorf("rewind the data for a retry: %w: %w", err, ErrPermanent)
		}
		return nil
	}, true
}

func (r *retryBucket) List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		var last string
		var started bool
		err := r.do(ctx, func(int) error {
			for info, err := range r.inner.List(ctx, prefix) {
				if err != nil {
					return err
				}
				if started && info.Key <= last {
					continue // yielded before a retry
				}
				started, last = true, info.Key
				if !yield(info, nil) {
					return errStop
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(ObjectInfo{}, err)
		}
	}
}

// errStop ends a List whose consumer stopped early; never retried.
var errStop = fmt.Errorf("listing stopped by the caller: %w", ErrPermanent)
