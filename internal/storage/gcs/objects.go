package gcs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// objectFields are the object metadata fields the bucket reads.
const objectFields = "name,size,updated,crc32c,generation"

// objectURL addresses one object: its name is one path segment, so every
// '/' in it is escaped.
func (b *Bucket) objectURL(name string, q url.Values) string {
	return withQuery(b.endpoint+"/storage/v1/b/"+url.PathEscape(b.name)+"/o/"+url.PathEscape(name), q)
}

func withQuery(target string, q url.Values) string {
	if len(q) == 0 {
		return target
	}
	return target + "?" + q.Encode()
}

// send makes one request and returns its response when the status is one
// of want; any other answer becomes an *APIError (the body read and
// closed).
func (b *Bucket) send(ctx context.Context, method, target string, body io.Reader, header http.Header, want ...int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, redactSession(err)
	}
	if !slices.Contains(want, resp.StatusCode) {
		return nil, responseError(resp)
	}
	return resp, nil
}

// redactSession hides a resumable upload's session id in the error of a
// request that failed: the session URL lets whoever holds it write the
// object.
func redactSession(err error) error {
	ue, ok := errors.AsType[*url.Error](err)
	if !ok {
		return err
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil || !u.Query().Has("upload_id") {
		return err
	}
	q := u.Query()
	q.Set("upload_id", "REDACTED")
	u.RawQuery = q.Encode()
	ue.URL = u.String()
	return err
}

// object is the metadata the JSON API returns for an object. Sizes and
// generations are decimal strings.
type object struct {
	Name       string    `json:"name"`
	Size       string    `json:"size"`
	Updated    time.Time `json:"updated"`
	CRC32C     string    `json:"crc32c"`
	Generation string    `json:"generation"`
}

func (o object) info(key string) (base.ObjectInfo, error) {
	size, err := strconv.ParseInt(o.Size, 10, 64)
	if err != nil || size < 0 {
		return base.ObjectInfo{}, fmt.Errorf("object %s: the store gave size %q", o.Name, o.Size)
	}
	return base.ObjectInfo{Key: key, Size: size, Modified: o.Updated}, nil
}

// decodeJSON reads and closes resp's body into v.
func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decode the store's answer: %w", err)
	}
	return nil
}

// Read streams the object's content, checking it against the CRC32C the
// store reports.
func (b *Bucket) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	name, err := b.objectName(key)
	if err != nil {
		return nil, err
	}
	resp, err := b.send(ctx, http.MethodGet, b.objectURL(name, url.Values{"alt": {"media"}}), nil, nil, http.StatusOK)
	if err != nil {
		return nil, b.objectError(ctx, "read", key, err)
	}
	return checkedBody(resp, key), nil
}

// Stat describes the object. A missing bucket also reads as ErrNotExist
// here; storage.Check tells the two apart.
func (b *Bucket) Stat(ctx context.Context, key string) (base.ObjectInfo, error) {
	name, err := b.objectName(key)
	if err != nil {
		return base.ObjectInfo{}, err
	}
	resp, err := b.send(ctx, http.MethodGet, b.objectURL(name, url.Values{"fields": {objectFields}}), nil, nil, http.StatusOK)
	if err != nil {
		return base.ObjectInfo{}, b.objectError(ctx, "stat", key, err)
	}
	var o object
	if err := decodeJSON(resp, &o); err != nil {
		return base.ObjectInfo{}, b.opError(ctx, "stat", key, err)
	}
	info, err := o.info(key)
	if err != nil {
		return base.ObjectInfo{}, b.opError(ctx, "stat", key, err)
	}
	return info, nil
}

// Delete removes the object; a missing one is not an error.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	name, err := b.objectName(key)
	if err != nil {
		return err
	}
	resp, err := b.send(ctx, http.MethodDelete, b.objectURL(name, nil), nil, nil, http.StatusNoContent, http.StatusOK)
	if hasStatus(err, http.StatusNotFound) {
		return nil
	}
	if err != nil {
		return b.opError(ctx, "delete", key, err)
	}
	resp.Body.Close()
	return nil
}

// objectError is opError for a request on one object, whose 404 means the
// object is missing.
func (b *Bucket) objectError(ctx context.Context, op, key string, err error) error {
	if hasStatus(err, http.StatusNotFound) {
		return fmt.Errorf("%s %s in %s: %w (%w)", op, key, b, base.ErrNotExist, err)
	}
	return b.opError(ctx, op, key, err)
}

// listPage is one page of a listing.
type listPage struct {
	Items         []object `json:"items"`
	NextPageToken string   `json:"nextPageToken"`
}

// List pages through the bucket's listing, which GCS returns in
// lexicographic (UTF-8 byte) order, the same as Go's string order.
func (b *Bucket) List(ctx context.Context, prefix string) iter.Seq2[base.ObjectInfo, error] {
	return func(yield func(base.ObjectInfo, error) bool) {
		if err := base.ValidatePrefix(prefix); err != nil {
			yield(base.ObjectInfo{}, fmt.Errorf("%w: %w", err, base.ErrPermanent))
			return
		}
		token := ""
		for {
			page, err := b.listPage(ctx, b.prefix+prefix, token)
			if err != nil {
				yield(base.ObjectInfo{}, b.opError(ctx, "list", prefix, err))
				return
			}
			if !b.yieldPage(page, yield) || page.NextPageToken == "" {
				return
			}
			token = page.NextPageToken
		}
	}
}

func (b *Bucket) listPage(ctx context.Context, prefix, token string) (listPage, error) {
	q := url.Values{"prefix": {prefix}, "fields": {"items(" + objectFields + "),nextPageToken"}}
	if token != "" {
		q.Set("pageToken", token)
	}
	if b.pageSize > 0 {
		q.Set("maxResults", strconv.Itoa(b.pageSize))
	}
	target := withQuery(b.endpoint+"/storage/v1/b/"+url.PathEscape(b.name)+"/o", q)
	resp, err := b.send(ctx, http.MethodGet, target, nil, nil, http.StatusOK)
	if err != nil {
		return listPage{}, err
	}
	var page listPage
	err = decodeJSON(resp, &page)
	return page, err
}

// yieldPage yields the page's objects that this bucket can address; false
// when the consumer stopped or an object's metadata is unreadable.
func (b *Bucket) yieldPage(page listPage, yield func(base.ObjectInfo, error) bool) bool {
	for _, o := range page.Items {
		key, ok := strings.CutPrefix(o.Name, b.prefix)
		if !ok || base.ValidateKey(key) != nil {
			continue // not addressable through this interface
		}
		info, err := o.info(key)
		if err != nil {
			yield(base.ObjectInfo{}, fmt.Errorf("list in %s: %w", b, err))
			return false
		}
		if !yield(info, nil) {
			return false
		}
	}
	return true
}
