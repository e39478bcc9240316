package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

// TestSnapshotConsistencyUnderLoad takes snapshots of a real Chroma while it
// adds, upserts and deletes records in three collections, crossing its
// 1000-record HNSW persist threshold many times, into a real S3 store and a
// folder. Every snapshot must restore into a directory a real Chroma opens
// with exactly the manifest's collections and record counts, with every
// record readable and its vector index answering queries.
func TestSnapshotConsistencyUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: drives a real Chroma and takes and restores 20+ snapshots")
	}
	bin := binary(t)
	chromaBin := chromatest.Binary(t)
	gw := versitygw.Start(t)
	ctx := e2eContext(t)
	env := cliEnv(t)

	chroma := startChromaUnderLoad(ctx, t, chromaBin, chromatest.LoadOptions{Collections: 3, BatchSize: 50, MaxOps: 1_000_000, Seed: 7})
	persist, srv, load := chroma.persist, chroma.srv, chroma.load

	// The S3 repository is configured the way the collector is (a config
	// file with credentials); the folder through flags.
	s3Prefix := "under-load"
	cfgPath := filepath.Join(t.TempDir(), "collector.yaml")
	cfg := fmt.Sprintf("extensions:\n  snapshot:\n    persist_directory: %q\n    instance: e2e-under-load\n    bucket:\n      url: %q\n      access_key_id: %q\n      secret_access_key: %q\n",
		persist, gw.URLWithPrefix(s3Prefix), gw.AccessKey, gw.Secret)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	fileBucket := "file://" + t.TempDir()
	repos := []struct {
		name  string
		flags []string
		repo  *snapshot.Repository
	}{
		{name: "s3", flags: []string{"--config", cfgPath}},
		{name: "file", flags: []string{"--bucket", fileBucket, "--persist-directory", persist}},
	}

	type taken struct {
		repo int
		id   string
	}
	var snaps []taken
	const minSnapshots, maxSnapshots, opsBetween = 20, 24, 15
	// Enough record writes for every collection to cross the persist
	// threshold several times.
	const minRecordWrites = 3 * 3 * 1000
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for len(snaps) < maxSnapshots {
		st := load.Stats()
		if len(snaps) >= minSnapshots && st.Added+st.Upserted >= minRecordWrites {
			break
		}
		for want := st.Ops + opsBetween; load.Stats().Ops < want; {
			select {
			case <-chroma.ended:
				t.Fatalf("the load writer stopped early: %v", chroma.err)
			case <-ctx.Done():
				t.Fatalf("timed out waiting for the load writer (stats %+v)", load.Stats())
			case <-tick.C:
			}
		}
		r := len(snaps) % len(repos)
		id := cliSnapshotNow(t, bin, env, append([]string{"--instance", repos[r].name}, repos[r].flags...)...)
		snaps = append(snaps, taken{repo: r, id: id})
	}
	if err := chroma.stopLoad(); err != nil {
		t.Fatalf("load writer: %v", err)
	}
	st := load.Stats()
	t.Logf("%d snapshots taken while the writer sent %d requests (%d records added, %d upserted, %d deleted)",
		len(snaps), st.Ops, st.Added, st.Upserted, st.Deleted)
	if st.Added+st.Upserted < minRecordWrites {
		t.Errorf("the writer wrote only %d records: not enough to cross the HNSW persist threshold several times", st.Added+st.Upserted)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}

	repos[0].repo = engineRepo(ctx, t, gw.URLWithPrefix(s3Prefix), storage.Options{AccessKeyID: gw.AccessKey, SecretAccessKey: gw.Secret}, snapshot.Keys{})
	repos[1].repo = engineRepo(ctx, t, fileBucket, storage.Options{}, snapshot.Keys{})
	for r, repo := range repos {
		listed := make(map[string]listEntry)
		for _, e := range cliList(t, bin, env, repo.flags...) {
			listed[e.ID] = e
		}
		for _, s := range snaps {
			if s.repo != r {
				continue
			}
			e, ok := listed[s.id]
			switch {
			case !ok:
				t.Errorf("%s: snapshot %s is not listed", repo.name, s.id)
			case e.Error != "" || e.Records == nil:
				t.Errorf("%s: snapshot %s is listed as damaged: %+v", repo.name, s.id, e)
			}
			delete(listed, s.id)
		}
		for id := range listed {
			t.Errorf("%s: snapshot %s is listed but was never taken", repo.name, id)
		}
	}

	// seqIDs collects, per vector segment, the positions the snapshots
	// captured: several distinct ones prove the snapshots straddled persists.
	seqIDs := make(map[string]map[uint64]bool)
	for i, s := range snaps {
		repo := repos[s.repo]
		what := fmt.Sprintf("snapshot %d/%d (%s, %s)", i+1, len(snaps), repo.name, s.id)
		m := engineManifest(ctx, t, repo.repo, s.id)
		if m.Instance != repo.name {
			t.Errorf("%s: manifest instance %q, want %q", what, m.Instance, repo.name)
		}
		for _, seg := range m.Chroma.Segments {
			if seg.Scope == "VECTOR" {
				if seqIDs[seg.ID] == nil {
					seqIDs[seg.ID] = make(map[uint64]bool)
				}
				seqIDs[seg.ID][seg.MaxSeqID] = true
			}
		}
		target := filepath.Join(t.TempDir(), "restored")
		requireCLI(t, bin, env, append([]string{"snapshot", "restore", s.id, "--to", target}, repo.flags...)...)
		checkRestoredInChroma(ctx, t, chromaBin, target, what, m)
		t.Logf("%s: %d collections, %d records, writer stall %s, capture retries %d, file re-reads %d: restored and checked",
			what, len(m.Chroma.Collections), m.Records(), m.Timings.WriterStall, m.Stats.CaptureRetries, m.Stats.FileRereads)
		if err := os.RemoveAll(target); err != nil {
			t.Fatal(err)
		}
	}
	if len(seqIDs) != 3 {
		t.Errorf("the snapshots hold %d vector segments, want 3", len(seqIDs))
	}
	for seg, seen := range seqIDs {
		if len(seen) < 3 {
			t.Errorf("vector segment %s has only %d distinct max_seq_ids across the snapshots: they did not straddle its persists", seg, len(seen))
		}
	}
}

