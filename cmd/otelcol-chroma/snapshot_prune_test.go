package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

// TestSnapshotCLIPrune: prune frees what forget left unreferenced, keeps
// young blocks under the grace period, and the kept snapshot reads back.
func TestSnapshotCLIPrune(t *testing.T) {
	persist := chromatest.CopyDemo(t)
	pad := newSegmentPadding(t, persist, 2<<20, 2<<20)
	bucket := "file://" + t.TempDir()
	flags := []string{"--bucket", bucket, "--persist-directory", persist}
	pad.fill(t, 1)
	mustCLI(t, append([]string{"now", "--time", "2026-03-01T10:00:00Z"}, flags...)...)
	pad.fill(t, 2)
	mustCLI(t, append([]string{"now", "--time", "2026-03-01T11:00:00Z"}, flags...)...)
	mustCLI(t, append([]string{"forget", "--keep-last", "1"}, flags...)...)

	var rep pruneReport
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, append([]string{"prune", "--json"}, flags...)...)), &rep))
	assert.Equal(t, 6, rep.BlocksUnused, "the first snapshot's padding: 2 MiB after each segment file's end, over 3 blocks each")
	assert.Equal(t, 6, rep.BlocksYoung)
	assert.Zero(t, rep.BlocksDeleted)

	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, append([]string{"prune", "--dry-run", "--grace-period", "0", "--json"}, flags...)...)), &rep))
	assert.True(t, rep.DryRun)
	assert.Equal(t, 6, rep.BlocksDeleted)

	out := mustCLI(t, append([]string{"prune", "--grace-period", "0"}, flags...)...)
	assert.Contains(t, out, "1 snapshots reference")
	assert.Contains(t, out, "deleted 6 blocks (4.0 MiB)")
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, append([]string{"prune", "--grace-period", "0", "--json"}, flags...)...)), &rep))
	assert.Zero(t, rep.BlocksUnused)
	assert.Contains(t, mustCLI(t, append([]string{"verify", "--read-data"}, flags...)...), "OK")
}

// holdingProxy forwards requests to target, except that requests of method
// on block objects wait: hit is closed when the first arrives, and every
// held request fails once release is closed.
func holdingProxy(t *testing.T, target, method string) (endpoint string, hit <-chan struct{}, release func()) {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(u)
	hitCh, released := make(chan struct{}), make(chan struct{})
	var once, relOnce sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == method && strings.Contains(r.URL.Path, "/blocks/") {
			once.Do(func() { close(hitCh) })
			<-released
			http.Error(w, "held", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	release = func() { relOnce.Do(func() { close(released) }) }
	t.Cleanup(func() { release(); srv.Close() })
	return srv.URL, hitCh, release
}

// TestPruneSIGKILLLeavesStaleLock: a prune killed while deleting leaves its
// exclusive lock; the next prune takes it over (logged) and finishes, and
// every listed snapshot still reads back.
func TestPruneSIGKILLLeavesStaleLock(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test against an S3 server")
	}
	bin := binary(t)
	ctx := e2eContext(t)
	gw := versitygw.Start(t)
	env := s3Env(t, gw)
	persist := chromatest.CopyDemo(t)
	pad := newSegmentPadding(t, persist, 2<<20, 2<<20)
	flags := []string{"--bucket", gw.URLWithPrefix("p"), "--persist-directory", persist}
	for i, tm := range []string{"2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"} {
		pad.fill(t, uint64(i))
		cliSnapshotNow(t, bin, env, append([]string{"--time", tm}, flags...)...)
	}
	requireCLI(t, bin, env, append([]string{"snapshot", "forget", "--keep-last", "1"}, flags...)...)

	endpoint, hit, release := holdingProxy(t, gw.Endpoint, http.MethodDelete)
	held := []string{"--bucket", s3URL(gw.Bucket, "p", endpoint), "--persist-directory", persist}
	cmd := exec.CommandContext(ctx, bin, append([]string{"snapshot", "prune", "--grace-period", "0"}, held...)...)
	cmd.Env = env
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-hit:
	case err := <-exited:
		t.Fatalf("prune ended before deleting a block: %v\n%s", err, out.String())
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	<-exited
	release()
	locks, err := os.ReadDir(filepath.Join(gw.DataDir, gw.Bucket, "p", "locks"))
	require.NoError(t, err)
	require.Len(t, locks, 1, "the killed prune's lock")

	res := requireCLI(t, bin, env, append([]string{"snapshot", "prune", "--grace-period", "0", "--json"}, flags...)...)
	assert.Contains(t, res.stderr, "removed a stale lock")
	assert.Contains(t, res.stderr, fmt.Sprintf("process %d on this machine is gone", cmd.Process.Pid))
	var rep pruneReport
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &rep))
	assert.Equal(t, 6, rep.BlocksDeleted)
	locks, err = os.ReadDir(filepath.Join(gw.DataDir, gw.Bucket, "p", "locks"))
	if err == nil {
		assert.Empty(t, locks)
	}
	for _, e := range cliList(t, bin, env, flags...) {
		requireCLI(t, bin, env, append([]string{"snapshot", "verify", e.ID, "--read-data"}, flags...)...)
	}
}

