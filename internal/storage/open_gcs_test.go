package storage_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/gcs"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/storagetest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/fakegcs"
)

func TestOpenGCSURL(t *testing.T) {
	for raw, want := range map[string]string{
		"gs://bkt?endpoint=http://127.0.0.1:4443":                             "gs://bkt at http://127.0.0.1:4443",
		"gs://bkt/backups/prod/?endpoint=http://127.0.0.1:4443":               "gs://bkt/backups/prod at http://127.0.0.1:4443",
		"gs://bkt/p?endpoint=http%3A%2F%2F127.0.0.1%3A4443&chunk_size=524288": "gs://bkt/p at http://127.0.0.1:4443",
	} {
		b, err := storage.Open(t.Context(), raw, storage.Options{})
		if err != nil {
			t.Errorf("Open(%q): %v", raw, err)
			continue
		}
		if _, ok := storage.Unwrap(b).(*gcs.Bucket); !ok {
			t.Errorf("Open(%q) gave %T", raw, storage.Unwrap(b))
		}
		if b.String() != want {
			t.Errorf("Open(%q).String() = %q, want %q", raw, b.String(), want)
		}
	}
}

func TestOpenGCSErrors(t *testing.T) {
	for raw, want := range map[string]string{
		"gs://":                                     "no bucket name",
		"gs:///prefix":                              "no bucket name",
		"gs://bkt:4443/x":                           "?endpoint=",
		"gs://bkt?region=us":                        `unknown parameter "region"`,
		"gs://bkt?chunk_size=1&chunk_size=2":        "given 2 times",
		"gs://bkt?endpoint=127.0.0.1:4443":          "endpoint must be an http:// or https:// URL",
		"gs://bkt?endpoint=http://u:pw@host":        "endpoint must not hold credentials",
		"gs://bkt?endpoint=http://h:1&chunk_size=0": "chunk_size must be a positive number",
		"gs://bkt/a/../b?endpoint=http://h:1":       "invalid object key",
		"gs://user:SECRETVALUE@bkt/x":               "must not hold credentials",
		"gs://bkt/x?endpoint=http%3A%2F%2Fh%zz":     `value of parameter "endpoint" is not valid URL escaping`,
	} {
		_, err := storage.Open(t.Context(), raw, storage.Options{})
		if err == nil {
			t.Errorf("Open(%q) succeeded, want error with %q", raw, want)
			continue
		}
		if !errors.Is(err, storage.ErrBadURL) || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %q, want ErrBadURL saying %q", raw, err, want)
		}
		if strings.Contains(err.Error(), "SECRETVALUE") || strings.Contains(err.Error(), ":pw@") {
			t.Errorf("Open(%q) error %q repeats a secret", raw, err)
		}
	}
}

// Credentials that cannot be used are the configuration's problem, not the
// URL's: the error says what to set and never shows the key file's content.
func TestOpenGCSCredentialErrors(t *testing.T) {
	dir := t.TempDir()
	wrongType := filepath.Join(dir, "wrong.json")
	if err := os.WriteFile(wrongType, []byte(`{"type":"gdch_service_account","private_key":"SECRETVALUE"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	notJSON := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(notJSON, []byte("-----BEGIN PRIVATE KEY----- SECRETVALUE"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, file, env, want string }{
		{"missing key file", filepath.Join(dir, "absent.json"), "", "read credentials file"},
		{"unknown key type", wrongType, "", `type "gdch_service_account"`},
		{"not a JSON key", notJSON, "", "is not a JSON key file"},
		{"missing GOOGLE_APPLICATION_CREDENTIALS", "", filepath.Join(dir, "absent.json"), "set GOOGLE_APPLICATION_CREDENTIALS or credentials_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", tc.env)
			t.Setenv("STORAGE_EMULATOR_HOST", "")
			_, err := storage.Open(t.Context(), "gs://bkt/p", storage.Options{GCSCredentialsFile: tc.file})
			if !errors.Is(err, storage.ErrPermanent) || errors.Is(err, storage.ErrBadURL) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open = %v; want a permanent error (not a bad URL) saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "SECRETVALUE") {
				t.Fatalf("error shows the key file's content: %v", err)
			}
		})
	}
}

func TestOpenedGCSConformance(t *testing.T) {
	srv := fakegcs.Start(t)
	var n atomic.Int64
	storagetest.Run(t, func(t *testing.T) storage.Bucket {
		b, err := storage.Open(t.Context(), srv.URLWithPrefix(fmt.Sprintf("opened/%d", n.Add(1))), storage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// STORAGE_EMULATOR_HOST points a plain gs:// URL at an emulator, as it
// does for every Google client library.
func TestCheckGCS(t *testing.T) {
	srv := fakegcs.Start(t)
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.Endpoint, "http://"))
	good, err := storage.Open(t.Context(), "gs://"+srv.Bucket+"/x", storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.Check(t.Context(), good); err != nil {
		t.Fatalf("Check of a good bucket: %v", err)
	}
	missing, err := storage.Open(t.Context(), "gs://missing-bucket/x", storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = storage.Check(t.Context(), missing)
	if !errors.Is(err, storage.ErrNoBucket) || !errors.Is(err, storage.ErrPermanent) || !strings.Contains(err.Error(), "bucket missing-bucket does not exist") {
		t.Fatalf("Check of a missing bucket: %v", err)
	}
}

// Options.HTTPClient carries a gs:// bucket's requests, and retrying is
// WithRetry's alone: one attempt of the policy is one request.
func TestOpenedGCSRequestsOnePerAttempt(t *testing.T) {
	port, err := testutil.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	requireOneRequestPerAttempt(t, fmt.Sprintf("gs://bkt/p?endpoint=http://127.0.0.1:%d", port), storage.Options{})
}
