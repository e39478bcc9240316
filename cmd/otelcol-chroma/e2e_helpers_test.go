package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

// cliTimeout bounds one run of the binary. Every command the tests run
// finishes far sooner; the bound only turns a hang into a failure.
const cliTimeout = 3 * time.Minute

// e2eContext returns a context that ends shortly before the test's deadline.
func e2eContext(t *testing.T) context.Context {
	t.Helper()
	deadline, ok := t.Deadline()
	if !ok {
		deadline = time.Now().Add(15 * time.Minute)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(-15*time.Second))
	t.Cleanup(cancel)
	return ctx
}

// cliEnv is the environment of the binary under test: the test's own,
// without AWS settings from the machine, plus extra ("KEY=value").
func cliEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_") })
	env = append(env,
		"AWS_CONFIG_FILE="+none,
		"AWS_SHARED_CREDENTIALS_FILE="+none,
		"AWS_EC2_METADATA_DISABLED=true",
	)
	return append(env, extra...)
}

// s3Env is cliEnv with credentials for the gateway.
func s3Env(t *testing.T, gw *versitygw.Server) []string {
	return cliEnv(t, "AWS_ACCESS_KEY_ID="+gw.AccessKey, "AWS_SECRET_ACCESS_KEY="+gw.Secret)
}

// cliResult is what one run of the binary printed and how it exited.
type cliResult struct {
	args   []string
	stdout string
	stderr string
	code   int
}

func (r cliResult) String() string {
	return fmt.Sprintf("otelcol-chroma %s\nexit code %d\n--- stdout ---\n%s--- stderr ---\n%s",
		strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// runCLI runs the binary with env and args to completion.
func runCLI(t *testing.T, bin string, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("did not finish within %s:\n%s", cliTimeout, res)
	case errors.As(err, &exitErr):
		res.code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v", bin, err)
	}
	return res
}

// requireCLI runs the binary and fails the test unless it exits 0.
func requireCLI(t *testing.T, bin string, env []string, args ...string) cliResult {
	t.Helper()
	res := runCLI(t, bin, env, args...)
	if res.code != 0 {
		t.Fatalf("command failed:\n%s", res)
	}
	return res
}

// requireFailure checks that a run exited with code and that its stderr
// holds every one of wants (case-insensitive).
func requireFailure(t *testing.T, res cliResult, code int, wants ...string) {
	t.Helper()
	if res.code != code {
		t.Fatalf("want exit code %d:\n%s", code, res)
	}
	for _, w := range wants {
		if !strings.Contains(strings.ToLower(res.stderr), strings.ToLower(w)) {
			t.Errorf("stderr does not mention %q:\n%s", w, res)
		}
	}
}

var snapshotIDLine = regexp.MustCompile(`(?m)^snapshot (\d{8}T\d{6}Z-[0-9a-f]{8}): `)

// cliSnapshotNow runs `snapshot now` with args and returns the new snapshot's id.
func cliSnapshotNow(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	res := requireCLI(t, bin, env, append([]string{"snapshot", "now"}, args...)...)
	m := snapshotIDLine.FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("no snapshot id in the output:\n%s", res)
	}
	return m[1]
}

// cliList runs `snapshot list --json` with args.
func cliList(t *testing.T, bin string, env []string, args ...string) []listEntry {
	t.Helper()
	res := requireCLI(t, bin, env, append([]string{"snapshot", "list", "--json"}, args...)...)
	var entries []listEntry
	if err := json.Unmarshal([]byte(res.stdout), &entries); err != nil {
		t.Fatalf("decode list --json: %v\n%s", err, res)
	}
	return entries
}

// cliListDamaged runs `snapshot list --json` with args on a bucket that
// holds damaged snapshots: it must exit 1 and still print the list.
func cliListDamaged(t *testing.T, bin string, env []string, args ...string) []listEntry {
	t.Helper()
	res := runCLI(t, bin, env, append([]string{"snapshot", "list", "--json"}, args...)...)
	requireFailure(t, res, exitFailed, "DAMAGED")
	var entries []listEntry
	if err := json.Unmarshal([]byte(res.stdout), &entries); err != nil {
		t.Fatalf("decode list --json: %v\n%s", err, res)
	}
	return entries
}

