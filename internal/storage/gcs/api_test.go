package gcs_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/gcs"
)

// request is what a test server saw of one request.
type request struct {
	Method, Path string // Path as sent, still escaped
	Query        url.Values
	Header       http.Header
}

// apiServer is a JSON API endpoint (an emulator: http://, no credentials)
// answering with handle, recording every request.
type apiServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []request
}

func startAPI(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *apiServer {
	t.Helper()
	s := &apiServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, request{r.Method, r.URL.EscapedPath(), r.URL.Query(), r.Header.Clone()})
		s.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *apiServer) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

func apiBucket(t *testing.T, s *apiServer, opts gcs.Options) *gcs.Bucket {
	t.Helper()
	opts.Bucket, opts.Endpoint = "bkt", s.URL
	b, err := gcs.New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func crc32c(data []byte) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	return base64.StdEncoding.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// An object's name is one escaped path segment (its slashes too) in object
// requests, and a query parameter in uploads and listings.
func TestNameEscaping(t *testing.T) {
	const key = "dir with space/a+b%c?d#e&f=ü"
	const name = "backups/prod/" + key
	s := startAPI(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Query().Get("alt") == "media":
			_, _ = w.Write([]byte("x"))
		case r.Method == http.MethodPost:
			writeJSON(w, map[string]string{"name": name, "size": "1", "crc32c": crc32c([]byte("x"))})
		default:
			writeJSON(w, map[string]any{"name": name, "size": "1", "updated": "2026-01-02T03:04:05Z", "items": []any{}})
		}
	})
	b := apiBucket(t, s, gcs.Options{Prefix: "/backups/prod/"})
	ctx := t.Context()
	if err := b.Write(ctx, key, strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, key); err != nil {
		t.Fatal(err)
	}
	if rc, err := b.Read(ctx, key); err != nil {
		t.Fatal(err)
	} else {
		rc.Close()
	}
	if err := b.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	for _, err := range b.List(ctx, "dir with space/") {
		if err != nil {
			t.Fatal(err)
		}
	}
	objectPath := "/storage/v1/b/bkt/o/" + url.PathEscape(name)
	if !strings.Contains(objectPath, "backups%2Fprod%2Fdir%20with%20space%2Fa+b%25c%3Fd%23e&f=%C3%BC") {
		t.Fatalf("test's own expectation is off: %s", objectPath)
	}
	want := []request{
		{Method: "POST", Path: "/upload/storage/v1/b/bkt/o", Query: url.Values{"name": {name}}},
		{Method: "GET", Path: objectPath},
		{Method: "GET", Path: objectPath},
		{Method: "DELETE", Path: objectPath},
		{Method: "GET", Path: "/storage/v1/b/bkt/o", Query: url.Values{"prefix": {"backups/prod/dir with space/"}}},
	}
	got := s.requests()
	if len(got) != len(want) {
		t.Fatalf("%d requests, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Method != w.Method || got[i].Path != w.Path {
			t.Errorf("request %d: %s %s, want %s %s", i, got[i].Method, got[i].Path, w.Method, w.Path)
		}
		for k, v := range w.Query {
			if !slices.Equal(got[i].Query[k], v) {
				t.Errorf("request %d: %s=%q, want %q", i, k, got[i].Query[k], v)
			}
		}
	}
}

// A listing follows nextPageToken to the last page, asks for the page size
// and the fields it reads, and skips names it cannot address.
func TestListPagination(t *testing.T) {
	pages := map[string]map[string]any{
		"": {"nextPageToken": "t1", "items": []map[string]string{
			{"name": "p/a", "size": "1", "updated": "2026-01-02T03:04:05Z"},
			{"name": "p/b//c", "size": "2", "updated": "2026-01-02T03:04:05Z"},
		}},
		"t1": {"nextPageToken": "t2", "items": []map[string]string{}},
		"t2": {"items": []map[string]string{
			{"name": "p/d/e", "size": "3", "updated": "2026-01-02T03:04:05Z"},
		}},
	}
	s := startAPI(t, func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Query().Get("pageToken")]
		if !ok {
			http.Error(w, "bad page token", http.StatusBadRequest)
			return
		}
		writeJSON(w, page)
	})
	b := apiBucket(t, s, gcs.Options{Prefix: "p", ListPageSize: 2})
	var keys []string
	for o, err := range b.List(t.Context(), "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, fmt.Sprintf("%s:%d", o.Key, o.Size))
	}
	if want := []string{"a:1", "d/e:3"}; !slices.Equal(keys, want) {
		t.Fatalf("List = %q, want %q", keys, want)
	}
	var tokens []string
	for _, r := range s.requests() {
		tokens = append(tokens, r.Query.Get("pageToken"))
		if r.Query.Get("maxResults") != "2" || r.Query.Get("prefix") != "p/" || !strings.Contains(r.Query.Get("fields"), "nextPageToken") {
			t.Errorf("listing request %v", r.Query)
		}
	}
	if want := []string{"", "t1", "t2"}; !slices.Equal(tokens, want) {
		t.Fatalf("page tokens sent = %q, want %q", tokens, want)
	}

	// A consumer that stops early stops the requests too.
	before := len(s.requests())
	for range b.List(t.Context(), "") {
		break
	}
	if n := len(s.requests()) - before; n != 1 {
		t.Fatalf("stopping after one item made %d requests, want 1", n)
	}
}

