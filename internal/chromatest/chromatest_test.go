package chromatest_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type records struct {
	ids   []string
	embs  [][]float32
	metas []map[string]any
	docs  []string
}

func makeRecords(r *rand.Rand, prefix string, from, n, dim int) records {
	var rs records
	for i := from; i < from+n; i++ {
		rs.ids = append(rs.ids, fmt.Sprintf("%s-%05d", prefix, i))
		rs.embs = append(rs.embs, chromatest.RandomEmbedding(r, dim))
		rs.metas = append(rs.metas, map[string]any{"n": i, "even": i%2 == 0, "tag": fmt.Sprintf("t%d", i%5)})
		rs.docs = append(rs.docs, fmt.Sprintf("document number %d", i))
	}
	return rs
}

func mustCount(t *testing.T, ctx context.Context, c *chromatest.Client, collID string) int {
	t.Helper()
	n, err := c.Count(ctx, collID)
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

func TestBinarySkipsOrFailsWhenMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-chroma")
	t.Setenv(chromatest.EnvBinary, missing)

	t.Setenv(chromatest.EnvRequire, "")
	ft := &fakeTB{TB: t}
	chromatest.Binary(ft)
	if !ft.skipped || ft.failed {
		t.Fatalf("without %s: skipped=%v failed=%v, want a skip", chromatest.EnvRequire, ft.skipped, ft.failed)
	}
	if !strings.Contains(ft.msg, "scripts/install-chroma.sh") {
		t.Errorf("skip message %q does not name the install script", ft.msg)
	}

	t.Setenv(chromatest.EnvRequire, "1")
	ft = &fakeTB{TB: t}
	chromatest.Binary(ft)
	if !ft.failed || ft.skipped {
		t.Fatalf("with %s=1: skipped=%v failed=%v, want a failure", chromatest.EnvRequire, ft.skipped, ft.failed)
	}
	if !strings.Contains(ft.msg, "scripts/install-chroma.sh") {
		t.Errorf("failure message %q does not name the install script", ft.msg)
	}
}

// fakeTB records Skipf and Fatalf instead of ending the test.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = true
	f.msg = fmt.Sprintf(format, args...)
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
}

func TestRepoRoot(t *testing.T) {
	root, err := chromatest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repo root %s has no go.mod: %v", root, err)
	}
}

func TestStartListensOnLoopback(t *testing.T) {
	s := chromatest.Start(t, chromatest.Options{})
	ctx := testContext(t)
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("URL = %s, want 127.0.0.1", s.URL)
	}
	v, err := s.Client.Version(ctx)
	if err != nil {
		t.Fatalf("version: %v", err)
	}
	t.Logf("chroma %s on %s, log %s", v, s.URL, s.LogPath)
	if !strings.Contains(s.Logs(), "Listening on 127.0.0.1:") {
		t.Errorf("log does not show a loopback listener:\n%s", s.Logs())
	}
	if _, err := os.Stat(filepath.Join(s.PersistDir, "chroma.sqlite3")); err != nil {
		t.Errorf("persist dir: %v", err)
	}

	if err := s.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("process still running after Stop")
	}
	if err := s.Client.Heartbeat(ctx); err == nil {
		t.Fatal("heartbeat answered after Stop")
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
}

func TestStartWithOTLPConfig(t *testing.T) {
	// Something listens where the OTLP endpoint points; what it receives is
	// not examined here.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	s := chromatest.Start(t, chromatest.Options{OTLPEndpoint: "http://" + l.Addr().String()})
	ctx := testContext(t)
	id, err := s.Client.CreateCollection(ctx, "otlp-check")
	if err != nil {
		t.Fatal(err)
	}
	if n := mustCount(t, ctx, s.Client, id); n != 0 {
		t.Fatalf("count = %d, want 0", n)
	}
	logs := s.Logs()
	if strings.Contains(logs, "OpenTelemetry is not enabled") {
		t.Errorf("server did not enable OpenTelemetry:\n%s", logs)
	}
	if !strings.Contains(logs, "127.0.0.1:") {
		t.Errorf("log does not show a loopback listener:\n%s", logs)
	}
	if _, err := os.Stat(filepath.Join(s.PersistDir, "chroma.sqlite3")); err != nil {
		t.Errorf("config file persist_path not used: %v", err)
	}
}

