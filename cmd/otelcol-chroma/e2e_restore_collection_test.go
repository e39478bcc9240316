package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

// liveCollection is a collection of the live Chroma and what it holds.
type liveCollection struct {
	name, config string
	id           string
	records      chromatest.RecordSet
}

// writeCollection creates a collection in the live Chroma and writes n
// hard records into it in batches.
func writeCollection(ctx context.Context, t *testing.T, c *chromaapi.Client, lc *liveCollection, seed uint64, n int) {
	t.Helper()
	if lc.id == "" {
		coll, err := c.CreateCollectionFrom(ctx, chromaapi.CollectionSpec{Name: lc.name, Metadata: json.RawMessage(`{"team":"search","v":2.0}`), Configuration: json.RawMessage(lc.config)})
		if err != nil {
			t.Fatal(err)
		}
		lc.id = coll.ID
	}
	recs := chromatest.HardRecords(rand.New(rand.NewPCG(seed, 1)), fmt.Sprintf("%s-%d", lc.name, seed), n, 16)
	for lo := 0; lo < n; lo += 200 {
		hi := min(lo+200, n)
		page := chromaapi.Batch{IDs: recs.IDs[lo:hi], Embeddings: recs.Embeddings[lo:hi], Documents: recs.Documents[lo:hi], Metadatas: recs.Metadatas[lo:hi], URIs: recs.URIs[lo:hi]}
		if err := c.UpsertBatch(ctx, lc.id, page); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if lc.records, err = chromatest.ReadRecords(ctx, c, lc.id); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreCollectionAfterDelete is the accidental-deletion drill: a
// live Chroma takes writes to three collections, a snapshot is taken into
// an encrypted S3 repository, one collection is deleted while the others
// keep taking writes, and restore-collection, killed after its first
// batches and run again, brings the deleted one back into the running
// server exactly, without touching the others.
func TestRestoreCollectionAfterDelete(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: the binary, two Chroma servers and an S3 server")
	}
	bin, chromaBin, gw := binary(t), chromatest.Binary(t), versitygw.Start(t)
	ctx := e2eContext(t)
	env := s3Env(t, gw)
	keys := t.TempDir()
	writer, reader := filepath.Join(keys, "writer.key"), filepath.Join(keys, "reader.key")
	requireCLI(t, bin, env, "snapshot", "keygen", "--writer-key", writer, "--reader-key", reader)
	live := chromatest.Start(t, chromatest.Options{Binary: chromaBin})
	c := live.Client
	victim := &liveCollection{name: "victim", config: `{"hnsw":{"space":"l2","ef_construction":150,"max_neighbors":20}}`}
	keepA := &liveCollection{name: "keep-a", config: `{"hnsw":{"space":"cosine"}}`}
	keepB := &liveCollection{name: "keep-b", config: `{"hnsw":{"space":"ip"}}`}
	writeCollection(ctx, t, c, victim, 1, 600)
	writeCollection(ctx, t, c, keepA, 2, 150)
	writeCollection(ctx, t, c, keepB, 3, 150)
	before, err := c.GetCollection(ctx, "victim")
	if err != nil {
		t.Fatal(err)
	}
	bucket := []string{"--bucket", gw.URLWithPrefix("collrestore")}
	id := cliSnapshotNow(t, bin, env, append(bucket, "--persist-directory", live.PersistDir, "--writer-key", writer)...)

	if err := c.DeleteCollection(ctx, "victim"); err != nil {
		t.Fatal(err)
	}
	writeCollection(ctx, t, c, keepA, 4, 50)
	writeCollection(ctx, t, c, keepB, 5, 50)

	listed := requireCLI(t, bin, env, append(bucket, "snapshot", "list", "--collections", "--reader-key", reader)...)
	if !strings.Contains(listed.stdout, "victim") || !strings.Contains(listed.stdout, before.ID) {
		t.Fatalf("list --collections does not show the victim collection and its id:\n%s", listed)
	}

	scratch := t.TempDir()
	args := func(into string) []string {
		return append(append([]string{}, bucket...), "snapshot", "restore-collection", id, "--collection", "victim", "--into", into,
			"--reader-key", reader, "--chroma-command", chromaBin, "--scratch-directory", scratch, "--batch-size", "50")
	}
	killAfterFirstBatch(ctx, t, bin, env, args(live.URL), c, "victim"+".restoring-")
	if _, err := c.GetCollection(ctx, "victim"); !chromaapi.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("the partly restored collection is visible under its name: %v", err)
	}
	testutil.Eventually(t, 30*time.Second, "the killed restore's Chroma to exit", func() bool { return len(processesUsing(t, scratch)) == 0 })
	live = restartIfRefusingWrites(ctx, t, live, chromaBin)
	c = live.Client

	res := requireCLI(t, bin, env, args(live.URL)...)
	if !strings.Contains(res.stdout, "continued an interrupted restore") || !strings.Contains(res.stdout, "bit-exact") {
		t.Fatalf("re-run after the kill:\n%s", res)
	}
	requireCollectionRestored(ctx, t, c, victim, before)
	for _, lc := range []*liveCollection{keepA, keepB} {
		got, err := chromatest.ReadRecords(ctx, c, lc.id)
		if err != nil {
			t.Fatal(err)
		}
		if d := lc.records.Diff(got); d != "" {
			t.Fatalf("collection %s lost writes made after the snapshot:\n%s", lc.name, d)
		}
	}
	if err := c.DeleteCollection(ctx, "write-probe"); err != nil && !chromaapi.IsStatus(err, http.StatusNotFound) {
		t.Fatal(err)
	}
	if n, _ := c.CountCollections(ctx); n != 3 {
		t.Fatalf("%d collections after the restore, want 3", n)
	}
	t.Run("bad input", func(t *testing.T) {
		restoreCollectionBadInput(ctx, t, bin, env, append(bucket, "snapshot", "restore-collection", id, "--reader-key", reader, "--chroma-command", chromaBin), live)
	})
}

