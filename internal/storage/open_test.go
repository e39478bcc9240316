package storage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/file"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/s3"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/storagetest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{"a", "b", "c"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	missing, err := storage.Open(t.Context(), "file://"+dir+"/missing", storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.Check(t.Context(), missing); !errors.Is(err, storage.ErrNoBucket) {
		t.Fatalf("Check of a missing folder: %v, want ErrNoBucket", err)
	}
	for _, raw := range []string{
		"file://" + dir + "/a",
		"file://localhost" + dir + "/b",
		dir + "/c",
	} {
		b, err := storage.Open(t.Context(), raw, storage.Options{})
		if err != nil {
			t.Fatalf("Open(%q): %v", raw, err)
		}
		fb, ok := storage.Unwrap(b).(*file.Bucket)
		if !ok {
			t.Fatalf("Open(%q) gave %T, want *file.Bucket under the retry wrapper", raw, storage.Unwrap(b))
		}
		if !strings.HasPrefix(fb.Root(), dir) {
			t.Fatalf("Open(%q) root = %s", raw, fb.Root())
		}
		if err := storage.Check(t.Context(), b); err != nil {
			t.Fatalf("Check(%q): %v", raw, err)
		}
	}
	t.Chdir(dir)
	b, err := storage.Open(t.Context(), "relative/folder", storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := storage.Unwrap(b).(*file.Bucket).Root(), filepath.Join(dir, "relative", "folder"); got != want {
		t.Fatalf("relative path root = %s, want %s", got, want)
	}
}

func TestOpenS3URL(t *testing.T) {
	opts := storage.Options{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "s3cr3t-value", SessionToken: "t0ken-value"}
	for raw, want := range map[string]string{
		"s3://bkt":              "s3://bkt",
		"s3://bkt/":             "s3://bkt",
		"s3://bkt/backups/prod": "s3://bkt/backups/prod",
		"s3://bkt/backups/prod/?region=eu-west-1":                                                         "s3://bkt/backups/prod",
		"s3://bkt/p?endpoint=http://127.0.0.1:7070&region=us-east-1&path_style=true":                      "s3://bkt/p at http://127.0.0.1:7070",
		"s3://bkt?endpoint=https%3A%2F%2Fminio.local%3A9000&path_style=1&part_size=6000000&concurrency=4": "s3://bkt at https://minio.local:9000",
	} {
		b, err := storage.Open(t.Context(), raw, opts)
		if err != nil {
			t.Errorf("Open(%q): %v", raw, err)
			continue
		}
		if _, ok := storage.Unwrap(b).(*s3.Bucket); !ok {
			t.Errorf("Open(%q) gave %T", raw, storage.Unwrap(b))
		}
		if b.String() != want {
			t.Errorf("Open(%q).String() = %q, want %q", raw, b.String(), want)
		}
		for _, secret := range []string{opts.SecretAccessKey, opts.SessionToken, opts.AccessKeyID} {
			if strings.Contains(b.String(), secret) {
				t.Errorf("String() %q holds a credential", b.String())
			}
		}
	}
}

func TestOpenErrors(t *testing.T) {
	for raw, want := range map[string]string{
		"":                                   "empty bucket URL",
		"ftp://bucket/x":                     `unsupported scheme "ftp"`,
		"https://bucket.s3.amazonaws.com":    `unsupported scheme "https"`,
		"s3://":                              "no bucket name",
		"s3:///prefix":                       "no bucket name",
		"s3://bkt:7070/x":                    "?endpoint=",
		"s3://bkt?bogus=1":                   `unknown parameter "bogus"`,
		"s3://bkt?region=a&region=b":         "given 2 times",
		"s3://bkt?endpoint=127.0.0.1:7070":   "endpoint must be an http:// or https:// URL",
		"s3://bkt?endpoint=ftp://host":       "endpoint must be an http:// or https:// URL",
		"s3://bkt?endpoint=http://u:pw@host": "endpoint must not hold credentials",
		"s3://bkt?path_style=maybe":          "path_style must be true or false",
		"s3://bkt?part_size=-1":              "part_size must be a positive number",
		"s3://bkt?part_size=1024":            "below the S3 minimum",
		"s3://bkt?concurrency=zero":          "concurrency must be a positive integer",
		"s3://bkt/a/../b":                    "invalid object key",
		"s3://AKID:SECRETVALUE@bkt/x":        "must not hold credentials",
		"s3://bkt/x#frag":                    "fragment",
		"file://somehost/var/backups":        "absolute path",
		"file:///var/x?mode=1":               "no query parameters",
		"s3://AKID:SECRETVALUE@bkt/%zz":      "malformed bucket URL",
		"s3://bkt/%zz":                       "malformed bucket URL",
		// A parameter is never dropped: a broken escape in the endpoint
		// would otherwise send the data to AWS.
		"s3://bkt?endpoint=http%3A%2F%2F127.0.0.1%3A7070%":       `value of parameter "endpoint" is not valid URL escaping`,
		"s3://bkt?region=eu-west-1&endpoint=http://h:1/%zz":      `value of parameter "endpoint" is not valid URL escaping`,
		"s3://bkt?endpoint=http://h:1;region=x":                  `contains ';'`,
		"s3://bkt?path_style=true&&region=x":                     "parameter name is empty",
		"s3://bkt?region":                                        `parameter "region" has no value`,
		"s3://bkt?endpoint=":                                     `parameter "endpoint" has no value`,
		"s3://bkt?%zz=1":                                         "not valid URL escaping",
		"s3://bkt?region=x&endpoint=http%3A%2F%2FSECRETVALUE%zz": `parameter "endpoint"`,
	} {
		_, err := storage.Open(t.Context(), raw, storage.Options{})
		if err == nil {
			t.Errorf("Open(%q) succeeded, want error with %q", raw, want)
			continue
		}
		if !errors.Is(err, storage.ErrBadURL) {
			t.Errorf("Open(%q) = %q, want it to wrap ErrBadURL", raw, err)
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %q, want it to say %q", raw, err, want)
		}
		if strings.Contains(err.Error(), "SECRETVALUE") || strings.Contains(err.Error(), ":pw@") {
			t.Errorf("Open(%q) error %q repeats a secret", raw, err)
		}
	}
}

func TestOpenedFileConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Bucket {
		b, err := storage.Open(t.Context(), "file://"+t.TempDir(), storage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func openGateway(t *testing.T, gw *versitygw.Server, rawURL string, retry storage.RetryPolicy) storage.Bucket {
	t.Helper()
	b, err := storage.Open(t.Context(), rawURL, storage.Options{
		AccessKeyID: gw.AccessKey, SecretAccessKey: gw.Secret, Retry: retry,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenedS3Conformance(t *testing.T) {
	gw := versitygw.Start(t)
	var n atomic.Int64
	storagetest.Run(t, func(t *testing.T) storage.Bucket {
		return openGateway(t, gw, gw.URLWithPrefix(fmt.Sprintf("opened/%d", n.Add(1))), storage.RetryPolicy{})
	})
}

func TestCheck(t *testing.T) {
	gw := versitygw.Start(t)
	ctx := t.Context()

	if err := storage.Check(ctx, openGateway(t, gw, gw.URL(), storage.RetryPolicy{})); err != nil {
		t.Fatalf("Check of a good bucket: %v", err)
	}

	wrong, err := storage.Open(ctx, gw.URL(), storage.Options{AccessKeyID: gw.AccessKey, SecretAccessKey: "wrong-secret-value"})
	if err != nil {
		t.Fatal(err)
	}
	err = storage.Check(ctx, wrong)
	if !errors.Is(err, storage.ErrPermanent) || !strings.Contains(err.Error(), "access denied to bucket "+gw.Bucket) ||
		!strings.Contains(err.Error(), "check the access key and secret") {
		t.Fatalf("Check with a wrong secret: %v", err)
	}
	if strings.Contains(err.Error(), "wrong-secret-value") || strings.Contains(err.Error(), gw.Secret) {
		t.Fatalf("Check error holds a secret: %v", err)
	}

	missing := openGateway(t, gw, strings.Replace(gw.URL(), gw.Bucket, "missing-bucket", 1), storage.RetryPolicy{})
	err = storage.Check(ctx, missing)
	if !errors.Is(err, storage.ErrPermanent) || !strings.Contains(err.Error(), "bucket missing-bucket does not exist") {
		t.Fatalf("Check of a missing bucket: %v", err)
	}
}

func TestUnreachableStore(t *testing.T) {
	gw := versitygw.Start(t)
	ctx := t.Context()
	policy := storage.RetryPolicy{MaxAttempts: 3, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, MaxElapsed: time.Minute}
	// Open's S3 client would also retry each request inside the SDK, with
	// waits of up to a second; keep those short here.
	s3b, err := s3.New(ctx, s3.Options{
		Bucket: gw.Bucket, Prefix: "down", Endpoint: gw.Endpoint, PathStyle: true,
		AccessKeyID: gw.AccessKey, SecretAccessKey: gw.Secret,
		MaxAttempts: 2, MaxBackoff: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	b := storage.WithRetry(s3b, policy)
	if err := b.Write(ctx, "kept", strings.NewReader("v"), 1); err != nil {
		t.Fatal(err)
	}
	gw.Stop()

	// Bounded retries end in a transient error, not a permanent one.
	err = storage.Check(ctx, b)
	if err == nil || errors.Is(err, storage.ErrPermanent) || !storage.IsTransient(err) {
		t.Fatalf("Check with the store down: %v, want a transient error", err)
	}
	if !strings.Contains(err.Error(), "cannot reach the store") || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("Check error does not explain: %v", err)
	}
	if _, err := b.Stat(ctx, "kept"); !storage.IsTransient(err) {
		t.Fatalf("Stat with the store down: %v, want transient", err)
	}

	// With retries that would outlast any test, cancelling the context ends
	// the wait.
	inner := &observed{Bucket: storage.Unwrap(b), failed: make(chan struct{}, 100)}
	patient := storage.WithRetry(inner, storage.RetryPolicy{MaxAttempts: 100, InitialBackoff: time.Hour, MaxBackoff: time.Hour, MaxElapsed: 100 * time.Hour})
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := patient.Stat(cctx, "kept")
		done <- err
	}()
	<-inner.failed
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Stat after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Stat did not return after its context was cancelled")
	}

	// Back up: the same bucket works again and the data is still there.
	gw.Start()
	if err := storage.Check(ctx, b); err != nil {
		t.Fatalf("Check after restart: %v", err)
	}
	rc, err := b.Read(ctx, "kept")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if data, err := io.ReadAll(rc); err != nil || string(data) != "v" {
		t.Fatalf("Read after restart = %q, %v", data, err)
	}
}

// observed signals each failed Stat or List.
type observed struct {
	storage.Bucket
	failed chan struct{}
}

func (o *observed) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	info, err := o.Bucket.Stat(ctx, key)
	if err != nil {
		o.failed <- struct{}{}
	}
	return info, err
}

func (o *observed) List(ctx context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	return o.Bucket.List(ctx, prefix)
}

func TestValidateKey(t *testing.T) {
	for _, key := range []string{"a", "a/b", "a/b.c/d-e_f", ".hidden", "a/..b", "ü/ß"} {
		if err := storage.ValidateKey(key); err != nil {
			t.Errorf("ValidateKey(%q) = %v", key, err)
		}
	}
	for _, key := range []string{"", "/a", "a/", "a//b", ".", "..", "a/../b", "a/./b", "a\\b", "a\x00b"} {
		if err := storage.ValidateKey(key); err == nil {
			t.Errorf("ValidateKey(%q) accepted", key)
		}
	}
	for _, prefix := range []string{"", "a", "a/", "a/b", "a/.", "a/..", ".x"} {
		if err := storage.ValidatePrefix(prefix); err != nil {
			t.Errorf("ValidatePrefix(%q) = %v", prefix, err)
		}
	}
	for _, prefix := range []string{"/", "/a", "a//", "../", "a/../b", "a\\"} {
		if err := storage.ValidatePrefix(prefix); err == nil {
			t.Errorf("ValidatePrefix(%q) accepted", prefix)
		}
	}
}
