package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/storagetest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/azurite"
)

// A Chroma persist directory snapshotted into an Azure blob container
// (Azurite), with the account key from the config as users write it: the
// snapshot restores byte for byte and opens in a real Chroma, and a block
// altered in the container is caught by verify --read-data and by restore.
func TestCLIAzureBlobSnapshotRestoreVerify(t *testing.T) {
	bin := binary(t)
	az := azurite.Start(t)
	ctx := e2eContext(t)
	url := az.URL("e2e")
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	yaml := fmt.Sprintf("extensions:\n  snapshot:\n    instance: e2e\n    bucket:\n      url: %q\n      azure_account_key: ${env:TEST_AZURE_STORAGE_KEY}\n", url)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := cliEnv(t, "TEST_AZURE_STORAGE_KEY="+azurite.AccountKey)
	demo := chromatest.CopyDemo(t)
	id := cliSnapshotNow(t, bin, env, "--config", cfg, "--persist-directory", demo)

	target := filepath.Join(t.TempDir(), "restored")
	requireCLI(t, bin, env, "snapshot", "restore", id, "--config", cfg, "--to", target)
	if got, want := treeDigest(t, target), treeDigest(t, demo); !maps.Equal(got, want) {
		t.Fatalf("restore from Azure is not byte-exact:\n got %v\nwant %v", got, want)
	}
	opts := storage.Options{AzureAccountKey: azurite.AccountKey}
	m := engineManifest(ctx, t, engineRepo(ctx, t, url, opts, snapshot.Keys{}), id)
	checkRestoredInChroma(ctx, t, chromatest.Binary(t), target, "restored from Azure", m)
	requireCLI(t, bin, env, "snapshot", "verify", id, "--read-data", "--config", cfg)

	var victim string
	for _, f := range m.Files {
		if f.Path == "chroma.sqlite3" && len(f.Blocks) > 0 {
			victim = plainBlockKey(f.Blocks[len(f.Blocks)/2])
		}
	}
	if victim == "" {
		t.Fatal("the snapshot lists no block of chroma.sqlite3")
	}
	alterObject(t, url, opts, victim)
	res := runCLI(t, bin, env, "snapshot", "verify", id, "--read-data", "--config", cfg)
	requireFailure(t, res, exitFailed, victim)
	again := filepath.Join(t.TempDir(), "again")
	requireFailure(t, runCLI(t, bin, env, "snapshot", "restore", id, "--config", cfg, "--to", again), exitFailed, victim)
	requireNoRestoreLeftovers(t, again)
}

// alterObject rewrites an object in the bucket with its last byte flipped.
func alterObject(t *testing.T, url string, opts storage.Options, key string) {
	t.Helper()
	b, err := storage.Open(t.Context(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	data := storagetest.ReadObject(t, b, key)
	if len(data) == 0 {
		t.Fatalf("object %s is missing or empty", key)
	}
	data[len(data)-1] ^= 0xff
	if err := b.Write(t.Context(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
}