// Each answer the JSON API gives maps to the storage error kinds.
func TestErrorMapping(t *testing.T) {
	status := 0
	s := startAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":%d,"message":"the API's message"}}`, status)
	})
	b := apiBucket(t, s, gcs.Options{})
	ctx := t.Context()
	stat := func() error { _, err := b.Stat(ctx, "k"); return err }
	list := func() error {
		for _, err := range b.List(ctx, "") {
			return err
		}
		return nil
	}
	write := func() error { return b.Write(ctx, "k", strings.NewReader("x"), 1) }
	create := func() error { return b.CreateIfAbsent(ctx, "k", strings.NewReader("x"), 1) }
	for _, tc := range []struct {
		name      string
		status    int
		op        func() error
		want      error // nil: none of the kinds below
		permanent bool
		text      string
	}{
		{"stat of a missing object", 404, stat, storage.ErrNotExist, false, "the API's message"},
		{"listing of a missing bucket", 404, list, storage.ErrNoBucket, true, "bucket bkt does not exist"},
		{"upload to a missing bucket", 404, write, storage.ErrNoBucket, true, "bucket bkt does not exist"},
		{"create over an existing object", 412, create, storage.ErrExists, false, ""},
		{"write under a failed precondition", 412, write, nil, true, "HTTP 412"},
		{"access denied", 403, stat, nil, true, "roles/storage.objectUser"},
		{"unauthenticated", 401, list, nil, true, "access denied"},
		{"throttled", 429, write, nil, false, "HTTP 429"},
		{"server error", 503, stat, nil, false, "HTTP 503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status = tc.status
			err := tc.op()
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || errors.Is(err, storage.ErrPermanent) != tc.permanent {
				t.Fatalf("error = %v; want %v, permanent %v", err, tc.want, tc.permanent)
			}
			for _, kind := range []error{storage.ErrNotExist, storage.ErrNoBucket, storage.ErrExists} {
				if kind != tc.want && errors.Is(err, kind) {
					t.Fatalf("error = %v is also %v", err, kind)
				}
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error = %v; want it to say %q", err, tc.text)
			}
		})
	}
	status = 404
	if err := b.Delete(ctx, "k"); err != nil {
		t.Fatalf("Delete of a missing object: %v", err)
	}
}

// A download whose bytes do not match the CRC32C the store reports fails
// at its end instead of passing damaged data on.
func TestReadChecksCRC32C(t *testing.T) {
	stored := []byte("stored content")
	bodies := map[string]string{"good": string(stored), "flipped": "stored cOntent", "short": "stored"}
	s := startAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Goog-Hash", "crc32c="+crc32c(stored)+",md5=AAAA")
		_, _ = w.Write([]byte(bodies[strings.TrimPrefix(r.URL.Path, "/storage/v1/b/bkt/o/")]))
	})
	b := apiBucket(t, s, gcs.Options{})
	for key, body := range bodies {
		rc, err := b.Read(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if ok := body == string(stored); ok != (err == nil) {
			t.Fatalf("%s: ReadAll = %q, %v; want ok %v", key, got, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "damaged") {
			t.Fatalf("%s: error %v does not say the data is damaged", key, err)
		}
	}
}

// An upload the store keeps with other bytes than were sent fails, and the
// damaged generation is deleted.
func TestUploadChecksStoredObject(t *testing.T) {
	var deleted []url.Values
	var mu sync.Mutex
	s := startAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			mu.Lock()
			deleted = append(deleted, r.URL.Query())
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
			return
		}
		body, _ := io.ReadAll(r.Body)
		body[0] ^= 1 // damaged on the way in
		writeJSON(w, map[string]string{"name": "k", "size": strconv.Itoa(len(body)), "crc32c": crc32c(body), "generation": "17"})
	})
	b := apiBucket(t, s, gcs.Options{})
	err := b.Write(t.Context(), "k", strings.NewReader("content"), 7)
	if err == nil || !strings.Contains(err.Error(), "CRC32C") {
		t.Fatalf("Write = %v, want a CRC32C mismatch", err)
	}
	if len(deleted) != 1 || deleted[0].Get("ifGenerationMatch") != "17" {
		t.Fatalf("deletes = %v, want one of generation 17", deleted)
	}
	if h := s.requests()[0].Header.Get("X-Goog-Hash"); h != "crc32c="+crc32c([]byte("content")) {
		t.Fatalf("upload sent X-Goog-Hash %q", h)
	}
}