// TestSnapshotSurvivesSIGKILL kills `snapshot now` with SIGKILL at more
// than 20 points: at each phase it reports, after N new block objects, at
// byte offsets of the upload, and just before the manifest. After every kill
// the bucket must list only snapshots that verify byte for byte, and the
// next snapshot must succeed; at the end the newest restores to the source.
// fileCacheName is the name of the snapshot's file cache in its scratch
// folder (internal/snapshot/filecache.go), which stays there on purpose.
var fileCacheName = regexp.MustCompile(`^otelcol-chroma-files-[0-9a-f]{16}\.json$`)

// scratchLeftovers names what the scratch folder holds besides the file
// cache.
func scratchLeftovers(t *testing.T, scratch string) []string {
	t.Helper()
	var names []string
	for _, e := range mustReadDir(t, scratch) {
		if !fileCacheName.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestSnapshotSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: kills and reruns snapshots of ~55 MiB")
	}
	bin := binary(t)
	chromaBin := chromatest.Binary(t)
	ctx := e2eContext(t)
	env := cliEnv(t)

	src := chromatest.CopyDemo(t)
	const padBig, padSmall = 40 << 20, 8 << 20
	pad := newSegmentPadding(t, src, padSmall, padBig)
	bucket := t.TempDir()
	scratch := t.TempDir()
	flags := []string{"--bucket", "file://" + bucket, "--persist-directory", src, "--scratch-directory", scratch}
	repo := func() *snapshot.Repository {
		return engineRepo(ctx, t, "file://"+bucket, storage.Options{}, snapshot.Keys{})
	}

	readVerified := make(map[string]bool)
	// checkBucket: every listed snapshot is intact; the new ones are read
	// back byte for byte. It returns the listed ids.
	checkBucket := func(when string) []string {
		t.Helper()
		var ids []string
		r := repo()
		for _, e := range cliList(t, bin, env, flags...) {
			ids = append(ids, e.ID)
			if e.Error != "" {
				t.Fatalf("%s: snapshot %s lists as damaged: %s", when, e.ID, e.Error)
			}
			if !readVerified[e.ID] {
				requireCLI(t, bin, env, append([]string{"snapshot", "verify", e.ID, "--read-data"}, flags...)...)
				readVerified[e.ID] = true
			} else if _, err := r.Verify(ctx, e.ID, snapshot.VerifyOptions{}); err != nil {
				t.Fatalf("%s: snapshot %s no longer verifies: %v", when, e.ID, err)
			}
		}
		return ids
	}

	pad.fill(t, 0)
	cliSnapshotNow(t, bin, env, flags...)
	checkBucket("after the first snapshot")

	var points []killPoint
	for _, ph := range []snapshot.Phase{
		snapshot.PhaseInspect, snapshot.PhaseSegments, snapshot.PhaseSegments, snapshot.PhaseSQLite,
		snapshot.PhaseUpload, snapshot.PhaseUpload, snapshot.PhaseManifest, snapshot.PhaseManifest,
		snapshot.PhaseManifest, snapshot.PhaseManifest,
	} {
		points = append(points, killPoint{phase: ph})
	}
	for _, n := range []int{1, 2, 3, 5, 8, 13, 21, 34} {
		points = append(points, killPoint{objects: n})
	}
	rng := rand.New(rand.NewPCG(2026, 3))
	for range 4 {
		points = append(points, killPoint{bytes: 1 + rng.Int64N(padBig)})
	}

	var outcomes []killOutcome
	for i, p := range points {
		when := fmt.Sprintf("kill %d (%s)", i+1, p)
		pad.fill(t, uint64(i+1))
		listedBefore := checkBucket(when + ", before")
		before := blockObjects(t, bucket)
		args := append([]string{"snapshot", "now", "--concurrency", strconv.Itoa(1 + i%4)}, flags...)
		o := runAndKill(ctx, t, bin, env, args, bucket, before, p)
		if !o.killed && o.exitCode != 0 {
			t.Fatalf("%s: the run failed on its own (exit code %d):\n%s", when, o.exitCode, o.output)
		}

		listed := checkBucket(when + ", after")
		o.newManifest = len(listed) > len(listedBefore)
		switch {
		case len(listed) > len(listedBefore)+1:
			t.Fatalf("%s: one run added %d snapshots", when, len(listed)-len(listedBefore))
		case !o.killed && !o.newManifest:
			t.Fatalf("%s: the run succeeded but no new snapshot is listed:\n%s", when, o.output)
		case o.newManifest && !slices.Contains(o.phases, string(snapshot.PhaseManifest)):
			t.Fatalf("%s: a snapshot appeared although the run never reached the manifest phase (phases %v)", when, o.phases)
		}
		outcomes = append(outcomes, o)
		t.Logf("%s: %s; phase at kill %q; %d new block objects; scratch entries %d",
			when, o.landed(), o.phaseAtKill, o.newObjects, len(mustReadDir(t, scratch)))
		if p.phase == snapshot.PhaseSQLite {
			// As if killed after removing its scratch folder, before its lock file.
			removeFoldersKeepLocks(t, scratch)
		}

		// The next run must succeed over whatever the kill left, and
		// remove it: the killed run's folder and lock file. The file cache
		// (what the next snapshot need not read) stays.
		cliSnapshotNow(t, bin, env, flags...)
		if left := scratchLeftovers(t, scratch); len(left) > 0 {
			t.Fatalf("%s: after the next run the scratch folder still holds %s", when, left[0])
		}
	}
	listed := checkBucket("at the end")

	// Every snapshot, read back byte for byte once more.
	for _, id := range listed {
		requireCLI(t, bin, env, append([]string{"snapshot", "verify", id, "--read-data"}, flags...)...)
	}
	target := filepath.Join(t.TempDir(), "restored")
	res := requireCLI(t, bin, env, append([]string{"snapshot", "restore", "latest", "--to", target}, flags...)...)
	if !strings.Contains(res.stdout, listed[0]) {
		t.Errorf("restore latest did not restore the newest snapshot %s:\n%s", listed[0], res)
	}
	if got, want := treeDigest(t, target), treeDigest(t, src); !maps.Equal(got, want) {
		t.Errorf("the restored files differ from the source:\n got %v\nwant %v", got, want)
	}
	m := engineManifest(ctx, t, repo(), listed[0])
	demo := chromatest.DemoExpected(t)
	for _, c := range m.Chroma.Collections {
		if int(c.Records) != demo.PerCollection[c.Name] {
			t.Errorf("collection %s: %d records in the newest manifest, the source has %d", c.Name, c.Records, demo.PerCollection[c.Name])
		}
	}
	checkRestoredInChroma(ctx, t, chromaBin, target, "newest snapshot after the kills", m)

	// A killed restore leaves either no target or a complete one, and the
	// next restore into the same place succeeds and removes the killed
	// run's temporary folder and lock file.
	for i, ph := range []snapshot.Phase{snapshot.PhaseRestore, snapshot.PhaseRestore, snapshot.PhaseCheck, snapshot.PhaseSwap} {
		target := filepath.Join(t.TempDir(), "restored")
		args := append([]string{"snapshot", "restore", "latest", "--to", target}, flags...)
		o := runAndKill(ctx, t, bin, env, args, bucket, blockObjects(t, bucket), killPoint{phase: ph})
		if i == 1 {
			// As if killed after moving its folder into place, before
			// removing its lock file.
			removeFoldersKeepLocks(t, filepath.Dir(target))
		}
		_, err := os.Stat(target)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			t.Fatal(err)
		case o.killed:
			t.Logf("restore killed at phase %s had already moved the restored folder into place", ph)
		}
		left := len(mustReadDir(t, filepath.Dir(target)))
		requireCLI(t, bin, env, append(args, "--force")...)
		if got, want := treeDigest(t, target), treeDigest(t, src); !maps.Equal(got, want) {
			t.Errorf("restore after a restore killed at phase %s: the files differ from the source", ph)
		}
		for _, e := range mustReadDir(t, filepath.Dir(target)) {
			if e.Name() != filepath.Base(target) {
				t.Errorf("restore killed at phase %s: after the next restore, %s is still beside the target", ph, e.Name())
			}
		}
		t.Logf("restore killed at phase %s (killed: %v, phases %v); entries beside the target after the kill: %d",
			ph, o.killed, o.phases, left)
	}

	landed := make(map[string]int)
	atPhase := make(map[string]int)
	killed := 0
	for _, o := range outcomes {
		landed[o.landed()]++
		if o.killed {
			killed++
			atPhase[o.phaseAtKill]++
		}
	}
	t.Logf("%d runs, %d killed; where the kills landed: %v; last phase reported at the kill: %v; %d snapshots listed; %d stray temporary objects in the bucket; %d entries left in the scratch folder",
		len(outcomes), killed, landed, atPhase, len(listed), strayTempObjects(t, bucket), len(scratchLeftovers(t, scratch)))
	if killed < 20 {
		t.Errorf("only %d runs were killed, want at least 20", killed)
	}
	if landed["mid-upload (blocks, no manifest)"] == 0 {
		t.Errorf("no kill landed mid-upload")
	}
	if atPhase[string(snapshot.PhaseManifest)] == 0 {
		t.Errorf("no kill landed in the manifest phase")
	}

	// A killed run cannot remove its scratch copy of chroma.sqlite3; a
	// later run must, or every kill leaks a full copy of the database.
	t.Run("no scratch copies left behind", func(t *testing.T) {
		if names := scratchLeftovers(t, scratch); len(names) > 0 {
			t.Errorf("%d killed runs left %d temporary folders in the scratch folder %s (%s), and the %d successful runs after them did not remove any: "+
				"each holds a copy of chroma.sqlite3, so every kill leaks one more copy of the database into a folder sized for one",
				killed, len(names), scratch, strings.Join(names[:min(3, len(names))], ", ")+", ...", len(outcomes))
		}
	})
}