// requireCollectionRestored compares the restored collection with what
// the live one held at the snapshot: every record bit for bit, metadata,
// configuration, and nearest-neighbour queries.
func requireCollectionRestored(ctx context.Context, t *testing.T, c *chromaapi.Client, want *liveCollection, before chromaapi.Collection) {
	t.Helper()
	got, err := c.GetCollection(ctx, want.name)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := chromatest.ReadRecords(ctx, c, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := want.records.Diff(recs); d != "" {
		t.Fatalf("restored collection %s:\n%s", want.name, d)
	}
	if string(canonical(t, got.ConfigurationJSON)) != string(canonical(t, before.ConfigurationJSON)) || string(canonical(t, got.Metadata)) != string(canonical(t, before.Metadata)) {
		t.Fatalf("restored collection: configuration %s metadata %s, before the delete %s %s", got.ConfigurationJSON, got.Metadata, before.ConfigurationJSON, before.Metadata)
	}
	for _, off := range []int{0, 299, 599} {
		rec, ok, err := c.RecordAt(ctx, got.ID, off)
		if err != nil || !ok {
			t.Fatalf("record %d: %v %v", off, ok, err)
		}
		nb, err := c.Nearest(ctx, got.ID, rec.Embedding, 5)
		if err != nil || !chromaapi.FirstAmong(nb, rec.ID) {
			t.Fatalf("query with the embedding of %s: %v, %v", rec.ID, nb, err)
		}
	}
}

// restartIfRefusingWrites restarts the live Chroma when it no longer takes
// writes: Chroma 1.0's single-node server stops taking them after a client
// was killed with a write in flight (README, accidental deletion).
func restartIfRefusingWrites(ctx context.Context, t *testing.T, live *chromatest.Server, chromaBin string) *chromatest.Server {
	t.Helper()
	probe, err := live.Client.GetOrCreateCollection(ctx, "write-probe")
	if err == nil {
		if err = live.Client.Add(ctx, probe, []string{"p"}, [][]float32{{1}}, nil, nil); err == nil {
			return live
		}
	}
	t.Logf("the live Chroma refuses writes after the kill (%v): restarting it", err)
	if err := live.Stop(); err != nil {
		t.Fatal(err)
	}
	return chromatest.Start(t, chromatest.Options{Binary: chromaBin, PersistDir: live.PersistDir})
}

func canonical(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	out, _ := json.Marshal(v)
	return out
}

// killAfterFirstBatch runs the command and SIGKILLs it once the temporary
// collection named prefix* holds records.
func killAfterFirstBatch(ctx context.Context, t *testing.T, bin string, env, args []string, c *chromaapi.Client, prefix string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			t.Fatalf("restore-collection ended (%v) before it was killed:\n%s", err, out.String())
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			t.Fatalf("restore-collection wrote nothing in time:\n%s", out.String())
		case <-tick.C:
		}
		if tempHoldsRecords(ctx, c, prefix) {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ws.Signaled() {
				t.Fatalf("restore-collection finished before the kill landed:\n%s", out.String())
			}
			return
		}
	}
}

