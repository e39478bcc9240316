package base

import (
	"fmt"
	"io"
)

// ExactReader fails an upload whose reader yields more or fewer than Want
// bytes, so a caller's wrong size never stores a truncated or padded object.
// Err holds the mismatch once detected.
type ExactReader struct {
	R    io.Reader
	Want int64
	got  int64
	Err  error
}

func (e *ExactReader) Read(p []byte) (int, error) {
	if e.Err != nil {
		return 0, e.Err
	}
	if room := e.Want - e.got + 1; int64(len(p)) > room {
		p = p[:room] // read one byte past the end to detect a long reader
	}
	n, err := e.R.Read(p)
	e.got += int64(n)
	switch {
	case e.got > e.Want:
		e.Err = fmt.Errorf("reader has more than the %d bytes the caller said: %w", e.Want, ErrPermanent)
		return 0, e.Err
	case err == io.EOF && e.got < e.Want:
		e.Err = fmt.Errorf("reader gave %d bytes, caller said %d: %w", e.got, e.Want, ErrPermanent)
		return n, e.Err
	}
	return n, err
}

// Exact returns the body to upload for r, which the caller says holds size
// bytes: checked with an ExactReader, or r itself when size is unknown
// (negative). mismatch reports, after the upload, whether r broke that
// promise; the upload's own error is then beside the point.
func Exact(r io.Reader, size int64) (body io.Reader, mismatch func() error) {
	if size < 0 {
		return r, func() error { return nil }
	}
	e := &ExactReader{R: r, Want: size}
	return e, func() error { return e.Err }
}

// SmallBody returns r as a seekable body when it can go up in one plain
// request: r seeks, holds exactly size bytes from where it stands, and size
// is known and at most limit. A seekable body lets the SDK sign and resend
// it without a buffer of its own (an upload manager would copy it into a
// part buffer). ok is false otherwise, also when r holds another number of
// bytes: the exact-size check of the streaming path then reports it.
func SmallBody(r io.Reader, size, limit int64) (body io.ReadSeeker, ok bool) {
	rs, seeks := r.(io.ReadSeeker)
	if !seeks || size < 0 || size > limit {
		return nil, false
	}
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, false
	}
	end, err := rs.Seek(0, io.SeekEnd)
	if _, serr := rs.Seek(start, io.SeekStart); err != nil || serr != nil || end-start != size {
		return nil, false
	}
	return rs, true
}
