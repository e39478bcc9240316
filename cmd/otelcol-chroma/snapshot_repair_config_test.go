package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/storagetest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

// repairBucket is one bucket of TestSnapshotRepairConfig.
type repairBucket struct {
	url  string
	env  []string
	opts storage.Options
}

func (b repairBucket) open(ctx context.Context, t *testing.T) storage.Bucket {
	t.Helper()
	bk, err := storage.Open(ctx, b.url, b.opts)
	if err != nil {
		t.Fatal(err)
	}
	return bk
}

// TestSnapshotRepairConfig deletes config.json from a repository with
// snapshots: every command refuses with the same diagnosis (`now` must not
// start a new repository over the old snapshots), and repair-config rebuilds
// it from the manifests, after which the snapshots list and restore, on a
// folder and on S3, unencrypted and encrypted.
func TestSnapshotRepairConfig(t *testing.T) {
	bin := binary(t)
	ctx := e2eContext(t)
	persist := chromatest.CopyDemo(t)
	gw := versitygw.Start(t)
	keyDir := t.TempDir()
	writer, reader := filepath.Join(keyDir, "writer.key"), filepath.Join(keyDir, "reader.key")
	otherWriter, otherReader := filepath.Join(keyDir, "other-writer.key"), filepath.Join(keyDir, "other-reader.key")
	requireCLI(t, bin, cliEnv(t), "snapshot", "keygen", "--writer-key", writer, "--reader-key", reader)
	requireCLI(t, bin, cliEnv(t), "snapshot", "keygen", "--writer-key", otherWriter, "--reader-key", otherReader)

	buckets := map[string]func(t *testing.T, name string) repairBucket{
		"folder": func(t *testing.T, _ string) repairBucket {
			return repairBucket{url: "file://" + t.TempDir(), env: cliEnv(t)}
		},
		"s3": func(t *testing.T, name string) repairBucket {
			return repairBucket{url: gw.URLWithPrefix(name), env: s3Env(t, gw),
				opts: storage.Options{AccessKeyID: gw.AccessKey, SecretAccessKey: gw.Secret}}
		},
	}
	for backend, newBucket := range buckets {
		for _, encrypted := range []bool{false, true} {
			name := backend + map[bool]string{false: "-plain", true: "-encrypted"}[encrypted]
			t.Run(name, func(t *testing.T) {
				b := newBucket(t, name)
				var writeKeys, readKeys, bothKeys, wrongKeys []string
				if encrypted {
					writeKeys = []string{"--writer-key", writer}
					readKeys = []string{"--reader-key", reader}
					bothKeys = append(append([]string{}, writeKeys...), readKeys...)
					wrongKeys = []string{"--writer-key", otherWriter, "--reader-key", otherReader}
				}
				checkRepair(ctx, t, bin, b, persist, writeKeys, readKeys, bothKeys, wrongKeys)
			})
		}
	}

	t.Run("manifests of two repositories", func(t *testing.T) {
		env := cliEnv(t)
		root, other := t.TempDir(), t.TempDir()
		cliSnapshotNow(t, bin, env, "--bucket", "file://"+root, "--persist-directory", persist)
		otherID := cliSnapshotNow(t, bin, env, "--bucket", "file://"+other, "--persist-directory", persist)
		data, err := os.ReadFile(objectPath(other, manifestObjectKey(otherID)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(objectPath(root, manifestObjectKey(otherID)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		requireMissingAfter(t, objectPath(root, "config.json"), func() {
			res := runCLI(t, bin, env, "snapshot", "repair-config", "--bucket", "file://"+root)
			requireFailure(t, res, exitFailed, "disagree", otherID, "one repository per bucket prefix")
		})
	})
}

// requireMissingAfter removes path, runs fn, and checks that path is still
// missing.
func requireMissingAfter(t *testing.T, path string, fn func()) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	fn()
	requireMissing(t, path)
}

func checkRepair(ctx context.Context, t *testing.T, bin string, b repairBucket, persist string, writeKeys, readKeys, bothKeys, wrongKeys []string) {
	t.Helper()
	bucket := []string{"--bucket", b.url}
	first := cliSnapshotNow(t, bin, b.env, append(append([]string{"--persist-directory", persist}, bucket...), writeKeys...)...)
	second := cliSnapshotNow(t, bin, b.env, append(append([]string{"--persist-directory", persist}, bucket...), writeKeys...)...)
	bk := b.open(ctx, t)
	original := storagetest.ReadObject(t, bk, "config.json")
	if err := bk.Delete(ctx, "config.json"); err != nil {
		t.Fatal(err)
	}

	// The same diagnosis everywhere, and nothing written.
	for _, args := range [][]string{
		append(append([]string{"now", "--persist-directory", persist}, bucket...), writeKeys...),
		append(append([]string{"list"}, bucket...), readKeys...),
		append(append([]string{"status"}, bucket...), readKeys...),
		append(append([]string{"restore", "latest", "--to", filepath.Join(t.TempDir(), "r")}, bucket...), readKeys...),
	} {
		res := runCLI(t, bin, b.env, append([]string{"snapshot"}, args...)...)
		requireFailure(t, res, exitFailed, "config.json is missing", "repair-config")
	}
	if got := storagetest.ReadObject(t, bk, "config.json"); got != nil {
		t.Fatalf("a refused command wrote config.json:\n%s", got)
	}

	if len(bothKeys) > 0 {
		res := runCLI(t, bin, b.env, append(append([]string{"snapshot", "repair-config"}, bucket...), readKeys...)...)
		requireFailure(t, res, exitUsage, "both keys")
		res = runCLI(t, bin, b.env, append(append([]string{"snapshot", "repair-config"}, bucket...), wrongKeys...)...)
		requireFailure(t, res, exitFailed, "none of the 2 manifests")
		res = runCLI(t, bin, b.env, append([]string{"snapshot", "repair-config"}, bucket...)...)
		requireFailure(t, res, exitFailed, "none of the 2 manifests", "keys")
		if got := storagetest.ReadObject(t, bk, "config.json"); got != nil {
			t.Fatalf("a refused repair wrote config.json:\n%s", got)
		}
	}

	var want, got map[string]any
	if err := json.Unmarshal(original, &want); err != nil {
		t.Fatal(err)
	}
	res := requireCLI(t, bin, b.env, append(append([]string{"snapshot", "repair-config"}, bucket...), bothKeys...)...)
	if !strings.Contains(res.stdout, want["repository_id"].(string)) || !strings.Contains(res.stdout, "from 2 manifests") {
		t.Errorf("repair-config does not report repository %s from 2 manifests:\n%s", want["repository_id"], res)
	}
	if err := json.Unmarshal(storagetest.ReadObject(t, bk, "config.json"), &got); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"format", "repository_id", "block_size", "encrypted", "key_check", "recipients_check"} {
		if got[field] != want[field] {
			t.Errorf("rebuilt config.json has %s = %v, the original %v", field, got[field], want[field])
		}
	}
	res = runCLI(t, bin, b.env, append(append([]string{"snapshot", "repair-config"}, bucket...), bothKeys...)...)
	requireFailure(t, res, exitFailed, "nothing to repair")

	// The old snapshots are back: they list, restore, and the next
	// snapshot joins them.
	list := cliList(t, bin, b.env, append(bucket, readKeys...)...)
	if len(list) != 2 || list[0].ID != second || list[1].ID != first || list[0].Records == nil {
		t.Fatalf("list after the repair: %+v, want %s and %s with details", list, second, first)
	}
	target := filepath.Join(t.TempDir(), "restored")
	requireCLI(t, bin, b.env, append(append([]string{"snapshot", "restore", first, "--to", target}, bucket...), readKeys...)...)
	if _, records := counts(t, target); records != int64(chromatest.DemoExpected(t).Records) {
		t.Errorf("the restored snapshot holds %d records, want %d", records, chromatest.DemoExpected(t).Records)
	}
	cliSnapshotNow(t, bin, b.env, append(append([]string{"--persist-directory", persist}, bucket...), writeKeys...)...)
	if n := len(cliList(t, bin, b.env, append(bucket, readKeys...)...)); n != 3 {
		t.Errorf("list after one more snapshot shows %d snapshots, want 3", n)
	}
}