// killPoint says when TestSnapshotSurvivesSIGKILL kills `snapshot now`.
type killPoint struct {
	phase   snapshot.Phase // as soon as stderr reports this phase
	objects int            // once this many new block objects are stored
	bytes   int64          // once new block objects hold this many bytes
}

func (p killPoint) String() string {
	switch {
	case p.phase != "":
		return "at phase " + string(p.phase)
	case p.objects > 0:
		return fmt.Sprintf("after %d new block objects", p.objects)
	default:
		return fmt.Sprintf("after %d new block bytes", p.bytes)
	}
}

// killOutcome is what one killed run did.
type killOutcome struct {
	point       killPoint
	killed      bool   // the process died of the SIGKILL
	exitCode    int    // when it was not killed
	phaseAtKill string // the last phase it had reported when the kill was sent
	phases      []string
	newObjects  int
	newManifest bool
	output      string
}

// landed classifies where the kill hit, from what the bucket holds.
func (o killOutcome) landed() string {
	switch {
	case !o.killed:
		return "finished before the kill"
	case o.newManifest:
		return "after the manifest was written"
	case o.newObjects > 0:
		return "mid-upload (blocks, no manifest)"
	default:
		return "before any block was stored"
	}
}

var phaseLine = regexp.MustCompile(`\bphase=(\S+)`)