// resumableServer keeps one resumable upload in memory and commits at most
// commitLimit bytes of each chunk, as GCS may.
type resumableServer struct {
	mu          sync.Mutex
	data        []byte
	ranges      []string
	commitLimit int
	done        bool
}

func (rs *resumableServer) handle(w http.ResponseWriter, r *http.Request) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r.Method == http.MethodPost {
		w.Header().Set("Location", "http://"+r.Host+"/session")
		return
	}
	body, _ := io.ReadAll(r.Body)
	cr := r.Header.Get("Content-Range")
	rs.ranges = append(rs.ranges, cr)
	var first, last int
	var total string
	if _, err := fmt.Sscanf(cr, "bytes %d-%d/%s", &first, &last, &total); err != nil || first != len(rs.data) || last-first+1 != len(body) {
		http.Error(w, "bad Content-Range "+cr, http.StatusBadRequest)
		return
	}
	if total == "*" && len(body) > rs.commitLimit {
		body = body[:rs.commitLimit]
	}
	rs.data = append(rs.data, body...)
	if total != "*" && strconv.Itoa(len(rs.data)) == total {
		rs.done = true
		writeJSON(w, map[string]string{"name": "k", "size": total, "crc32c": crc32c(rs.data)})
		return
	}
	w.Header().Set("Range", fmt.Sprintf("bytes=0-%d", len(rs.data)-1))
	w.WriteHeader(308)
}

// A resumable upload resends what the store did not commit, names the
// total only in the last chunk, and sends that only after the reader's end.
func TestResumableUploadPartialCommits(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 80_000) // 1.25 MB
	for _, size := range []int64{int64(len(data)), -1} {
		rs := &resumableServer{commitLimit: 256 << 10}
		b := apiBucket(t, startAPI(t, rs.handle), gcs.Options{ChunkSize: 512 << 10})
		if err := b.Write(t.Context(), "k", bytes.NewReader(data), size); err != nil {
			t.Fatal(err)
		}
		rs.mu.Lock()
		defer rs.mu.Unlock()
		if !rs.done || !bytes.Equal(rs.data, data) {
			t.Fatalf("size %d: store holds %d bytes (done %v), want %d", size, len(rs.data), rs.done, len(data))
		}
		for i, cr := range rs.ranges {
			if last := i == len(rs.ranges)-1; last != !strings.HasSuffix(cr, "/*") {
				t.Fatalf("size %d: Content-Range %d of %d is %q", size, i+1, len(rs.ranges), cr)
			}
		}
		// 512 KiB sent, 256 KiB committed each time: 4 requests, where
		// whole commits would take 3.
		if n := len(rs.ranges); n != 4 {
			t.Fatalf("size %d: %d chunks sent (%q), want 4", size, n, rs.ranges)
		}
	}
}

// A resumable upload's session URL lets whoever holds it write the object:
// a failed chunk's error never shows its id.
func TestSessionIDNotInErrors(t *testing.T) {
	s := startAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("Location", "http://"+r.Host+"/upload/storage/v1/b/bkt/o?uploadType=resumable&upload_id=SECRETSESSION")
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close() // the connection drops mid-chunk
		}
	})
	b := apiBucket(t, s, gcs.Options{ChunkSize: 256 << 10})
	data := make([]byte, 600<<10)
	err := b.Write(t.Context(), "k", bytes.NewReader(data), int64(len(data)))
	if err == nil || errors.Is(err, storage.ErrPermanent) {
		t.Fatalf("Write over a dropped connection = %v, want a transient error", err)
	}
	if strings.Contains(err.Error(), "SECRETSESSION") {
		t.Fatalf("error shows the upload session: %v", err)
	}
}

// A resumable session that the store no longer knows (expired, or lost)
// fails the write transiently, so that a retry starts it over; it does not
// read as a missing bucket.
func TestLostSessionIsTransient(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusGone} {
		s := startAPI(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				w.Header().Set("Location", "http://"+r.Host+"/session")
				return
			}
			http.Error(w, "No such upload", status)
		})
		b := apiBucket(t, s, gcs.Options{ChunkSize: 256 << 10})
		data := make([]byte, 600<<10)
		err := b.Write(t.Context(), "k", bytes.NewReader(data), int64(len(data)))
		if err == nil || errors.Is(err, storage.ErrPermanent) || errors.Is(err, storage.ErrNoBucket) || !strings.Contains(err.Error(), "start over") {
			t.Fatalf("HTTP %d to a chunk: Write = %v, want a transient error saying the upload starts over", status, err)
		}
	}
}
