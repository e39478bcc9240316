package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

// requireEmptyDir fails unless dir exists and holds nothing.
func requireEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) > 0 {
		t.Errorf("%s holds %d entries (first: %s), want none", dir, len(entries), entries[0].Name())
	}
}

// TestSnapshotConfigTyposAreRejected: a typo in the snapshot settings, at any
// depth, stops the binary with exit code 2 and names the key, before
// anything is written (a typo in `encryption` must never give an
// unencrypted snapshot).
func TestSnapshotConfigTyposAreRejected(t *testing.T) {
	bin := binary(t)
	env := cliEnv(t)
	dir := t.TempDir()
	persist := chromatest.CopyDemo(t)
	writer, reader := filepath.Join(dir, "writer.key"), filepath.Join(dir, "reader.key")
	requireCLI(t, bin, env, "snapshot", "keygen", "--writer-key", writer, "--reader-key", reader)
	cases := []struct {
		name, block, key string
	}{
		{"misspelt block", "encrypton:\n      writer_key_file: " + writer, `"encrypton"`},
		{"misspelt key in encryption", "encryption:\n      writer_key: " + writer, `"encryption::writer_key"`},
		{"misspelt key in bucket", "encryption:\n      writer_key_file: " + writer + "\n    bucket:\n      region: eu-west-1", `"bucket::region"`},
		{"misspelt top-level key", "encryption:\n      writer_key_file: " + writer + "\n    persist_dir: /data", `"persist_dir"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bucket := t.TempDir()
			cfg := filepath.Join(t.TempDir(), "config.yaml")
			yaml := "extensions:\n  snapshot:\n    persist_directory: " + persist + "\n    " + c.block + "\n"
			if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			res := runCLI(t, bin, env, "snapshot", "now", "--config", cfg, "--bucket", "file://"+bucket)
			requireFailure(t, res, exitUsage, c.key, "unknown key", "extensions::snapshot")
			requireEmptyDir(t, bucket)
			res = runCLI(t, bin, env, "snapshot", "list", "--config", cfg, "--bucket", "file://"+bucket)
			requireFailure(t, res, exitUsage, c.key)
		})
	}
}