// runAndKill runs the binary and sends it SIGKILL at point p. bucket is the
// file bucket's folder and before its block objects at the start.
func runAndKill(ctx context.Context, t *testing.T, bin string, env, args []string, bucket string, before map[string]int64, p killPoint) killOutcome {
	t.Helper()
	o := killOutcome{point: p}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stdout syncBuffer
	cmd.Stdout = &stdout

	var mu sync.Mutex
	killSent := false
	kill := func() { // with mu held
		if killSent {
			return
		}
		killSent = true
		if len(o.phases) > 0 {
			o.phaseAtKill = o.phases[len(o.phases)-1]
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
	}
	stderr := &lineWriter{onLine: func(line string) {
		m := phaseLine.FindStringSubmatch(line)
		if m == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if n := len(o.phases); n == 0 || o.phases[n-1] != m[1] {
			o.phases = append(o.phases, m[1])
		}
		if p.phase != "" && m[1] == string(p.phase) {
			kill()
		}
	}}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("snapshot now (%s) did not end in time:\n%s", p, stderr.all.String())
		case <-tick.C:
			if p.objects == 0 && p.bytes == 0 {
				continue
			}
			n, size := newBlockObjects(t, bucket, before)
			mu.Lock()
			if (p.objects > 0 && n >= p.objects) || (p.bytes > 0 && size >= p.bytes) {
				kill()
			}
			mu.Unlock()
		}
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	o.killed = ws.Signaled() && ws.Signal() == syscall.SIGKILL
	o.exitCode = cmd.ProcessState.ExitCode()
	o.newObjects, _ = newBlockObjects(t, bucket, before)
	o.output = stdout.String() + stderr.all.String()
	return o
}