func TestCollections(t *testing.T) {
	s := chromatest.Start(t, chromatest.Options{})
	ctx := testContext(t)
	c := s.Client

	if n, err := c.CountCollections(ctx); err != nil || n != 0 {
		t.Fatalf("CountCollections = %d, %v; want 0", n, err)
	}
	names := []string{"alpha", "beta.two", "gamma_3"}
	ids := map[string]string{}
	for _, name := range names {
		id, err := c.CreateCollection(ctx, name)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		ids[name] = id
	}
	_, err := c.CreateCollection(ctx, "alpha")
	if !chromatest.IsStatus(err, http.StatusConflict) {
		t.Fatalf("second create of alpha: %v, want HTTP 409", err)
	}
	if !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("error %q lacks status or body", err)
	}
	if _, err := c.CreateCollection(ctx, "x"); !chromatest.IsStatus(err, http.StatusBadRequest) {
		t.Errorf("create with a 1-character name: %v, want HTTP 400", err)
	}
	if id, err := c.GetOrCreateCollection(ctx, "alpha"); err != nil || id != ids["alpha"] {
		t.Errorf("GetOrCreateCollection(alpha) = %s, %v; want %s", id, err, ids["alpha"])
	}

	got, err := c.GetCollection(ctx, "beta.two")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != ids["beta.two"] || got.Name != "beta.two" || got.Tenant != chromatest.DefaultTenant || got.Database != chromatest.DefaultDatabase {
		t.Errorf("GetCollection = %+v", got)
	}
	if _, err := c.GetCollection(ctx, "missing"); !chromatest.IsStatus(err, http.StatusNotFound) {
		t.Errorf("GetCollection(missing): %v, want HTTP 404", err)
	}

	list, err := c.ListCollections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, coll := range list {
		listed = append(listed, coll.Name)
		if coll.ID != ids[coll.Name] {
			t.Errorf("listed %s with id %s, want %s", coll.Name, coll.ID, ids[coll.Name])
		}
	}
	slices.Sort(listed)
	if !slices.Equal(listed, names) {
		t.Errorf("ListCollections names = %v, want %v", listed, names)
	}
	if n, err := c.CountCollections(ctx); err != nil || n != 3 {
		t.Errorf("CountCollections = %d, %v; want 3", n, err)
	}

	if err := c.DeleteCollection(ctx, "gamma_3"); err != nil {
		t.Fatal(err)
	}
	if n, err := c.CountCollections(ctx); err != nil || n != 2 {
		t.Errorf("CountCollections after delete = %d, %v; want 2", n, err)
	}
}

