package base

import (
	"fmt"
	"io"
)

// ExactReader fails a write whose reader yields more or fewer than Want
// bytes, with an error that wraps ErrPermanent: the caller's size was wrong,
// and no retry makes it right. Backends that stream to the store check Err
// after a failed upload to report this cause instead of the store's.
type ExactReader struct {
	R    io.Reader
	Want int64
	got  int64
	err  error
}

// Err is the size mismatch found, or nil.
func (e *ExactReader) Err() error { return e.err }

func (e *ExactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if room := e.Want - e.got + 1; int64(len(p)) > room {
		p = p[:room] // read one byte past the end to detect a long reader
	}
	n, err := e.R.Read(p)
	e.got += int64(n)
	switch {
	case e.got > e.Want:
		e.err = fmt.Errorf("reader has more than the %d bytes the caller said: %w", e.Want, ErrPermanent)
		return 0, e.err
	case err == io.EOF && e.got < e.Want:
		e.err = fmt.Errorf("reader gave %d bytes, caller said %d: %w", e.got, e.Want, ErrPermanent)
		return n, e.err
	}
	return n, err
}