// newBlockObjects counts the block objects of a file bucket that are not in
// before, and their bytes.
func newBlockObjects(t *testing.T, bucket string, before map[string]int64) (n int, size int64) {
	for name, sz := range blockObjects(t, bucket) {
		if _, ok := before[name]; !ok {
			n++
			size += sz
		}
	}
	return n, size
}

// segmentPadding grows every HNSW data_level0.bin of a persist directory
// with extra bytes past what Chroma reads, and rewrites them on demand, so
// that each snapshot has tens of MiB of new blocks to upload. Chroma opens
// the directory as before.
type segmentPadding struct {
	files []string
	start []int64
	sizes []int64
}

func newSegmentPadding(t *testing.T, persist string, sizes ...int64) *segmentPadding {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(persist, "*", "data_level0.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(sizes) {
		t.Fatalf("%s has %d segment folders, want %d", persist, len(files), len(sizes))
	}
	sort.Strings(files)
	p := &segmentPadding{files: files, sizes: sizes}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		p.start = append(p.start, st.Size())
	}
	return p
}

// fill writes fresh pseudo-random padding derived from seed.
func (p *segmentPadding) fill(t *testing.T, seed uint64) {
	t.Helper()
	for i, path := range p.files {
		var key [32]byte
		keyGen := rand.New(rand.NewPCG(seed, uint64(i)))
		for j := range key {
			key[j] = byte(keyGen.Uint32())
		}
		data := make([]byte, p.sizes[i])
		_, _ = rand.NewChaCha8(key).Read(data)
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(data, p.start[i]); err != nil {
			f.Close()
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// removeFoldersKeepLocks removes the folders in dir but not the files: the
// state of a run killed between removing its temporary folder and its lock
// file.
func removeFoldersKeepLocks(t *testing.T, dir string) {
	t.Helper()
	for _, e := range mustReadDir(t, dir) {
		if !e.IsDir() {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

func mustReadDir(t *testing.T, dir string) []os.DirEntry {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// TestSnapshotCorruptionAndBadInput damages a bucket and feeds the CLI bad
// input. Every case must fail with the right exit code and a message that
// names what is wrong, and leave nothing half-written that looks complete.
func TestSnapshotCorruptionAndBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the binary many times")
	}
	bin := binary(t)
	ctx := e2eContext(t)
	env := cliEnv(t)
	demo := chromatest.CopyDemo(t)

	// One good repository; each case damages its own copy.
	golden := t.TempDir()
	id := cliSnapshotNow(t, bin, env, "--bucket", "file://"+golden, "--persist-directory", demo)
	m := engineManifest(ctx, t, engineRepo(ctx, t, "file://"+golden, storage.Options{}, snapshot.Keys{}), id)
	var dbFile snapshot.File
	for _, f := range m.Files {
		if f.Path == "chroma.sqlite3" {
			dbFile = f
		}
	}
	if len(dbFile.Blocks) < 2 {
		t.Fatalf("the demo's chroma.sqlite3 has %d blocks; the cases need at least 2", len(dbFile.Blocks))
	}
	// A block in the middle of the database: restore must fail on it even
	// after other blocks were written.
	victim := plainBlockKey(dbFile.Blocks[len(dbFile.Blocks)/2])

	copyBucket := func(t *testing.T) (root string, flags []string) {
		t.Helper()
		root = filepath.Join(t.TempDir(), "bucket")
		if err := chromatest.CopyDir(golden, root); err != nil {
			t.Fatal(err)
		}
		return root, []string{"--bucket", "file://" + root}
	}
	restoreTarget := func(t *testing.T) string {
		return filepath.Join(t.TempDir(), "restored")
	}

	t.Run("flipped byte in a block", func(t *testing.T) {
		root, flags := copyBucket(t)
		flipByte(t, objectPath(root, victim), -100)

		res := runCLI(t, bin, env, append([]string{"snapshot", "verify", id, "--read-data"}, flags...)...)
		requireFailure(t, res, exitFailed, victim)
		target := restoreTarget(t)
		res = runCLI(t, bin, env, append([]string{"snapshot", "restore", id, "--to", target}, flags...)...)
		requireFailure(t, res, exitFailed, victim)
		requireNoRestoreLeftovers(t, target)
	})

	t.Run("truncated block", func(t *testing.T) {
		root, flags := copyBucket(t)
		truncateToHalf(t, objectPath(root, victim))

		res := runCLI(t, bin, env, append([]string{"snapshot", "verify", id, "--read-data"}, flags...)...)
		requireFailure(t, res, exitFailed, victim)
		target := restoreTarget(t)
		res = runCLI(t, bin, env, append([]string{"snapshot", "restore", id, "--to", target}, flags...)...)
		requireFailure(t, res, exitFailed, victim)
		requireNoRestoreLeftovers(t, target)
	})

	t.Run("missing block", func(t *testing.T) {
		root, flags := copyBucket(t)
		if err := os.Remove(objectPath(root, victim)); err != nil {
			t.Fatal(err)
		}
		// Without --read-data verify only lists the blocks; that is enough.
		res := runCLI(t, bin, env, append([]string{"snapshot", "verify", id}, flags...)...)
		requireFailure(t, res, exitFailed, victim, "does not exist")
		target := restoreTarget(t)
		res = runCLI(t, bin, env, append([]string{"snapshot", "restore", id, "--to", target}, flags...)...)
		requireFailure(t, res, exitFailed, victim)
		requireNoRestoreLeftovers(t, target)
	})

	t.Run("flipped byte in a manifest", func(t *testing.T) {
		root, flags := copyBucket(t)
		key := manifestObjectKey(id)
		flipByte(t, objectPath(root, key), -10)

		entries := cliListDamaged(t, bin, env, flags...)
		if len(entries) != 1 || entries[0].ID != id {
			t.Fatalf("list shows %+v, want only %s", entries, id)
		}
		if e := entries[0]; !e.Damaged || !strings.Contains(e.Error, key) || e.Records != nil {
			t.Errorf("list --json shows the damaged snapshot without an error naming %s: %+v", key, e)
		}
		res := runCLI(t, bin, env, append([]string{"snapshot", "list"}, flags...)...)
		requireFailure(t, res, exitFailed, "1 of 1 snapshots are DAMAGED")
		if !strings.Contains(res.stdout, "DAMAGED") {
			t.Errorf("list does not mark the snapshot as damaged:\n%s", res)
		}
		res = runCLI(t, bin, env, append([]string{"snapshot", "verify", id}, flags...)...)
		requireFailure(t, res, exitFailed, key)
		target := restoreTarget(t)
		res = runCLI(t, bin, env, append([]string{"snapshot", "restore", "latest", "--to", target}, flags...)...)
		requireFailure(t, res, exitFailed, key)
		requireNoRestoreLeftovers(t, target)
	})

	t.Run("encrypted repository keys", func(t *testing.T) {
		dir := t.TempDir()
		writer, reader := filepath.Join(dir, "writer.key"), filepath.Join(dir, "reader.key")
		otherWriter, otherReader := filepath.Join(dir, "other-writer.key"), filepath.Join(dir, "other-reader.key")
		requireCLI(t, bin, env, "snapshot", "keygen", "--writer-key", writer, "--reader-key", reader)
		requireCLI(t, bin, env, "snapshot", "keygen", "--writer-key", otherWriter, "--reader-key", otherReader)
		res := runCLI(t, bin, env, "snapshot", "keygen", "--writer-key", writer, "--reader-key", filepath.Join(dir, "new.key"))
		requireFailure(t, res, exitFailed, "exists")
		same := filepath.Join(dir, "both.key")
		res = runCLI(t, bin, env, "snapshot", "keygen", "--writer-key", same, "--reader-key", same)
		requireFailure(t, res, exitUsage, "two different files")
		requireMissing(t, same)

		bucket := []string{"--bucket", "file://" + t.TempDir()}
		encID := cliSnapshotNow(t, bin, env, append([]string{"--persist-directory", demo, "--writer-key", writer}, bucket...)...)

		cases := []struct {
			name  string
			flags []string
			want  []string
		}{
			{"no key", nil, []string{"encrypted", "reader key"}},
			{"wrong reader key", []string{"--reader-key", otherReader}, []string{"does not match", otherReader}},
			{"writer key as reader key", []string{"--reader-key", writer}, []string{"writer key", "reader key"}},
			{"writer key only", []string{"--writer-key", writer}, []string{"needs the reader key", writer}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				target := restoreTarget(t)
				args := append([]string{"snapshot", "restore", encID, "--to", target}, bucket...)
				res := runCLI(t, bin, env, append(args, c.flags...)...)
				requireFailure(t, res, exitFailed, c.want...)
				requireNoRestoreLeftovers(t, target)
			})
		}
		t.Run("snapshot without the writer key", func(t *testing.T) {
			res := runCLI(t, bin, env, append([]string{"snapshot", "now", "--persist-directory", demo}, bucket...)...)
			requireFailure(t, res, exitFailed, "encrypted", "writer key")
			res = runCLI(t, bin, env, append([]string{"snapshot", "now", "--persist-directory", demo, "--writer-key", otherWriter}, bucket...)...)
			requireFailure(t, res, exitFailed, otherWriter)
			if n := len(cliList(t, bin, env, bucket...)); n != 1 {
				t.Errorf("refused snapshots changed the bucket: %d snapshots listed, want 1", n)
			}
		})
		t.Run("right reader key", func(t *testing.T) {
			target := restoreTarget(t)
			requireCLI(t, bin, env, append([]string{"snapshot", "verify", encID, "--read-data", "--reader-key", reader}, bucket...)...)
			requireCLI(t, bin, env, append([]string{"snapshot", "restore", encID, "--to", target, "--reader-key", reader}, bucket...)...)
			if got, want := treeDigest(t, target), treeDigest(t, demo); !maps.Equal(got, want) {
				t.Errorf("restored files differ from the source:\n got %v\nwant %v", got, want)
			}
		})
	})

	t.Run("unreachable bucket", func(t *testing.T) {
		gw := versitygw.Start(t)
		gwEnv := s3Env(t, gw)
		flags := []string{"--bucket", gw.URLWithPrefix("gone")}
		cliSnapshotNow(t, bin, gwEnv, append([]string{"--persist-directory", demo}, flags...)...)
		gw.Stop()

		for _, args := range [][]string{
			{"snapshot", "list"},
			{"snapshot", "now", "--persist-directory", demo},
		} {
			res := runCLI(t, bin, gwEnv, append(args, flags...)...)
			if res.code != exitFailed {
				t.Errorf("want exit code %d:\n%s", exitFailed, res)
				continue
			}
			if !mentionsUnreachable(res.stderr) {
				t.Errorf("the message does not say that the bucket cannot be reached:\n%s", res)
			}
		}
	})

	t.Run("wrong credentials", func(t *testing.T) {
		gw := versitygw.Start(t)
		cliSnapshotNow(t, bin, s3Env(t, gw), "--persist-directory", demo, "--bucket", gw.URLWithPrefix("creds"))
		proxy, requests := countingProxy(t, gw.Endpoint)
		flags := []string{"--bucket", s3URL(gw.Bucket, "creds", proxy)}
		badEnv := cliEnv(t, "AWS_ACCESS_KEY_ID="+gw.AccessKey, "AWS_SECRET_ACCESS_KEY=not-"+gw.Secret)

		for _, args := range [][]string{
			{"snapshot", "list"},
			{"snapshot", "now", "--persist-directory", demo},
		} {
			before := requests.Load()
			res := runCLI(t, bin, badEnv, append(args, flags...)...)
			requireFailure(t, res, exitFailed)
			low := strings.ToLower(res.stderr)
			if !strings.Contains(low, "access denied") && !strings.Contains(low, "credentials") {
				t.Errorf("the message mentions neither access denied nor credentials:\n%s", res)
			}
			// A refused signature is not retried: one request, maybe a
			// second from a probe, not a retry loop.
			if n := requests.Load() - before; n > 2 {
				t.Errorf("%d requests reached the store for one refused command; it should give up at once:\n%s", n, res)
			}
		}
	})

	t.Run("not a Chroma persist directory", func(t *testing.T) {
		junk := t.TempDir()
		if err := os.WriteFile(filepath.Join(junk, "chroma.sqlite3"), []byte("these are not the pages you are looking for\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		otherDB := t.TempDir()
		db, err := sql.Open("sqlite3", filepath.Join(otherDB, "chroma.sqlite3"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('hello')`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		notADir := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(notADir, nil, 0o644); err != nil {
			t.Fatal(err)
		}

		cases := []struct {
			name, dir string
			want      []string
		}{
			{"empty folder", t.TempDir(), []string{"not a Chroma persist directory", "chroma.sqlite3"}},
			{"not a database", junk, []string{"not a Chroma persist directory", "not a SQLite database"}},
			{"another SQLite database", otherDB, []string{"not a Chroma persist directory", "collections"}},
			{"a file", notADir, []string{"not a Chroma persist directory", "not a directory"}},
			{"missing folder", filepath.Join(t.TempDir(), "missing"), []string{"does not exist"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				root := t.TempDir()
				res := runCLI(t, bin, env, "snapshot", "now", "--persist-directory", c.dir, "--bucket", "file://"+root)
				requireFailure(t, res, exitFailed, append(c.want, c.dir)...)
				if entries, err := os.ReadDir(filepath.Join(root, "snapshots")); err == nil && len(entries) > 0 {
					t.Errorf("a refused snapshot wrote %d objects under snapshots/", len(entries))
				}
			})
		}
	})

	t.Run("restore target without space", func(t *testing.T) {
		mnt := t.TempDir()
		if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=2m"); err != nil {
			if errors.Is(err, syscall.EPERM) {
				t.Skipf("mounting a 2 MiB tmpfs is not permitted here (%v): cannot fill a restore target", err)
			}
			t.Fatalf("mount tmpfs on %s: %v", mnt, err)
		}
		t.Cleanup(func() {
			if err := syscall.Unmount(mnt, 0); err != nil {
				t.Errorf("unmount %s: %v", mnt, err)
			}
		})
		if m.Stats.LogicalBytes <= 2<<20 {
			t.Fatalf("the snapshot holds %d bytes; it must not fit in 2 MiB", m.Stats.LogicalBytes)
		}
		target := filepath.Join(mnt, "restored")
		res := runCLI(t, bin, env, "snapshot", "restore", id, "--to", target, "--bucket", "file://"+golden)
		requireFailure(t, res, exitFailed, "not enough space", target, "bytes free")
		requireNoRestoreLeftovers(t, target)
		if entries, err := os.ReadDir(mnt); err != nil || len(entries) > 0 {
			t.Errorf("the full file system still holds %d entries after the failed restore (%v)", len(entries), err)
		}
	})

	t.Run("restore into a non-empty folder", func(t *testing.T) {
		target := restoreTarget(t)
		if err := os.MkdirAll(target, 0o755); err != nil {
			t.Fatal(err)
		}
		keep := filepath.Join(target, "keep.txt")
		if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
		res := runCLI(t, bin, env, "snapshot", "restore", id, "--to", target, "--bucket", "file://"+golden)
		requireFailure(t, res, exitFailed, "not empty", "--force", "stop Chroma first")
		if n := strings.Count(res.stderr, "new or empty folder"); n != 1 {
			t.Errorf("the advice is given %d times, want once:\n%s", n, res)
		}
		if data, err := os.ReadFile(keep); err != nil || string(data) != "mine" {
			t.Errorf("a refused restore changed the target: %q, %v", data, err)
		}
	})

	// The check every restored snapshot goes through must catch a damaged
	// vector index, although Chroma logs nothing about it.
	t.Run("the Chroma check catches a damaged index", func(t *testing.T) {
		chromaBin := chromatest.Binary(t)
		target := restoreTarget(t)
		requireCLI(t, bin, env, "snapshot", "restore", id, "--to", target, "--bucket", "file://"+golden)
		if problems := chromaProblems(ctx, t, chromaBin, target, m); len(problems) > 0 {
			t.Fatalf("an intact restore fails the check:\n%s", strings.Join(problems, "\n"))
		}
		// The segment with persisted metadata holds the demo's largest index.
		pickles, err := filepath.Glob(filepath.Join(target, "*", "index_metadata.pickle"))
		if err != nil || len(pickles) == 0 {
			t.Fatalf("no persisted HNSW segment in %s (%v)", target, err)
		}
		if err := os.Truncate(filepath.Join(filepath.Dir(pickles[0]), "data_level0.bin"), 1000); err != nil {
			t.Fatal(err)
		}
		problems := chromaProblems(ctx, t, chromaBin, target, m)
		if len(problems) == 0 {
			t.Fatalf("a truncated data_level0.bin passes the check")
		}
		t.Logf("a truncated data_level0.bin is caught: %s", problems[0])
	})

	t.Run("usage errors", func(t *testing.T) {
		bucket := "file://" + golden
		cases := []struct {
			name string
			args []string
			want string
		}{
			{"no bucket", []string{"snapshot", "list"}, "--bucket"},
			{"no bucket for now", []string{"snapshot", "now", "--persist-directory", demo}, "--bucket"},
			{"restore without --to", []string{"snapshot", "restore", id, "--bucket", bucket}, "--to"},
			{"unknown flag", []string{"snapshot", "list", "--bucket", bucket, "--no-such-flag"}, "no-such-flag"},
			{"now without a persist directory", []string{"snapshot", "now", "--bucket", bucket}, "persist"},
			{"two snapshot ids", []string{"snapshot", "verify", id, id, "--bucket", bucket}, "one snapshot id"},
			{"no subcommand", []string{"snapshot"}, "subcommand"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				requireFailure(t, runCLI(t, bin, env, c.args...), exitUsage, c.want)
			})
		}
	})
}

// mentionsUnreachable reports whether an error message tells the operator
// that the bucket could not be reached.
func mentionsUnreachable(msg string) bool {
	low := strings.ToLower(msg)
	for _, s := range []string{"unreachable", "cannot reach", "can't reach", "could not reach"} {
		if strings.Contains(low, s) {
			return true
		}
	}
	return false
}

// countingProxy forwards HTTP requests to target and counts them.
func countingProxy(t *testing.T, target string) (endpoint string, requests *atomic.Int64) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	requests = new(atomic.Int64)
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, requests
}

// s3URL is a bucket URL for an S3-compatible store at endpoint.
func s3URL(bucket, prefix, endpoint string) string {
	q := url.Values{}
	q.Set("endpoint", endpoint)
	q.Set("region", versitygw.Region)
	q.Set("path_style", "true")
	return (&url.URL{Scheme: "s3", Host: bucket, Path: "/" + prefix, RawQuery: q.Encode()}).String()
}