// TestRecordsAcrossRestart fills a collection past Chroma's HNSW sync
// threshold (1000), exercises every record operation, and checks that a
// restarted server (after SIGTERM, then after SIGKILL) on the same directory
// reports the same records.
func TestRecordsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	s := chromatest.Start(t, chromatest.Options{PersistDir: dir})
	ctx := testContext(t)
	c := s.Client
	const dim = 16

	id, err := c.CreateCollection(ctx, "records")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 11))
	all := makeRecords(r, "rec", 0, 2500, dim)
	for from := 0; from < len(all.ids); from += 250 {
		to := from + 250
		if err := c.Add(ctx, id, all.ids[from:to], all.embs[from:to], all.metas[from:to], all.docs[from:to]); err != nil {
			t.Fatalf("add %d..%d: %v", from, to, err)
		}
	}
	if n := mustCount(t, ctx, c, id); n != 2500 {
		t.Fatalf("count = %d, want 2500", n)
	}

	// Chroma persisted the HNSW index at 1000 and 2000 records.
	segDirs := hnswDirs(t, dir)
	if len(segDirs) != 1 {
		t.Fatalf("persist dir has %d segment folders, want 1", len(segDirs))
	}
	for _, f := range []string{"header.bin", "data_level0.bin", "length.bin", "link_lists.bin", "index_metadata.pickle"} {
		if _, err := os.Stat(filepath.Join(segDirs[0], f)); err != nil {
			t.Errorf("HNSW segment folder: %v", err)
		}
	}

	// The nearest neighbour of a stored vector is that vector's record.
	for _, i := range []int{0, 999, 1000, 2499} {
		got, err := c.Query(ctx, id, all.embs[i], 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0] != all.ids[i] {
			t.Errorf("query with the embedding of %s = %v", all.ids[i], got)
		}
	}

	// Add ignores existing ids.
	if err := c.Add(ctx, id, all.ids[:5], all.embs[:5], nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Query(ctx, id, make([]float32, dim+1), 1); !chromatest.IsStatus(err, http.StatusBadRequest) {
		t.Errorf("query with a wrong dimension: %v, want HTTP 400", err)
	}

	// Delete 100 records (and an unknown id), upsert 5 existing and 15 new.
	if err := c.Delete(ctx, id, append(slices.Clone(all.ids[100:200]), "no-such-id")); err != nil {
		t.Fatal(err)
	}
	up := makeRecords(r, "rec", 2495, 20, dim)
	if err := c.Upsert(ctx, id, up.ids, up.embs, up.metas, up.docs); err != nil {
		t.Fatal(err)
	}
	const want = 2500 - 100 + 15
	if n := mustCount(t, ctx, c, id); n != want {
		t.Fatalf("count after delete and upsert = %d, want %d", n, want)
	}
	got, err := c.Get(ctx, id, []string{"rec-00150", "rec-02496", "rec-02510"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("Get returned %d records, want 2 (rec-00150 is deleted)", len(got))
	}
	upserted := map[string][]float32{}
	for i, rid := range up.ids {
		upserted[rid] = up.embs[i]
	}
	for _, rec := range got {
		if !slices.Equal(rec.Embedding, upserted[rec.ID]) {
			t.Errorf("%s: embedding %v, want the upserted %v", rec.ID, rec.Embedding, upserted[rec.ID])
		}
		if rec.Document == nil || !strings.HasPrefix(*rec.Document, "document number ") {
			t.Errorf("%s: document %v", rec.ID, rec.Document)
		}
	}
	q, err := c.Query(ctx, id, upserted["rec-02497"], 1)
	if err != nil || len(q) != 1 || q[0] != "rec-02497" {
		t.Errorf("query for upserted rec-02497 = %v, %v", q, err)
	}

	check := func(s *chromatest.Server, when string) {
		t.Helper()
		if n := mustCount(t, ctx, s.Client, id); n != want {
			t.Errorf("%s: count = %d, want %d", when, n, want)
		}
		if q, err := s.Client.Query(ctx, id, all.embs[150], 1); err != nil || len(q) != 1 || q[0] == "rec-00150" {
			t.Errorf("%s: query near deleted rec-00150 = %v, %v", when, q, err)
		}
		if q, err := s.Client.Query(ctx, id, all.embs[2000], 1); err != nil || len(q) != 1 || q[0] != "rec-02000" {
			t.Errorf("%s: query for rec-02000 = %v, %v", when, q, err)
		}
		if n, err := s.Client.CountCollections(ctx); err != nil || n != 1 {
			t.Errorf("%s: CountCollections = %d, %v", when, n, err)
		}
	}

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s2 := chromatest.Start(t, chromatest.Options{PersistDir: dir})
	if s2.Port == s.Port {
		t.Logf("restarted on the same port %d", s2.Port)
	}
	check(s2, "after SIGTERM and restart")

	if err := s2.Kill(); err != nil {
		t.Fatal(err)
	}
	s3 := chromatest.Start(t, chromatest.Options{PersistDir: dir})
	check(s3, "after SIGKILL and restart")
}

// hnswDirs returns the segment folders of a persist directory.
func hnswDirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(dir, e.Name()))
		}
	}
	return dirs
}