func tempHoldsRecords(ctx context.Context, c *chromaapi.Client, prefix string) bool {
	colls, err := c.ListCollections(ctx)
	if err != nil {
		return false
	}
	for _, coll := range colls {
		if strings.HasPrefix(coll.Name, prefix) {
			n, err := c.Count(ctx, coll.ID)
			return err == nil && n > 0
		}
	}
	return false
}

// processesUsing lists the pids whose command line mentions dir.
func processesUsing(t *testing.T, dir string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), dir) {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	return pids
}

// restoreCollectionBadInput: each wrong input fails with its exit code and
// a message that says what to do, and writes nothing into the target.
func restoreCollectionBadInput(ctx context.Context, t *testing.T, bin string, env, base []string, live *chromatest.Server) {
	run := func(extra ...string) cliResult {
		return runCLI(t, bin, env, append(append([]string{}, base...), extra...)...)
	}
	requireFailure(t, run("--collection", "nope", "--into", live.URL), exitUsage, `no collection "nope"`, "victim (600 records)", "keep-a")
	requireFailure(t, run("--collection", "victim", "--into", live.URL), exitFailed, "already exists", "--as", "--mode upsert")
	requireFailure(t, run("--collection", "victim", "--into", "http://127.0.0.1:1"), exitFailed, "unreachable", "--into")
	requireFailure(t, run("--collection", "victim", "--into", "http://user:pw@127.0.0.1:1"), exitUsage, "--token-file")
	requireFailure(t, run("--collection", "victim", "--into", live.URL, "--as", "x", "--collection", "keep-a"), exitUsage, "--as")
	noChroma := filepath.Join(t.TempDir(), "no-chroma")
	requireFailure(t, run("--collection", "victim", "--as", "victim-x", "--into", live.URL, "--chroma-command", noChroma), exitUsage, "--chroma-command", noChroma, "nothing was done")

	const secret = "tok-7f3a9c1e5b"
	proxy := chromatest.TokenProxy(t, live.URL, "X-Chroma-Token", secret)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("wrong-"+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := run("--collection", "victim", "--as", "victim-copy", "--into", proxy, "--token-file", tokenFile, "--token-header", "x-chroma-token", "-v")
	requireFailure(t, res, exitFailed, "refused the credentials", "--token-file")
	if strings.Contains(res.stdout+res.stderr, secret) {
		t.Fatalf("the token was printed:\n%s", res)
	}
	envTok := append(append([]string{}, env...), "CHROMA_CLIENT_AUTH_CREDENTIALS="+secret, "CHROMA_AUTH_TOKEN_TRANSPORT_HEADER=X-Chroma-Token")
	res = requireCLI(t, bin, envTok, append(append([]string{}, base...), "--collection", "victim", "--as", "victim-copy", "--into", proxy, "-v")...)
	if strings.Contains(res.stdout+res.stderr, secret) || !strings.Contains(res.stdout, `as "victim-copy"`) {
		t.Fatalf("restore through the token proxy:\n%s", res)
	}

	other := t.TempDir()
	requireCLI(t, bin, env, "snapshot", "keygen", "--writer-key", filepath.Join(other, "w"), "--reader-key", filepath.Join(other, "r"))
	withKey := append(append([]string{}, base...), "--collection", "keep-b", "--as", "keep-b-copy", "--into", live.URL, "--reader-key", filepath.Join(other, "r"))
	requireFailure(t, runCLI(t, bin, env, withKey...), exitFailed, "key")

	dimx, err := live.Client.CreateCollection(ctx, "dimx")
	if err != nil {
		t.Fatal(err)
	}
	if err := live.Client.Add(ctx, dimx, []string{"x"}, [][]float32{{1, 2, 3}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	requireFailure(t, run("--collection", "keep-b", "--as", "dimx", "--mode", "upsert", "--into", live.URL), exitFailed, "dimension 3", "--as")
	if n, _ := live.Client.Count(ctx, dimx); n != 1 {
		t.Fatalf("the refused upsert wrote into dimx: %d records", n)
	}
}
