//go:build linux

package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/file"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

// mountedTarget mounts a tmpfs at parent/data, with the lost+found folder a
// formatted volume has, and returns its path.
func mountedTarget(t *testing.T) (parent, target string) {
	t.Helper()
	parent = t.TempDir()
	target = filepath.Join(parent, "data")
	testutil.MountTmpfs(t, target, 64)
	if err := os.Mkdir(filepath.Join(target, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	return parent, target
}

// requireMountedTree checks that target is still a mount point, holds the
// files of want and, beside lost+found and the names in extra, nothing else.
func requireMountedTree(t *testing.T, want, target string, extra ...string) {
	t.Helper()
	var st, parent syscall.Stat_t
	if err := syscall.Stat(target, &st); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(filepath.Dir(target), &parent); err != nil {
		t.Fatal(err)
	}
	if st.Dev == parent.Dev {
		t.Fatalf("%s is no longer the mounted file system", target)
	}
	requireSameTree(t, want, target)
	wantNames := append([]string{"lost+found"}, extra...)
	for _, e := range mustEntries(t, want) {
		wantNames = append(wantNames, e)
	}
	if got := mustEntries(t, target); !sameSet(got, wantNames) {
		t.Fatalf("%s holds %v, want %v", target, got, wantNames)
	}
}

func mustEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// A Kubernetes volume mounted at the target cannot be renamed: the restore
// stages inside it, swaps its entries, leaves lost+found, and writes nothing
// beside it.
func TestRestoreIntoMountPoint(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 2})
	repo := mustOpen(t, newBucket(t), Keys{})
	m := takeSnapshot(t, repo, fx.dir)
	parent, target := mountedTarget(t)

	// A fresh volume (only lost+found) counts as empty.
	if _, err := repo.Restore(ctx, m.ID, RestoreOptions{Target: target}); err != nil {
		t.Fatalf("restore into a fresh volume: %v", err)
	}
	requireMountedTree(t, fx.dir, target)
	if left := leftovers(t, parent, "data"); len(left) != 0 {
		t.Fatalf("restore into a mount point wrote beside it: %v", left)
	}

	precious := filepath.Join(target, "precious.txt")
	if err := os.WriteFile(precious, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := repo.Restore(ctx, m.ID, RestoreOptions{Target: target})
	if !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "precious.txt") {
		t.Fatalf("restore into a volume with files, without force: %v", err)
	}
	if got, _ := os.ReadFile(precious); string(got) != "keep me" {
		t.Fatal("refused restore changed the target")
	}

	fx.persist(t, 0, 50)
	m2 := takeSnapshot(t, repo, fx.dir)
	if _, err := repo.Restore(ctx, m2.ID, RestoreOptions{Target: target, Force: true}); err != nil {
		t.Fatalf("forced restore into a mount point: %v", err)
	}
	requireMountedTree(t, fx.dir, target)
	if left := leftovers(t, parent, "data"); len(left) != 0 {
		t.Fatalf("restore into a mount point wrote beside it: %v", left)
	}

	// A restore that fails leaves the volume as it was.
	if err := repo.bucket.Delete(ctx, blockKey(objectName(nil, m.Files[0].Blocks[0]))); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Restore(ctx, m.ID, RestoreOptions{Target: target, Force: true}); !errors.Is(err, ErrMissing) {
		t.Fatalf("restore with a missing block: %v", err)
	}
	requireMountedTree(t, fx.dir, target)
}

// killSwapEnv makes the test binary a restore that kills itself with SIGKILL
// after step N of the swap: "bucket\ntarget\nid\nN". It prints the step.
const killSwapEnv = "SNAPSHOT_TEST_KILL_SWAP"