// checkModel compares a writer's model with what the server reports.
func checkModel(t *testing.T, ctx context.Context, c *chromatest.Client, w *chromatest.LoadWriter) {
	t.Helper()
	for name, want := range w.Expected() {
		coll, err := c.GetCollection(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if n := mustCount(t, ctx, c, coll.ID); n != want {
			t.Errorf("%s: count = %d, model says %d", name, n, want)
		}
		recs, err := c.Get(ctx, coll.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, rec := range recs {
			ids = append(ids, rec.ID)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, w.LiveIDs(name)) {
			t.Errorf("%s: %d ids on the server differ from the model's %d", name, len(ids), len(w.LiveIDs(name)))
		}
	}
}

func TestLoadWriterMaxOps(t *testing.T) {
	s := chromatest.Start(t, chromatest.Options{})
	ctx := testContext(t)
	w := chromatest.NewLoadWriter(s.Client, chromatest.LoadOptions{Collections: 3, Dimension: 16, BatchSize: 20, MaxOps: 60, Seed: 42})
	if err := w.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	t.Logf("stats %+v, expected %v", st, w.Expected())
	if st.Ops != 60 || st.Adds+st.Upserts+st.Deletes != st.Ops {
		t.Errorf("stats %+v: want 60 ops", st)
	}
	if st.Adds == 0 || st.Upserts == 0 || st.Deletes == 0 || st.Deleted == 0 {
		t.Errorf("stats %+v: want adds, upserts and deletes", st)
	}
	total := 0
	for _, n := range w.Expected() {
		total += n
	}
	if total == 0 || int64(total) > st.Added+st.Upserted-st.Deleted {
		t.Errorf("model holds %d records; stats %+v", total, st)
	}
	if got := w.Collections(); !slices.Equal(got, []string{"load-0", "load-1", "load-2"}) {
		t.Errorf("Collections() = %v", got)
	}
	checkModel(t, ctx, s.Client, w)

	// The same seed gives the same requests.
	s2 := chromatest.Start(t, chromatest.Options{})
	w2 := chromatest.NewLoadWriter(s2.Client, chromatest.LoadOptions{Collections: 3, Dimension: 16, BatchSize: 20, MaxOps: 60, Seed: 42})
	if err := w2.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if w2.Stats() != st {
		t.Errorf("same seed: stats %+v, want %+v", w2.Stats(), st)
	}
	for _, name := range w.Collections() {
		if !slices.Equal(w.LiveIDs(name), w2.LiveIDs(name)) {
			t.Errorf("same seed: %s holds different ids", name)
		}
	}
}

func TestLoadWriterStopsOnCancel(t *testing.T) {
	s := chromatest.Start(t, chromatest.Options{})
	ctx := testContext(t)
	w := chromatest.NewLoadWriter(s.Client, chromatest.LoadOptions{NamePrefix: "cancel", Collections: 2, MaxOps: 1_000_000})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	waitFor(t, time.Minute, "50 acknowledged writes", func() bool { return w.Stats().Ops >= 50 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after cancel")
	}
	st := w.Stats()
	if st.Ops < 50 || st.Ops >= 1_000_000 {
		t.Fatalf("stats %+v", st)
	}
	checkModel(t, ctx, s.Client, w)

	// Run continues where it stopped.
	w2ctx, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	go func() { done <- w.Run(w2ctx) }()
	waitFor(t, time.Minute, "more writes", func() bool { return w.Stats().Ops >= st.Ops+10 })
	cancel2()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkModel(t, ctx, s.Client, w)
}

func TestLoadWriterRefusesNonEmptyCollection(t *testing.T) {
	s := chromatest.Start(t, chromatest.Options{})
	ctx := testContext(t)
	id, err := s.Client.CreateCollection(ctx, "load-0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Client.Add(ctx, id, []string{"x"}, [][]float32{make([]float32, 16)}, nil, nil); err != nil {
		t.Fatal(err)
	}
	w := chromatest.NewLoadWriter(s.Client, chromatest.LoadOptions{MaxOps: 5})
	if err := w.Run(ctx); err == nil || !strings.Contains(err.Error(), "already holds 1 records") {
		t.Fatalf("Run on a non-empty collection: %v", err)
	}
}

func TestLoadWriterReportsServerLoss(t *testing.T) {
	s := chromatest.Start(t, chromatest.Options{})
	ctx := testContext(t)
	w := chromatest.NewLoadWriter(s.Client, chromatest.LoadOptions{MaxOps: 1_000_000})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	waitFor(t, time.Minute, "10 acknowledged writes", func() bool { return w.Stats().Ops >= 10 })
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Run returned nil after the server was killed")
		}
		t.Logf("Run: %v", err)
	case <-time.After(3 * time.Minute):
		t.Fatal("Run did not return after the server was killed")
	}
}
