package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

// drillRecord reads status/restore-test.json.
func drillRecord(t *testing.T, repo *Repository) *RestoreTestRecord {
	t.Helper()
	rec, _, err := repo.readRestoreTest(testContext(t))
	if err != nil || rec == nil {
		t.Fatalf("restore-test record: %+v, %v", rec, err)
	}
	return rec
}

func requireEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("%s still holds %v after the drill", dir, entries)
	}
}

// A drill against versitygw with a real Chroma passes and records the
// measured recovery time; a block tampered with in the gateway's data
// folder makes the next drill fail, with the last success kept.
func TestDrillWithChromaAndTamperedBlock(t *testing.T) {
	bin := chromatest.Binary(t)
	gw := versitygw.Start(t)
	ctx := testContext(t)
	b, err := storage.Open(ctx, gw.URLWithPrefix("drill"), storage.Options{AccessKeyID: gw.AccessKey, SecretAccessKey: gw.Secret})
	if err != nil {
		t.Fatal(err)
	}
	writer, reader := mustKeys(t)
	m := takeSnapshot(t, mustOpen(t, b, writer), chromatest.CopyDemo(t))
	repo := mustOpen(t, b, reader)
	scratch := t.TempDir()
	opts := DrillOptions{ScratchDir: scratch, ChromaCommand: bin, Instance: "test"}

	res, err := repo.Drill(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := chromatest.DemoExpected(t)
	nonEmpty := 0
	for _, c := range m.Chroma.Collections {
		if c.Records > 0 {
			nonEmpty++
		}
	}
	if !res.ChromaChecked || nonEmpty == 0 || res.Queries != nonEmpty || res.Restore <= 0 || res.ChromaReady <= 0 ||
		res.Recovery != res.Restore+res.ChromaReady || !res.Recorded || res.SnapshotID != m.ID {
		t.Fatalf("drill result %+v", res)
	}
	requireEmptyDir(t, scratch)
	passed := drillRecord(t, repo)
	if !passed.Success || passed.SnapshotID != m.ID || passed.Duration != res.Recovery || passed.Instance != "test" ||
		!passed.LastSuccess.Equal(passed.Finished) || passed.LastSuccessDuration != res.Recovery ||
		passed.Bytes != m.Stats.LogicalBytes || passed.Records != int64(want.Records) || !passed.ChromaChecked {
		t.Fatalf("record of a passing drill: %+v", passed)
	}

	// Alter a block object behind the gateway's back: one character of the
	// file key wrapped in its age header, so the repository's key no
	// longer opens it (a tampered block, never a wrong key).
	blocks := objectKeys(t, b, blocksPrefix)
	obj := filepath.Join(gw.DataDir, gw.Bucket, "drill", filepath.FromSlash(blocks[len(blocks)/2]))
	data, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(data), "\n", 4) // version, stanza, wrapped key, rest
	wrapped := []byte(lines[2])
	wrapped[3] = map[bool]byte{true: 'B', false: 'A'}[wrapped[3] == 'A']
	lines[2] = string(wrapped)
	if err := os.WriteFile(obj, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = repo.Drill(ctx, opts)
	if !errors.Is(err, ErrCorrupt) || res.ChromaChecked || !res.Recorded {
		t.Fatalf("drill of a tampered snapshot: %+v, %v", res, err)
	}
	requireEmptyDir(t, scratch)
	failed := drillRecord(t, repo)
	if failed.Success || failed.ErrorClass != ClassRepository || failed.Error != "" ||
		!failed.LastSuccess.Equal(passed.LastSuccess) || failed.LastSuccessSnapshotID != m.ID || failed.LastSuccessDuration != passed.Duration {
		t.Fatalf("record of a failed drill (encrypted: no message): %+v", failed)
	}
}

// A collection with distance ip whose embeddings differ in length drills
// with a real Chroma: a query with a record's own embedding returns the
// longer records first, as an exact search does, and that passes.
func TestDrillInnerProductCollection(t *testing.T) {
	bin := chromatest.Binary(t)
	ctx := testContext(t)
	persist := t.TempDir()
	srv := chromatest.Start(t, chromatest.Options{PersistDir: persist, Binary: bin})
	coll, err := srv.Client.CreateCollectionFrom(ctx, chromaapi.CollectionSpec{Name: "lengths", Configuration: json.RawMessage(`{"hnsw":{"space":"ip"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	const n, dim = 200, 8
	ids, embeddings := make([]string, n), make([][]float32, n)
	for i := range n {
		ids[i] = fmt.Sprintf("r%03d", i)
		v := make([]float32, dim)
		v[0] = 1 + 2*float32(i)/n // one direction, lengths 1 to 3
		v[1+i%(dim-1)] = 0.01
		embeddings[i] = v
	}
	if err := srv.Client.Add(ctx, coll.ID, ids, embeddings, nil, nil); err != nil {
		t.Fatal(err)
	}
	middle, err := srv.Client.Nearest(ctx, coll.ID, embeddings[n/2], 10)
	if err != nil || len(middle) == 0 || middle[0].ID == ids[n/2] {
		t.Fatalf("a query with the middle record's embedding answers %v, %v: want longer records first", middle, err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	b := newBucket(t)
	takeSnapshot(t, mustOpen(t, b, Keys{}), persist)
	res, err := mustOpen(t, b, Keys{}).Drill(ctx, DrillOptions{ScratchDir: t.TempDir(), ChromaCommand: bin})
	if err != nil || !res.ChromaChecked || res.Queries != 1 {
		t.Fatalf("drill of an ip collection: %+v, %v", res, err)
	}
}

// A scratch volume too small for the restore is refused before anything
// is restored, and the refusal is recorded.
func TestDrillRefusesSmallScratchVolume(t *testing.T) {
	b := newBucket(t)
	m := takeSnapshot(t, mustOpen(t, b, Keys{}), chromatest.CopyDemo(t))
	scratch := filepath.Join(t.TempDir(), "small")
	testutil.MountTmpfs(t, scratch, 4)
	repo := mustOpen(t, b, Keys{})
	_, err := repo.Drill(testContext(t), DrillOptions{ScratchDir: scratch})
	if !errors.Is(err, ErrScratchSpace) {
		t.Fatalf("drill into a 4 MiB tmpfs of a %d-byte snapshot: %v", m.Stats.LogicalBytes, err)
	}
	requireEmptyDir(t, scratch)
	rec := drillRecord(t, repo)
	if rec.Success || rec.ErrorClass != ClassScratch || rec.SnapshotID != m.ID || rec.Error == "" || !rec.LastSuccess.IsZero() {
		t.Fatalf("record of a refused drill: %+v", rec)
	}
}

// The space check compares the snapshot's size and margin with the free
// bytes, without root.
func TestDrillSpaceCheck(t *testing.T) {
	b := newBucket(t)
	m := takeSnapshot(t, mustOpen(t, b, Keys{}), chromatest.CopyDemo(t))
	repo := mustOpen(t, b, Keys{})
	need := m.Stats.LogicalBytes + drillMarginMin
	for _, tc := range []struct {
		free int64
		want error
	}{{need - 1, ErrScratchSpace}, {need, nil}} {
		space := func(string) (int64, int64, error) { return tc.free, 1 << 40, nil }
		_, err := repo.Drill(testContext(t), DrillOptions{ScratchDir: t.TempDir(), volumeSpace: space})
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Fatalf("%d bytes free for %d needed: %v, want %v", tc.free, need, err, tc.want)
		}
	}
}

// fakeQuery answers the call-th query (from 0) with result ids and
// distances.
type fakeQuery func(call int) ([]string, []float64)

// fakeStored are the stored embeddings of records the fake's queries
// return; any other record's is [0.5, 0.5].
var fakeStored = map[string][]float32{"r6": {3, 3}, "r7": {3, 3}, "r8": {2, 2}, "r9": {2, 2}}

// fakeChromaAPI answers count, get and query for one collection "c1"
// named "docs", of distance function space, the way the test says; the
// record at offset k is "r<k>"; anything else is a 404.
func fakeChromaAPI(t *testing.T, space string, count int, query fakeQuery) *chromaapi.Client {
	t.Helper()
	base := "/api/v2/tenants/default_tenant/databases/default_database"
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+base+"/collections_count", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, 1) })
	mux.HandleFunc("GET "+base+"/collections/docs", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"id":"c1","name":"docs","configuration_json":{"hnsw":{"space":%q}}}`, space)
	})
	mux.HandleFunc("GET "+base+"/collections/c1/count", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, count) })
	mux.HandleFunc("POST "+base+"/collections/c1/get", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			IDs    []string
			Offset int
		}
		json.NewDecoder(r.Body).Decode(&req)
		if req.IDs == nil {
			req.IDs = []string{fmt.Sprintf("r%d", req.Offset)}
		}
		embeddings := make([][]float32, len(req.IDs))
		for i, id := range req.IDs {
			embeddings[i] = []float32{0.5, 0.5}
			if e, ok := fakeStored[id]; ok {
				embeddings[i] = e
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"ids": req.IDs, "embeddings": embeddings})
	})
	var mu sync.Mutex
	calls := 0
	mux.HandleFunc("POST "+base+"/collections/c1/query", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		call := calls
		calls++
		mu.Unlock()
		ids, distances := query(call)
		json.NewEncoder(w).Encode(map[string]any{"ids": [][]string{ids}, "distances": [][]float64{distances}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return chromaapi.NewClient(srv.URL)
}

// The Chroma check fails on a count that differs from the manifest and on
// queries that do not find their record where an exact search ranks it; a
// tie at the nearest distance passes, and so, with ip, do records nearer by
// inner product ([0.5, 0.5] is at distance 1 - 0.5 from itself). When all
// results are nearer, a query limited to the record decides. Each probe
// reads another record (r<offset>), up to three.
func TestDrillChromaChecks(t *testing.T) {
	m := &Manifest{Chroma: ChromaFacts{Collections: []Collection{{ID: "c1", Name: "docs", Records: 4}}}}
	where := map[string]dbRef{"c1": {chromaapi.DefaultTenant, chromaapi.DefaultDatabase}}
	const missed = "no query with a stored embedding found its record"
	always := func(ids []string, d []float64) fakeQuery {
		return func(int) ([]string, []float64) { return ids, d }
	}
	// The k = 4 nearest by inner product with [0.5, 0.5], at distance
	// 1 - <q, x> of their stored vectors (fakeStored): all nearer than the
	// record's own 0.5.
	nearerIDs, nearerDistances := []string{"r6", "r7", "r8", "r9"}, []float64{-2, -2, -1, -1}
	for _, tc := range []struct {
		name  string
		space string
		count int
		query fakeQuery
		want  string
	}{
		{"passes", "l2", 4, always([]string{"r2", "r1"}, []float64{0, 0.3}), ""},
		{"tie at the nearest distance", "l2", 4, always([]string{"r9", "r2", "r1"}, []float64{0, 0, 0.3}), ""},
		{"count differs", "l2", 3, always([]string{"r2"}, []float64{0}), "3 records in Chroma, the manifest says 4"},
		{"another record first", "l2", 4, always([]string{"r8", "r2"}, []float64{0, 0.1}), missed},
		{"record missing", "cosine", 4, always([]string{"r8", "r9"}, []float64{0.2, 0.3}), missed},
		{"the third record found", "l2", 4, func(call int) ([]string, []float64) {
			if call < 2 {
				return []string{"r8", "r9"}, []float64{0.2, 0.3}
			}
			return []string{"r3", "r9"}, []float64{0, 0.3} // offset 3 of 4
		}, ""},
		{"ip: longer records first", "ip", 4, always([]string{"r9", "r2", "r1"}, []float64{-1, 0.5, 0.7}), ""},
		{"ip: farther record first", "ip", 4, always([]string{"r9", "r2"}, []float64{0.9, 0.5}), missed},
		{"all nearer, at their stored vectors' distances", "ip", 4, always(nearerIDs, nearerDistances), ""},
		{"all nearer, at distances their vectors do not give", "ip", 4, always(nearerIDs, []float64{-2, -2, -1, -1.5}), missed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &DrillResult{}
			err := checkCollections(testContext(t), fakeChromaAPI(t, tc.space, tc.count, tc.query), m, where, res)
			if tc.want == "" {
				if err != nil || res.Queries != 1 {
					t.Fatalf("%v, %d queries", err, res.Queries)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// A Chroma command that cannot run fails the drill as a Chroma failure,
// after a restore that passed, and leaves no scratch folder.
func TestDrillChromaCommandMissing(t *testing.T) {
	b := newBucket(t)
	takeSnapshot(t, mustOpen(t, b, Keys{}), chromatest.CopyDemo(t))
	repo := mustOpen(t, b, Keys{})
	scratch := t.TempDir()
	res, err := repo.Drill(testContext(t), DrillOptions{ScratchDir: scratch, ChromaCommand: filepath.Join(t.TempDir(), "no-chroma")})
	if !errors.Is(err, ErrChromaCheck) || res.Restore <= 0 || res.ChromaChecked {
		t.Fatalf("drill with a missing chroma: %+v, %v", res, err)
	}
	requireEmptyDir(t, scratch)
	if rec := drillRecord(t, repo); rec.ErrorClass != ClassChroma || !strings.Contains(rec.Error, "no-chroma") {
		t.Fatalf("record: %+v", rec)
	}
}

// A scratch directory that does not exist fails the drill in its class,
// and creates nothing.
func TestDrillMissingScratchDirectory(t *testing.T) {
	b := newBucket(t)
	takeSnapshot(t, mustOpen(t, b, Keys{}), chromatest.CopyDemo(t))
	repo := mustOpen(t, b, Keys{})
	missing := filepath.Join(t.TempDir(), "not-mounted")
	_, err := repo.Drill(testContext(t), DrillOptions{ScratchDir: missing})
	if !errors.Is(err, ErrScratchDir) || DrillErrorClass(err) != ClassScratch {
		t.Fatalf("drill into a missing folder: %v", err)
	}
	if _, serr := os.Stat(missing); !errors.Is(serr, os.ErrNotExist) {
		t.Fatalf("the drill created %s: %v", missing, serr)
	}
}
