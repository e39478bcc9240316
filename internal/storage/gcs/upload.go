package gcs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// statusResumeIncomplete answers a resumable upload's chunk that did not
// complete the object.
const statusResumeIncomplete = 308

// Write uploads the object, replacing any existing one.
func (b *Bucket) Write(ctx context.Context, key string, r io.Reader, size int64) error {
	return b.put(ctx, "write", key, r, size, false)
}

// CreateIfAbsent uploads the object only if the key is free: the upload
// carries ifGenerationMatch=0, and GCS answers 412 if an object exists.
func (b *Bucket) CreateIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	return b.put(ctx, "create", key, r, size, true)
}

func (b *Bucket) put(ctx context.Context, op, key string, r io.Reader, size int64, ifAbsent bool) error {
	name, err := b.objectName(key)
	if err != nil {
		return err
	}
	body, mismatch := base.Exact(r, size)
	u := &upload{b: b, name: name, ifAbsent: ifAbsent, crc: newCRC32C()}
	u.body = io.TeeReader(body, u.crc)
	err = u.run(ctx, size)
	if err == nil {
		return nil
	}
	if merr := mismatch(); merr != nil {
		return fmt.Errorf("%s %s in %s: %w", op, key, b, merr)
	}
	if ifAbsent && hasStatus(err, http.StatusPreconditionFailed) {
		return fmt.Errorf("%s %s in %s: %w", op, key, b, base.ErrExists)
	}
	return b.opError(ctx, op, key, err)
}

// upload is one object's way up. crc sums every byte read from body, all
// of which are sent.
type upload struct {
	b        *Bucket
	name     string
	ifAbsent bool
	body     io.Reader
	crc      hash.Hash32
}

// run reads the first chunk and one byte more: an object that ends within
// it goes up in one request, a longer one as a resumable upload.
func (u *upload) run(ctx context.Context, size int64) error {
	n := int64(u.b.chunkSize)
	if size >= 0 && size < n {
		n = size
	}
	buf := make([]byte, n+1)
	got, err := io.ReadFull(u.body, buf)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return u.media(ctx, buf[:got])
	case err != nil:
		return err
	}
	return u.resumable(ctx, buf)
}

func (u *upload) query(uploadType string) url.Values {
	q := url.Values{"uploadType": {uploadType}, "name": {u.name}, "fields": {objectFields}}
	if u.ifAbsent {
		q.Set("ifGenerationMatch", "0")
	}
	return q
}

func (u *upload) url(q url.Values) string {
	return withQuery(u.b.endpoint+"/upload/storage/v1/b/"+url.PathEscape(u.b.name)+"/o", q)
}

// media uploads the whole object in one request, once it has been read.
func (u *upload) media(ctx context.Context, data []byte) error {
	h := http.Header{"Content-Type": {"application/octet-stream"}, "X-Goog-Hash": {u.hashHeader()}}
	resp, err := u.b.send(ctx, http.MethodPost, u.url(u.query("media")), bytes.NewReader(data), h, http.StatusOK, http.StatusCreated)
	if err != nil {
		return err
	}
	return u.finish(ctx, resp, int64(len(data)))
}

func (u *upload) hashHeader() string { return "crc32c=" + encodeCRC32C(u.crc.Sum32()) }

// resumable opens an upload session and sends buf, which holds one chunk
// and the byte after it, then the rest of the body. A failed upload's
// session is canceled, unless the context ended (GCS drops it after a week).
func (u *upload) resumable(ctx context.Context, buf []byte) error {
	h := http.Header{"X-Upload-Content-Type": {"application/octet-stream"}}
	resp, err := u.b.send(ctx, http.MethodPost, u.url(u.query("resumable")), nil, h, http.StatusOK, http.StatusCreated)
	if err != nil {
		return err
	}
	resp.Body.Close()
	session := resp.Header.Get("Location")
	if session == "" {
		return fmt.Errorf("the store opened a resumable upload without a session URL")
	}
	err = u.sendChunks(ctx, session, buf)
	if err != nil && ctx.Err() == nil {
		if resp, cerr := u.b.send(ctx, http.MethodDelete, session, nil, nil, 499); cerr == nil {
			resp.Body.Close()
		}
	}
	return err
}

