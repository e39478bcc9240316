package collrestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/loopback"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// source starts a Chroma holding collection "docs" (distance ip, HNSW
// parameters set, metadata with a float 5.0) with n hard records.
func source(t *testing.T, n, dim int) (*chromaapi.Client, chromatest.RecordSet) {
	return sourceIn(t, "ip", n, dim)
}

func sourceIn(t *testing.T, space string, n, dim int) (*chromaapi.Client, chromatest.RecordSet) {
	t.Helper()
	ctx := t.Context()
	c := chromatest.Start(t, chromatest.Options{}).Client
	coll, err := c.CreateCollectionFrom(ctx, chromaapi.CollectionSpec{
		Name:          "docs",
		Metadata:      json.RawMessage(`{"owner":"search","version":5.0,"shards":2}`),
		Configuration: json.RawMessage(`{"hnsw":{"space":"` + space + `","ef_construction":120,"max_neighbors":24}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	recs := chromatest.HardRecords(rand.New(rand.NewPCG(1, 2)), "doc", n, dim)
	for lo := 0; lo < n; lo += 100 {
		hi := min(lo+100, n)
		page := chromaapi.Batch{IDs: recs.IDs[lo:hi], Embeddings: recs.Embeddings[lo:hi], Documents: recs.Documents[lo:hi], Metadatas: recs.Metadatas[lo:hi], URIs: recs.URIs[lo:hi]}
		if err := c.UpsertBatch(ctx, coll.ID, page); err != nil {
			t.Fatal(err)
		}
	}
	want, err := chromatest.ReadRecords(ctx, c, coll.ID)
	if err != nil {
		t.Fatal(err)
	}
	if space != "cosine" {
		if d := chromatest.BatchRecords(recs).Diff(want); d != "" {
			t.Fatalf("the source Chroma does not hold what was written:\n%s", d)
		}
	}
	return c, want
}

func requireRestored(t *testing.T, target *chromaapi.Client, name string, want chromatest.RecordSet) chromaapi.Collection {
	t.Helper()
	ctx := t.Context()
	coll, err := target.GetCollection(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := chromatest.ReadRecords(ctx, target, coll.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := want.Diff(got); d != "" {
		t.Fatalf("restored collection %s:\n%s", name, d)
	}
	return coll
}

// A create restores every record bit for bit, with the collection's
// metadata and configuration, under its name; a second create is refused
// and writes nothing; an upsert merges.
func TestCopyCreateThenRefuseThenMerge(t *testing.T) {
	src, want := source(t, 230, 12)
	target := chromatest.Start(t, chromatest.Options{}).Client
	ctx := t.Context()
	res, err := Copy(ctx, Options{Source: src, Target: target, Name: "docs", Mode: ModeCreate, BatchSize: 50, SnapshotID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 230 || res.Written != 230 || res.Skipped != 0 || res.Space != "ip" || res.Dimension != 12 || res.Checked != spotChecks {
		t.Fatalf("result: %+v", res)
	}
	coll := requireRestored(t, target, "docs", want)
	srcColl, _ := src.GetCollection(ctx, "docs")
	if !sameJSON(coll.Metadata, srcColl.Metadata) || !sameJSON(coll.ConfigurationJSON, srcColl.ConfigurationJSON) {
		t.Fatalf("collection metadata %s config %s, want %s %s", coll.Metadata, coll.ConfigurationJSON, srcColl.Metadata, srcColl.ConfigurationJSON)
	}
	if n, _ := target.CountCollections(ctx); n != 1 {
		t.Fatalf("%d collections in the target, want 1 (no temporary one left)", n)
	}

	_, err = Copy(ctx, Options{Source: src, Target: target, Name: "docs", Mode: ModeCreate, SnapshotID: "s1"})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "--mode upsert") {
		t.Fatalf("second create: %v", err)
	}
	extra := chromatest.HardRecords(rand.New(rand.NewPCG(3, 4)), "new", 5, 12)
	if err := target.UpsertBatch(ctx, coll.ID, extra); err != nil {
		t.Fatal(err)
	}
	changed := chromaapi.Batch{IDs: []string{"doc-00007"}, Embeddings: [][]float32{make([]float32, 12)}}
	changed.Embeddings[0][0] = 1
	if err := target.UpsertBatch(ctx, coll.ID, changed); err != nil {
		t.Fatal(err)
	}
	res, err = Copy(ctx, Options{Source: src, Target: target, Name: "docs", Mode: ModeUpsert, SnapshotID: "s2"})
	if err != nil || !res.Merged || res.Written != 230 {
		t.Fatalf("merge: %+v, %v", res, err)
	}
	merged := chromatest.BatchRecords(extra)
	for id, r := range want {
		merged[id] = r
	}
	requireRestored(t, target, "docs", merged)
}

// In a cosine collection Chroma keeps embeddings normalized and normalizes
// again what it is given, which moves components by a float32 step or two:
// the copy is checked within cosineULPs and says so; everything else is
// exact.
func TestCopyCosineWithinSteps(t *testing.T) {
	src, _ := sourceIn(t, "cosine", 120, 16)
	target := chromatest.Start(t, chromatest.Options{}).Client
	ctx := t.Context()
	res, err := Copy(ctx, Options{Source: src, Target: target, Name: "docs", SnapshotID: "s1"})
	if err != nil || res.Embeddings != EmbeddingsRenormalized {
		t.Fatalf("cosine copy: %+v, %v", res, err)
	}
	dst, err := target.GetCollection(ctx, "docs")
	if err != nil {
		t.Fatal(err)
	}
	worst := uint32(0)
	for off := 0; off < 120; off++ {
		a, err1 := src.GetPage(ctx, res.SourceID, off, 1, true)
		b, err2 := target.GetIDs(ctx, dst.ID, a.IDs, true)
		if err1 != nil || err2 != nil || b.Len() != 1 {
			t.Fatalf("read record %d: %v %v", off, err1, err2)
		}
		if d := differs(a, b, cosineULPs); d != "" {
			t.Fatalf("record %s: %s", a.IDs[0], d)
		}
		for i := range a.Embeddings[0] {
			worst = max(worst, ulpDistance(a.Embeddings[0][i], b.Embeddings[0][i]))
		}
	}
	t.Logf("largest difference: %d float32 steps", worst)
}

func TestULPDistance(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	for _, tc := range []struct {
		x, y float32
		want uint32
	}{{1, 1, 0}, {0, negZero, 1}, {1, math.Nextafter32(1, 2), 1}, {math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 3}, {-1, math.Nextafter32(-1, -2), 1}} {
		if got := ulpDistance(tc.x, tc.y); got != tc.want {
			t.Errorf("ulpDistance(%g, %g) = %d, want %d", tc.x, tc.y, got, tc.want)
		}
	}
}

// A restore cut short after its first batches continues on the next run
// into the temporary collection it made, writing only what is missing; no
// client sees the collection under its name before it is complete.
func TestCopyResumesAfterInterruption(t *testing.T) {
	src, want := source(t, 300, 8)
	target := chromatest.Start(t, chromatest.Options{}).Client
	ctx := t.Context()
	interrupted := fmt.Errorf("interrupt signal received: %w", context.Canceled)
	cut, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopAfter := snapshot.ProgressFunc(func(u snapshot.Update) {
		if u.Done >= 100 {
			cancel(interrupted)
		}
	})
	_, err := Copy(cut, Options{Source: src, Target: target, Name: "docs", As: "docs-back", BatchSize: 40, SnapshotID: "s1", Progress: stopAfter})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupt signal received") {
		t.Fatalf("interrupted copy: %v; want it to say why", err)
	}
	if _, err := target.GetCollection(ctx, "docs-back"); !chromaapi.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("the collection is visible under its name before it is complete: %v", err)
	}
	res, err := Copy(ctx, Options{Source: src, Target: target, Name: "docs", As: "docs-back", BatchSize: 40, SnapshotID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Skipped < 100 || res.Skipped+res.Written != 300 {
		t.Fatalf("resumed copy: %+v", res)
	}
	requireRestored(t, target, "docs-back", want)
	if n, _ := target.CountCollections(ctx); n != 1 {
		t.Fatalf("%d collections in the target, want 1", n)
	}
}

// A restore cancelled while a write is in flight lets that write finish:
// Chroma 1.0 stops taking writes after a client drops one mid-request.
// The target keeps taking writes, and a re-run completes.
func TestCopyCancelLetsTheWriteInFlightFinish(t *testing.T) {
	src, want := source(t, 200, 8)
	chroma := chromatest.Start(t, chromatest.Options{})
	ctx := t.Context()
	cut, cancel := context.WithCancel(ctx)
	defer cancel()
	u, err := url.Parse(chroma.URL)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(u)
	var upserts atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/upsert") && upserts.Add(1) == 2 {
			cancel()
			<-cut.Done()
		}
		forward.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	target := chromaapi.NewClient(proxy.URL)
	_, err = Copy(cut, Options{Source: src, Target: target, Name: "docs", BatchSize: 50, SnapshotID: "s1"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled copy: %v", err)
	}
	probe, err := chroma.Client.CreateCollection(ctx, "probe")
	if err != nil {
		t.Fatal(err)
	}
	if err := chroma.Client.Add(ctx, probe, []string{"p"}, [][]float32{{1}}, nil, nil); err != nil {
		t.Fatalf("the target takes no more writes after the cancelled restore: %v", err)
	}
	res, err := Copy(ctx, Options{Source: src, Target: chroma.Client, Name: "docs", BatchSize: 50, SnapshotID: "s1"})
	if err != nil || !res.Resumed || res.Skipped != 100 {
		t.Fatalf("re-run: %+v, %v", res, err)
	}
	requireRestored(t, chroma.Client, "docs", want)
}

// Upsert into a collection of another dimension is refused before
// anything is written.
func TestCopyRefusesOtherDimension(t *testing.T) {
	src, _ := source(t, 20, 8)
	target := chromatest.Start(t, chromatest.Options{}).Client
	ctx := t.Context()
	id, err := target.CreateCollection(ctx, "docs")
	if err != nil {
		t.Fatal(err)
	}
	if err := target.Add(ctx, id, []string{"x"}, [][]float32{{1, 2, 3}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	_, err = Copy(ctx, Options{Source: src, Target: target, Name: "docs", Mode: ModeUpsert})
	if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "dimension 3") {
		t.Fatalf("upsert into dimension 3: %v", err)
	}
	if n, _ := target.Count(ctx, id); n != 1 {
		t.Fatalf("target has %d records, want the 1 it had", n)
	}
}

// The target's token goes in the header Chroma's clients use; a wrong one
// is ErrTargetAuth and writes nothing, and no error shows the token.
func TestCopyAuthenticates(t *testing.T) {
	src, want := source(t, 30, 4)
	chroma := chromatest.Start(t, chromatest.Options{})
	ctx := t.Context()
	const secret = "s3cret-token-value"
	for _, tc := range []struct{ header, sent string }{
		{chromaapi.HeaderAuthorization, "Bearer " + secret},
		{chromaapi.HeaderChromaToken, secret},
	} {
		proxyURL := chromatest.TokenProxy(t, chroma.URL, tc.header, tc.sent)
		target := chromaapi.NewClient(proxyURL)
		target.Auth = chromaapi.Auth{Header: tc.header, Token: "wrong-" + secret}
		_, err := Copy(ctx, Options{Source: src, Target: target, Name: "docs", As: "docs-" + strings.ToLower(tc.header[:1])})
		if !errors.Is(err, ErrTargetAuth) || strings.Contains(err.Error(), secret) {
			t.Fatalf("%s with a wrong token: %v", tc.header, err)
		}
		target.Auth.Token = secret
		if _, err := Copy(ctx, Options{Source: src, Target: target, Name: "docs", As: "docs-" + strings.ToLower(tc.header[:1])}); err != nil {
			t.Fatalf("%s: %v", tc.header, err)
		}
		requireRestored(t, chroma.Client, "docs-"+strings.ToLower(tc.header[:1]), want)
	}
}

// A target that does not answer, or answers without Chroma's API under the
// URL, is ErrTargetUnreachable; a database that does not exist is
// ErrNoDatabase.
func TestCopyTargetErrors(t *testing.T) {
	src, _ := source(t, 5, 4)
	ctx := t.Context()
	port, err := loopback.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	down := chromaapi.NewClient("http://127.0.0.1:" + strconv.Itoa(port))
	if _, err := Copy(ctx, Options{Source: src, Target: down, Name: "docs"}); !errors.Is(err, ErrTargetUnreachable) {
		t.Fatalf("unreachable target: %v", err)
	}
	chroma := chromatest.Start(t, chromatest.Options{})
	target := chroma.Client
	if _, err := Copy(ctx, Options{Source: src, Target: target.InDatabase("default_tenant", "nope"), Name: "docs"}); !errors.Is(err, ErrNoDatabase) {
		t.Fatalf("missing database: %v", err)
	}
	// The API's URL given for Chroma's base URL.
	apiURL := chromaapi.NewClient(chroma.URL + "/api/v2")
	if _, err := Copy(ctx, Options{Source: src, Target: apiURL, Name: "docs"}); !errors.Is(err, ErrTargetUnreachable) || !strings.Contains(err.Error(), "no Chroma API") {
		t.Fatalf("a base URL with /api/v2: %v", err)
	}
	if err := CheckTarget(ctx, apiURL, []string{"docs"}, ModeCreate); !errors.Is(err, ErrTargetUnreachable) || !strings.Contains(err.Error(), "no Chroma API") {
		t.Fatalf("check of a base URL with /api/v2: %v", err)
	}
}

func TestSampleOffsets(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		k    int
		want string
	}{{0, 4, "[]"}, {1, 4, "[0]"}, {3, 4, "[0 1 2]"}, {10, 4, "[0 3 6 9]"}} {
		if got := fmt.Sprint(sampleOffsets(tc.n, tc.k)); got != tc.want {
			t.Errorf("sampleOffsets(%d, %d) = %s, want %s", tc.n, tc.k, got, tc.want)
		}
	}
}

// fakeQueries answers every query with results, all at the same distance
// (tied first).
func fakeQueries(t *testing.T, results ...string) *chromaapi.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dist := make([]float64, len(results))
		json.NewEncoder(w).Encode(map[string]any{"ids": [][]string{results}, "distances": [][]float64{dist}})
	}))
	t.Cleanup(srv.Close)
	return chromaapi.NewClient(srv.URL)
}

// HNSW search is approximate: queries that miss their records in the
// target pass when they miss them in the snapshot's Chroma too, and fail
// when the snapshot's Chroma finds them.
func TestQueriesTellApproximationFromLoss(t *testing.T) {
	probes := []probe{{"a", []float32{1}}, {"b", []float32{2}}, {"c", []float32{3}}, {"d", []float32{4}}}
	for _, tc := range []struct {
		name           string
		source, target []string
		wantErr        bool
		queried        bool
	}{
		{"target finds", []string{"x"}, []string{"c", "x"}, false, true},
		{"both miss", []string{"x", "y"}, []string{"x", "y"}, false, false},
		{"only the snapshot finds", []string{"a", "b", "c", "d"}, []string{"x"}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Every probe's query gets the same answer, its ids tied first.
			src, dst := fakeQueries(t, tc.source...), fakeQueries(t, tc.target...)
			r := &run{opts: Options{Source: src, Target: dst}, res: &Result{Space: "l2"}}
			err := r.queries(t.Context(), probes)
			if (err != nil) != tc.wantErr || (tc.wantErr && !errors.Is(err, ErrMismatch)) || r.res.Queried != tc.queried {
				t.Fatalf("err %v, queried %t, note %q", err, r.res.Queried, r.res.QueryNote)
			}
			if !tc.wantErr && !tc.queried && r.res.QueryNote == "" {
				t.Fatal("no note when no query found its record")
			}
		})
	}
}

// A target that fails writes with a server error, as Chroma 1.0 does after
// a client was killed mid-write, stops the copy with ErrTargetFailing and
// advice to restart the target; once it takes writes again, a re-run
// completes.
func TestCopyTargetFailingAdvisesRestart(t *testing.T) {
	src, want := source(t, 60, 4)
	chroma := chromatest.Start(t, chromatest.Options{})
	ctx := t.Context()
	u, err := url.Parse(chroma.URL)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(u)
	var failing atomic.Bool
	failing.Store(true)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() && strings.HasSuffix(r.URL.Path, "/upsert") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":"InternalError","message":"Error sending message to compactor"}`)
			return
		}
		forward.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	target := chromaapi.NewClient(proxy.URL)
	_, err = Copy(ctx, Options{Source: src, Target: target, Name: "docs", BatchSize: 20, SnapshotID: "s1"})
	if !errors.Is(err, ErrTargetFailing) {
		t.Fatalf("copy into a target failing its writes: %v; want ErrTargetFailing", err)
	}
	for _, want := range []string{"HTTP 500", "restart the target Chroma", "run the same command again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	failing.Store(false)
	if _, err := Copy(ctx, Options{Source: src, Target: target, Name: "docs", BatchSize: 20, SnapshotID: "s1"}); err != nil {
		t.Fatalf("re-run once the target takes writes: %v", err)
	}
	requireRestored(t, chroma.Client, "docs", want)
}
