//go:build linux

package main

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

// TestRestoreIntoMountPoint restores through the binary into a real tmpfs
// mounted at the target, as a Kubernetes volume is mounted at /data: into
// the fresh volume, over its contents with --force, and after restores
// SIGKILLed at each phase, whose next run must leave the volume all old or
// all new and then restore it completely, with no staging folder or lock file
// left. Chroma must open what was restored.
func TestRestoreIntoMountPoint(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: restores ~30 MiB into a tmpfs several times")
	}
	bin := binary(t)
	chromaBin := chromatest.Binary(t)
	ctx := e2eContext(t)
	env := cliEnv(t)

	src := chromatest.CopyDemo(t)
	pad := newSegmentPadding(t, src, 4<<20, 24<<20)
	bucket := t.TempDir()
	flags := []string{"--bucket", "file://" + bucket, "--persist-directory", src, "--scratch-directory", t.TempDir()}
	pad.fill(t, 1)
	oldID := cliSnapshotNow(t, bin, env, flags...)
	oldTree := treeDigest(t, src)

	parent := t.TempDir()
	target := filepath.Join(parent, "data")
	testutil.MountTmpfs(t, target, 256)
	if err := os.Mkdir(filepath.Join(target, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	restore := append([]string{"snapshot", "restore", "latest", "--to", target}, flags...)
	requireCLI(t, bin, env, restore...)
	requireVolume(t, target, oldTree, false)
	if left := mustReadDir(t, parent); len(left) != 1 {
		t.Fatalf("a restore into a mount point wrote %d entries beside it", len(left)-1)
	}
	res := runCLI(t, bin, env, restore...)
	requireFailure(t, res, 1, target, "holds files", "--force")

	pad.fill(t, 2)
	newID := cliSnapshotNow(t, bin, env, flags...)
	newTree := treeDigest(t, src)
	forced := append(slices.Clone(restore), "--force")
	for _, ph := range []snapshot.Phase{snapshot.PhaseRestore, snapshot.PhaseCheck, snapshot.PhaseSwap} {
		requireCLI(t, bin, env, append([]string{"snapshot", "restore", oldID}, forced[3:]...)...)
		requireVolume(t, target, oldTree, true)
		o := runAndKill(ctx, t, bin, env, forced, bucket, blockObjects(t, bucket), killPoint{phase: ph})
		// A restore without --force repairs the volume, then refuses.
		res := runCLI(t, bin, env, restore...)
		requireFailure(t, res, 1, "holds files")
		gotNew := maps.Equal(volumeTree(t, target), newTree)
		if !gotNew && !maps.Equal(volumeTree(t, target), oldTree) {
			t.Fatalf("restore killed at phase %s (killed: %v): the volume holds neither the old nor the new snapshot", ph, o.killed)
		}
		repaired := "nothing to repair"
		if i := strings.Index(res.stderr, "an interrupted restore"); i >= 0 {
			repaired, _, _ = strings.Cut(res.stderr[i:], "\n")
		}
		t.Logf("restore killed at phase %s (killed: %v, phases %v): all %s afterwards; %s",
			ph, o.killed, o.phases, map[bool]string{true: "new", false: "old"}[gotNew], repaired)
		out := requireCLI(t, bin, env, forced...)
		if !strings.Contains(out.stdout, newID) {
			t.Fatalf("restore latest did not restore %s:\n%s", newID, out)
		}
		requireVolume(t, target, newTree, true)
	}
	m := engineManifest(ctx, t, engineRepo(ctx, t, "file://"+bucket, storage.Options{}, snapshot.Keys{}), newID)
	checkRestoredInChroma(ctx, t, chromaBin, target, "snapshot restored into a mount point", m)
}

// requireVolume checks that the mounted target holds exactly the files of
// want, keeps lost+found, and has no staging folder or lock file of a
// restore left; withReplaced allows the old contents a killed restore kept.
func requireVolume(t *testing.T, target string, want map[string]string, withReplaced bool) {
	t.Helper()
	if got := volumeTree(t, target); !maps.Equal(got, want) {
		t.Fatalf("%s differs from the snapshot:\n got %v\nwant %v", target, got, want)
	}
	if _, err := os.Stat(filepath.Join(target, "lost+found")); err != nil {
		t.Fatalf("lost+found: %v", err)
	}
	for _, e := range mustReadDir(t, target) {
		name := e.Name()
		if strings.HasPrefix(name, ".otelcol-chroma-") && !(withReplaced && strings.HasPrefix(name, ".otelcol-chroma-old-")) {
			t.Fatalf("a restore left %s in %s", name, target)
		}
	}
}

// volumeTree is treeDigest of target without the folders a restore keeps
// there for the operator.
func volumeTree(t *testing.T, target string) map[string]string {
	t.Helper()
	tree := treeDigest(t, target)
	maps.DeleteFunc(tree, func(path, _ string) bool { return strings.HasPrefix(path, ".otelcol-chroma-old-") })
	return tree
}

// TestRestoreRefusesRunningChroma: a restore with --force into a mounted
// volume that a running Chroma serves is refused through the binary (exit 1,
// naming the process and what to do) and changes nothing; once Chroma is
// stopped, the same command restores.
func TestRestoreRefusesRunningChroma(t *testing.T) {
	bin := binary(t)
	chromaBin := chromatest.Binary(t)
	env := cliEnv(t)
	bucket := t.TempDir()
	flags := []string{"--bucket", "file://" + bucket}
	id := cliSnapshotNow(t, bin, env, append([]string{"--persist-directory", chromatest.CopyDemo(t)}, flags...)...)

	target := filepath.Join(t.TempDir(), "data")
	testutil.MountTmpfs(t, target, 64)
	if err := chromatest.CopyDir(chromatest.DemoDir(t), target); err != nil {
		t.Fatal(err)
	}
	srv := chromatest.Start(t, chromatest.Options{PersistDir: target, Binary: chromaBin})
	before := entryNames(t, target)
	restore := append([]string{"snapshot", "restore", id, "--to", target, "--force"}, flags...)
	res := runCLI(t, bin, env, restore...)
	requireFailure(t, res, exitFailed, "restore target is in use", target, "chroma.sqlite3 open", "stop Chroma", "nothing was changed")
	if after := entryNames(t, target); !slices.Equal(after, before) {
		t.Fatalf("a refused restore changed the volume: %v, was %v", after, before)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	requireCLI(t, bin, env, restore...)
}

func entryNames(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	for _, e := range mustReadDir(t, dir) {
		names = append(names, e.Name())
	}
	return names
}