// engineRepo opens a repository with the engine, for reading manifests.
func engineRepo(ctx context.Context, t *testing.T, url string, opts storage.Options, keys snapshot.Keys) *snapshot.Repository {
	t.Helper()
	b, err := storage.Open(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := snapshot.Open(ctx, b, keys)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func engineManifest(ctx context.Context, t *testing.T, repo *snapshot.Repository, id string) *snapshot.Manifest {
	t.Helper()
	m, err := repo.Manifest(ctx, id)
	if err != nil {
		t.Fatalf("read manifest %s: %v", id, err)
	}
	return m
}

// plainBlockKey is the object key of a block in an unencrypted repository
// (FORMAT.md "Blocks").
func plainBlockKey(h snapshot.Hash) string {
	s := h.String()
	return "blocks/" + s[:2] + "/" + s
}

// manifestObjectKey is the object key of a snapshot's manifest.
func manifestObjectKey(id string) string { return "snapshots/" + id + ".manifest" }

// objectPath is where a file bucket rooted at root keeps key.
func objectPath(root, key string) string { return filepath.Join(root, filepath.FromSlash(key)) }

// flipByte inverts the bits of the byte at offset (from the end when negative).
func flipByte(t *testing.T, path string, offset int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if offset < 0 {
		offset += int64(len(data))
	}
	if offset < 0 || offset >= int64(len(data)) {
		t.Fatalf("flip byte %d of %s: the file has %d bytes", offset, path, len(data))
	}
	data[offset] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// truncateToHalf cuts a file to half its size.
func truncateToHalf(t *testing.T, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()/2); err != nil {
		t.Fatal(err)
	}
}

// fileBucketTempPrefix names the file backend's temporary objects, which are
// not part of the bucket's content.
const fileBucketTempPrefix = ".storage-tmp-"

// blockObjects returns the block objects of a file bucket: object name to size.
func blockObjects(t *testing.T, root string) map[string]int64 {
	t.Helper()
	objs := make(map[string]int64)
	dirs, err := os.ReadDir(filepath.Join(root, "blocks"))
	if errors.Is(err, fs.ErrNotExist) {
		return objs
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(root, "blocks", d.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), fileBucketTempPrefix) {
				continue
			}
			info, err := e.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // replaced between the listing and the stat
				}
				t.Fatal(err)
			}
			objs[e.Name()] = info.Size()
		}
	}
	return objs
}

// strayTempObjects counts the file backend's temporary files under root.
func strayTempObjects(t *testing.T, root string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), fileBucketTempPrefix) {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// requireNoRestoreLeftovers checks that a failed restore left neither the
// target nor a temporary folder beside it.
func requireNoRestoreLeftovers(t *testing.T, target string) {
	t.Helper()
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed restore left %s behind (stat: %v)", target, err)
	}
	entries, err := os.ReadDir(filepath.Dir(target))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "."+filepath.Base(target)) {
			t.Errorf("a failed restore left %s beside its target", filepath.Join(filepath.Dir(target), e.Name()))
		}
	}
}