func TestKillSwapHelperProcess(t *testing.T) {
	parts := helperProcessArgs(t, killSwapEnv, "TestRestoreIntoMountPointKilledMidSwap")
	b, err := file.New(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(parts[3])
	steps := 0
	_, err = mustOpen(t, b, Keys{}).Restore(testContext(t), parts[2], RestoreOptions{
		Target: parts[1], Force: true,
		afterSwapStep: func(step string) {
			if steps++; steps == n {
				fmt.Println(step)
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A forced restore into a mount point killed with SIGKILL after each step of
// the swap: the next restore into the target first brings it back to all old
// contents (killed before the commit point) or all new (after it), with the
// replaced contents kept and named; a forced re-run then succeeds and leaves
// no staging folder or lock file.
func TestRestoreIntoMountPointKilledMidSwap(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 2})
	bucketDir := t.TempDir()
	b, err := file.New(bucketDir)
	if err != nil {
		t.Fatal(err)
	}
	repo := mustOpen(t, b, Keys{})
	oldID := takeSnapshot(t, repo, fx.dir).ID
	oldTree := restoreTo(t, repo, oldID)
	fx.persist(t, 0, 50)
	newID := takeSnapshot(t, repo, fx.dir).ID
	newTree := restoreTo(t, repo, newID)

	committed := false
	for n := 1; ; n++ {
		_, target := mountedTarget(t)
		if _, err := repo.Restore(ctx, oldID, RestoreOptions{Target: target}); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillSwapHelperProcess$")
		cmd.Env = append(os.Environ(), killSwapEnv+"="+strings.Join([]string{bucketDir, target, newID, strconv.Itoa(n)}, "\n"))
		out, err := cmd.Output()
		if err == nil {
			if n < 4 {
				t.Fatalf("the swap had only %d steps", n-1)
			}
			requireMountedTree(t, newTree, target)
			break
		}
		if !diedOfSIGKILL(err) {
			t.Fatalf("step %d: the restore did not die of SIGKILL: %v\n%s", n, err, out)
		}
		step := strings.TrimSpace(string(out))
		committed = committed || step == "commit"
		t.Logf("killed after step %d: %s", n, step)
		checkRecovered(t, repo, target, oldTree, newTree, step, committed)
		if _, err := repo.Restore(ctx, newID, RestoreOptions{Target: target, Force: true}); err != nil {
			t.Fatalf("killed after %q: forced re-run: %v", step, err)
		}
		requireMountedTree(t, newTree, target)
	}
	if !committed {
		t.Fatal("no kill landed at the commit point")
	}
}

// checkRecovered runs a restore without force into a target whose restore
// was killed after step: it must be refused (the target is not empty), and
// first leave the target all old (before the commit) or all new.
func checkRecovered(t *testing.T, repo *Repository, target, oldTree, newTree, step string, committed bool) {
	t.Helper()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	_, err := repo.Restore(testContext(t), "latest", RestoreOptions{Target: target, Logger: logger})
	if !errors.Is(err, ErrTargetNotEmpty) {
		t.Fatalf("killed after %q: restore without force: %v", step, err)
	}
	replaced := ""
	for _, e := range mustEntries(t, target) {
		if strings.HasPrefix(e, ".otelcol-chroma-old-") {
			replaced = e
		}
	}
	if !committed {
		if replaced != "" {
			t.Fatalf("killed after %q, before the commit point: %s was left", step, replaced)
		}
		requireMountedTree(t, oldTree, target)
		return
	}
	if strings.HasPrefix(step, "removed ") {
		if replaced != "" {
			t.Fatalf("killed after %q: %s is there again", step, replaced)
		}
		requireMountedTree(t, newTree, target)
		return
	}
	if replaced == "" {
		t.Fatalf("killed after %q: the replaced contents were not kept", step)
	}
	if !strings.Contains(logs.String(), filepath.Join(target, replaced)) {
		t.Fatalf("killed after %q: the warning does not name %s:\n%s", step, replaced, logs.String())
	}
	if got, want := readTree(t, filepath.Join(target, replaced)), readTree(t, oldTree); !maps.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("killed after %q: %s does not hold the old contents", step, replaced)
	}
	if err := os.RemoveAll(filepath.Join(target, replaced)); err != nil {
		t.Fatal(err)
	}
	requireMountedTree(t, newTree, target)
}
