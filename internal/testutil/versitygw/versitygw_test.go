package versitygw

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestBinaryFromEnv(t *testing.T) {
	t.Setenv("VERSITYGW_BIN", filepath.Join(t.TempDir(), "missing"))
	if p, hint := Binary(); p != "" || !strings.Contains(hint, "VERSITYGW_BIN") {
		t.Fatalf("Binary() = %q, %q", p, hint)
	}
}

func TestStartStopStart(t *testing.T) {
	s := Start(t)
	ctx := t.Context()
	put := func(key string) error {
		_, err := s.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: strings.NewReader("x")})
		return err
	}
	if err := put("before"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.DataDir, s.Bucket, "before")); err != nil {
		t.Fatalf("object not in the data folder: %v", err)
	}
	s.Stop()
	if s.Running() {
		t.Fatal("still running after Stop")
	}
	stopped, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := s.Client().HeadBucket(stopped, &s3.HeadBucketInput{Bucket: aws.String(s.Bucket)}, func(o *s3.Options) { o.RetryMaxAttempts = 1 }); err == nil {
		t.Fatal("stopped gateway answered")
	}
	s.Start()
	if _, err := s.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String("before")}); err != nil {
		t.Fatalf("object lost across restart: %v", err)
	}
	s.Stop()
	s.Stop() // idempotent
}

func TestURL(t *testing.T) {
	s := &Server{Endpoint: "http://127.0.0.1:1234", Bucket: "b"}
	for prefix, wantPath := range map[string]string{"": "", "p/q/": "/p/q"} {
		u, err := url.Parse(s.URLWithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if u.Scheme != "s3" || u.Host != "b" || u.Path != wantPath || q.Get("endpoint") != s.Endpoint ||
			q.Get("region") != Region || q.Get("path_style") != "true" {
			t.Fatalf("URLWithPrefix(%q) = %s", prefix, u)
		}
	}
	if s.URL() != s.URLWithPrefix("") {
		t.Fatal("URL() differs from URLWithPrefix(\"\")")
	}
}