// treeDigest maps every regular file below dir to its SHA-256.
func treeDigest(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// chromaLogProblem matches what a Chroma server prints when something goes
// wrong: Rust panics, error-level log lines, failed segment loads.
var chromaLogProblem = regexp.MustCompile(`(?i)(panick|\berror\b|failed|corrupt|hnsw)`)

// chromaLogProblems returns the log lines that report a problem.
func chromaLogProblems(log string) []string {
	var bad []string
	for line := range strings.Lines(log) {
		if chromaLogProblem.MatchString(line) {
			bad = append(bad, strings.TrimSpace(line))
		}
	}
	return bad
}

// checkRestoredInChroma starts a real Chroma on a restored persist directory,
// checks it against the snapshot's manifest (see chromaProblems) and reports
// each problem with t.Errorf, prefixed with what.
func checkRestoredInChroma(ctx context.Context, t *testing.T, chromaBin, dir, what string, m *snapshot.Manifest) {
	t.Helper()
	for _, p := range chromaProblems(ctx, t, chromaBin, dir, m) {
		t.Errorf("%s: %s", what, p)
	}
}

// chromaProblems starts a real Chroma on a persist directory and returns
// how it disagrees with the manifest: collections and record counts, records
// that are not readable with their embeddings, queries that fail or return
// ids the metadata does not know, and problems in the server's log.
//
// Chroma 1.x at its default log level prints nothing when an HNSW index is
// damaged: the requests fail ("Error finding id", "Failed to apply logs to
// the hnsw segment writer"). So the queries and reads carry the check; the
// log is checked for panics and error lines too.
func chromaProblems(ctx context.Context, t *testing.T, chromaBin, dir string, m *snapshot.Manifest) (problems []string) {
	t.Helper()
	srv := chromatest.Start(t, chromatest.Options{PersistDir: dir, Binary: chromaBin})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	defer func() {
		if err := srv.Stop(); err != nil {
			report("stop chroma: %v", err)
		}
		// The persist path is in the log and may hold any word.
		if bad := chromaLogProblems(strings.ReplaceAll(srv.Logs(), srv.PersistDir, "<persist>")); len(bad) > 0 {
			report("the Chroma log reports problems:\n%s", strings.Join(bad, "\n"))
		}
	}()
	c := srv.Client

	colls, err := c.ListCollections(ctx)
	if err != nil {
		report("list collections: %v", err)
		return problems
	}
	want := make(map[string]snapshot.Collection)
	for _, mc := range m.Chroma.Collections {
		want[mc.ID] = mc
	}
	if len(colls) != len(want) {
		report("Chroma lists %d collections, the manifest %d", len(colls), len(want))
	}
	rng := rand.New(rand.NewPCG(uint64(len(m.Files)), 11))
	for _, coll := range colls {
		mc, ok := want[coll.ID]
		if !ok {
			report("Chroma lists collection %s (%s), the manifest does not", coll.Name, coll.ID)
			continue
		}
		if coll.Name != mc.Name {
			report("collection %s is named %q in Chroma, %q in the manifest", coll.ID, coll.Name, mc.Name)
		}
		n, err := c.Count(ctx, coll.ID)
		if err != nil {
			report("count %s: %v", coll.Name, err)
			continue
		}
		if int64(n) != mc.Records {
			report("collection %s: Chroma counts %d records, the manifest %d", coll.Name, n, mc.Records)
		}
		if n == 0 {
			continue
		}
		recs, err := c.Get(ctx, coll.ID, nil)
		if err != nil {
			report("get the records of %s: %v", coll.Name, err)
			continue
		}
		if len(recs) != n {
			report("collection %s: get returns %d records, count says %d", coll.Name, len(recs), n)
		}
		ids := make(map[string]bool, len(recs))
		for _, r := range recs {
			ids[r.ID] = true
			if len(r.Embedding) == 0 {
				report("record %s of %s has no embedding", r.ID, coll.Name)
				break
			}
		}
		// The vector index must answer, with records the metadata knows:
		// a vector without its record (HNSW ahead of SQLite) or a missing
		// or damaged index shows up here.
		for range 3 {
			q := chromatest.RandomEmbedding(rng, len(recs[0].Embedding))
			got, err := c.Query(ctx, coll.ID, q, min(n, 10))
			if err != nil {
				report("query %s: %v", coll.Name, err)
				break
			}
			if len(got) != min(n, 10) {
				report("query %s returned %d ids, want %d", coll.Name, len(got), min(n, 10))
			}
			for _, id := range got {
				if !ids[id] {
					report("query %s returned %s, which get does not return", coll.Name, id)
				}
			}
		}
	}
	return problems
}

// lineWriter hands every complete line written to it to a callback, and
// keeps everything written.
type lineWriter struct {
	onLine  func(string)
	partial []byte
	all     syncBuffer
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.all.Write(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		if w.onLine != nil {
			w.onLine(line)
		}
	}
	return len(p), nil
}

// chromaUnderLoad is a real Chroma server on a fresh persist directory with
// a load writer adding, upserting and deleting records in it.
type chromaUnderLoad struct {
	persist string
	srv     *chromatest.Server
	load    *chromatest.LoadWriter
	cancel  context.CancelFunc
	ended   chan struct{} // closed when the writer's Run returns
	err     error         // what Run returned, once ended is closed
}

// startChromaUnderLoad starts the server and the writer; the test's cleanup
// stops both.
func startChromaUnderLoad(ctx context.Context, t *testing.T, chromaBin string, opts chromatest.LoadOptions) *chromaUnderLoad {
	t.Helper()
	c := &chromaUnderLoad{persist: filepath.Join(t.TempDir(), "persist"), ended: make(chan struct{})}
	c.srv = chromatest.Start(t, chromatest.Options{PersistDir: c.persist, Binary: chromaBin})
	c.load = chromatest.NewLoadWriter(c.srv.Client, opts)
	loadCtx, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	go func() {
		c.err = c.load.Run(loadCtx)
		close(c.ended)
	}()
	t.Cleanup(func() { _ = c.stopLoad() })
	return c
}

// stopLoad stops the writer and returns what its Run returned.
func (c *chromaUnderLoad) stopLoad() error {
	c.cancel()
	<-c.ended
	return c.err
}
