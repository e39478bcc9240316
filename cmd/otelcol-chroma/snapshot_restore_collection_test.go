package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
)

// A wrong command line is a usage error (exit 2) that says what to give.
func TestRestoreCollectionFlags(t *testing.T) {
	ok := collectionRestoreFlags{names: []string{"a"}, into: "http://chroma:8000", mode: "create", batchSize: 10}
	if err := ok.check(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		change func(*collectionRestoreFlags)
		want   string
	}{
		{func(f *collectionRestoreFlags) { f.names = nil }, "--collection"},
		{func(f *collectionRestoreFlags) { f.into = "" }, "--into"},
		{func(f *collectionRestoreFlags) { f.into = "chroma:8000" }, "http://host:port"},
		{func(f *collectionRestoreFlags) { f.into = "https://u:p@chroma" }, "--token-file"},
		{func(f *collectionRestoreFlags) { f.as, f.names = "x", []string{"a", "b"} }, "--as"},
		{func(f *collectionRestoreFlags) { f.mode = "replace" }, "create or upsert"},
		{func(f *collectionRestoreFlags) { f.batchSize = 0 }, "--batch-size"},
	} {
		f := ok
		tc.change(&f)
		err := f.check()
		if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want a usage error about %s", f, err, tc.want)
		}
	}
}

// The token comes from --token-file, else the environment Chroma's clients
// read; an empty or missing file is refused.
func TestRestoreCollectionToken(t *testing.T) {
	t.Setenv(envChromaToken, "from-env")
	t.Setenv(envChromaTokenHeader, "X-Chroma-Token")
	f := collectionRestoreFlags{into: "http://chroma:8000", tenant: "t", database: "d"}
	c, err := f.target()
	if err != nil || c.Auth.Token != "from-env" || c.Auth.Header != chromaapi.HeaderChromaToken || c.Tenant != "t" || c.Database != "d" {
		t.Fatalf("from the environment: %+v, %v", c, err)
	}
	f.tokenFile = filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f.tokenFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.tokenHeader = "authorization"
	if c, err = f.target(); err != nil || c.Auth.Token != "from-file" || c.Auth.Header != chromaapi.HeaderAuthorization {
		t.Fatalf("from the file: %+v, %v", c, err)
	}
	if err := os.WriteFile(f.tokenFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err = f.target(); !errors.As(err, new(usageError)) {
		t.Fatalf("empty token file: %v", err)
	}
}