// sendChunks sends the body in chunks of len(buf)-1 bytes; buf[:filled]
// holds what is read and not yet committed, from object offset off. Only
// the last request, sent once the body has ended, names the total size and
// so completes the object.
func (u *upload) sendChunks(ctx context.Context, session string, buf []byte) error {
	chunk, filled, ended := len(buf)-1, len(buf), false
	var off int64
	for {
		data, total := buf[:chunk], int64(-1)
		if ended {
			data, total = buf[:filled], off+int64(filled)
		}
		committed, resp, err := u.putChunk(ctx, session, off, data, total)
		switch {
		case err != nil:
			return err
		case resp != nil && !ended:
			resp.Body.Close()
			return fmt.Errorf("the store completed the upload at %d bytes, before the end", off+int64(len(data)))
		case resp != nil:
			return u.finish(ctx, resp, total)
		}
		filled = copy(buf, buf[committed:filled])
		off += int64(committed)
		if !ended {
			n, err := io.ReadFull(u.body, buf[filled:])
			filled += n
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				ended = true
			} else if err != nil {
				return err
			}
		}
	}
}

// putChunk sends data at off (total: the object's size in the last chunk,
// else -1). It returns the completed upload's response, or how many of the
// bytes the store committed.
func (u *upload) putChunk(ctx context.Context, session string, off int64, data []byte, total int64) (int, *http.Response, error) {
	h := http.Header{"Content-Range": {contentRange(off, len(data), total)}}
	if total >= 0 {
		h.Set("X-Goog-Hash", u.hashHeader())
	}
	resp, err := u.b.send(ctx, http.MethodPut, session, bytes.NewReader(data), h, http.StatusOK, http.StatusCreated, statusResumeIncomplete)
	if hasStatus(err, http.StatusNotFound) || hasStatus(err, http.StatusGone) {
		// Not the bucket's answer but the session's: kept as text, so that
		// it is transient and never reads as a missing bucket.
		return 0, nil, fmt.Errorf("the resumable upload session ended (%v); the upload must start over", err)
	}
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode != statusResumeIncomplete {
		return 0, resp, nil
	}
	resp.Body.Close()
	end, err := committedEnd(resp.Header.Get("Range"))
	if err != nil {
		return 0, nil, err
	}
	if end < off || end > off+int64(len(data)) || (end == off && len(data) > 0) {
		return 0, nil, fmt.Errorf("the store committed the upload up to byte %d after being sent bytes %d to %d", end, off, off+int64(len(data)))
	}
	return int(end - off), nil, nil
}

// contentRange is a chunk's Content-Range: "bytes 0-262143/*" while the
// size is unknown, "bytes 262144-300000/300001" for the last chunk,
// "bytes */300001" to complete an upload with nothing left to send.
func contentRange(off int64, n int, total int64) string {
	size := "*"
	if total >= 0 {
		size = strconv.FormatInt(total, 10)
	}
	if n == 0 {
		return "bytes */" + size
	}
	return fmt.Sprintf("bytes %d-%d/%s", off, off+int64(n)-1, size)
}

// committedEnd reads a 308's Range header ("bytes=0-262143"): the offset
// after the last committed byte; 0 when absent (nothing committed).
func committedEnd(header string) (int64, error) {
	if header == "" {
		return 0, nil
	}
	last, ok := strings.CutPrefix(header, "bytes=0-")
	n, err := strconv.ParseInt(last, 10, 64)
	if !ok || err != nil || n < 0 {
		return 0, fmt.Errorf("the store answered a chunk with Range %q", header)
	}
	return n + 1, nil
}

// finish checks that the stored object has the size and CRC32C sent. If
// not (a transfer damaged past TCP's and TLS's checks, or a store that
// lost bytes), that generation is deleted, so nothing damaged stays under
// the name.
func (u *upload) finish(ctx context.Context, resp *http.Response, total int64) error {
	var o object
	if err := decodeJSON(resp, &o); err != nil {
		return err
	}
	sum := encodeCRC32C(u.crc.Sum32())
	if o.Size == strconv.FormatInt(total, 10) && (o.CRC32C == "" || o.CRC32C == sum) {
		return nil
	}
	q := url.Values{}
	if o.Generation != "" {
		q.Set("ifGenerationMatch", o.Generation)
	}
	if resp, err := u.b.send(ctx, http.MethodDelete, u.b.objectURL(u.name, q), nil, nil, http.StatusNoContent, http.StatusOK); err == nil {
		resp.Body.Close()
	}
	return fmt.Errorf("the store kept %s bytes with CRC32C %s of the %d bytes with CRC32C %s sent; deleted it", o.Size, o.CRC32C, total, sum)
}