// TestPruneRacesSnapshots: forget and prune (CLI processes) run back to
// back while snapshots are taken by another CLI process and in-process,
// their content alternating so that snapshots find blocks a forget has
// just left unreferenced and reuse them. Each snapshot is checked after a
// whole prune that started after it: no listed snapshot may miss a block.
func TestPruneRacesSnapshots(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test against an S3 server")
	}
	bin := binary(t)
	ctx := e2eContext(t)
	gw := versitygw.Start(t)
	env := s3Env(t, gw)
	url := gw.URLWithPrefix("race")
	repo := engineRepo(ctx, t, url, storage.Options{AccessKeyID: gw.AccessKey, SecretAccessKey: gw.Secret}, snapshot.Keys{})
	const rounds = 6
	// prunes counts finished forgets and prunes: odd while a prune runs.
	var prunes atomic.Int64
	// afterNextPrune waits until a prune that started after now has
	// finished (or the pruning stopped).
	afterNextPrune := func(stopped <-chan struct{}) {
		n := prunes.Load()
		want := n + 2 + n%2
		for prunes.Load() < want {
			select {
			case <-stopped:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	// t.Fatal may not be called off the test's goroutine.
	runOK := func(args ...string) (cliResult, bool) {
		res := runCLI(t, bin, env, args...)
		if res.code != 0 {
			t.Errorf("command failed:\n%s", res)
		}
		return res, res.code == 0
	}
	pruneStopped := make(chan struct{})
	var snapshots sync.WaitGroup
	loop := func(instance string, take func(persist string) (string, bool)) {
		persist := chromatest.CopyDemo(t)
		pad := newSegmentPadding(t, persist, 8<<20, 8<<20)
		snapshots.Add(1)
		go func() {
			defer snapshots.Done()
			for i := 0; i < rounds && !t.Failed(); i++ {
				pad.fill(t, uint64(i%2))
				id, ok := take(persist)
				if !ok {
					return
				}
				afterNextPrune(pruneStopped)
				runOK("snapshot", "verify", id, "--bucket", url)
			}
		}()
	}
	loop("cli", func(persist string) (string, bool) {
		res, ok := runOK("snapshot", "now", "--bucket", url, "--persist-directory", persist, "--instance", "cli")
		m := snapshotIDLine.FindStringSubmatch(res.stdout)
		if !ok || m == nil {
			t.Errorf("no snapshot id in the output:\n%s", res)
			return "", false
		}
		return m[1], true
	})
	engineSnapshot := func(persist string) (string, bool) {
		m, err := repo.Snapshot(ctx, snapshot.SnapshotOptions{PersistDir: persist, Instance: "engine", ScratchDir: t.TempDir()})
		if err != nil {
			t.Errorf("in-process snapshot: %v", err)
			return "", false
		}
		return m.ID, true
	}
	if _, ok := engineSnapshot(chromatest.CopyDemo(t)); !ok {
		t.FailNow()
	}
	loop("engine", engineSnapshot)
	done := make(chan struct{})
	go func() { snapshots.Wait(); close(done) }()
	for running := true; running && !t.Failed(); {
		select {
		case <-done:
			running = false
		default:
		}
		runOK("snapshot", "forget", "--keep-last", "1", "--scope", "per_instance", "--bucket", url)
		prunes.Add(1)
		runOK("snapshot", "prune", "--grace-period", "0", "--bucket", url)
		prunes.Add(1)
	}
	close(pruneStopped)
	<-done
	t.Logf("%d forget+prune runs during %d snapshots", prunes.Load()/2, 2*rounds)
	for _, e := range cliList(t, bin, env, "--bucket", url) {
		requireCLI(t, bin, env, "snapshot", "verify", e.ID, "--read-data", "--bucket", url)
	}
}

// TestSnapshotCLIRetentionWriterKey: the pod that takes encrypted snapshots
// forgets and prunes with its writer key alone; the reader key then reads
// every byte of what is left.
func TestSnapshotCLIRetentionWriterKey(t *testing.T) {
	dir := t.TempDir()
	persist := chromatest.CopyDemo(t)
	pad := newSegmentPadding(t, persist, 1<<20, 1<<20)
	bucket := "file://" + t.TempDir()
	writer, reader := filepath.Join(dir, "writer.key"), filepath.Join(dir, "reader.key")
	mustCLI(t, "keygen", "--writer-key", writer, "--reader-key", reader)
	flags := []string{"--bucket", bucket, "--persist-directory", persist, "--writer-key", writer, "--instance", "pod-0"}
	for i, tm := range []string{"2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"} {
		pad.fill(t, uint64(i))
		mustCLI(t, append([]string{"now", "--time", tm}, flags...)...)
	}
	var rep forgetReport
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, append([]string{"forget", "--keep-last", "1", "--json"}, flags...)...)), &rep))
	require.Len(t, rep.Removed, 1)
	var pr pruneReport
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, append([]string{"prune", "--grace-period", "0", "--json"}, flags...)...)), &pr))
	assert.Equal(t, 4, pr.BlocksDeleted, "the forgotten snapshot's padding")
	assert.Contains(t, mustCLI(t, "verify", "--read-data", "--bucket", bucket, "--reader-key", reader), "OK")
}
