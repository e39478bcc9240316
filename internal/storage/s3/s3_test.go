package s3_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/s3"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/storagetest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

var _ storage.Bucket = (*s3.Bucket)(nil)

func newBucket(t *testing.T, gw *versitygw.Server, bucket, prefix string) *s3.Bucket {
	t.Helper()
	return newBucketAt(t, gw, gw.Endpoint, bucket, prefix)
}

// newBucketAt reaches gw's bucket through endpoint.
func newBucketAt(t *testing.T, gw *versitygw.Server, endpoint, bucket, prefix string) *s3.Bucket {
	t.Helper()
	b, err := s3.New(t.Context(), s3.Options{
		ListPageSize:    3, // exercise pagination everywhere
		Bucket:          bucket,
		Prefix:          prefix,
		Endpoint:        endpoint,
		PathStyle:       true,
		AccessKeyID:     gw.AccessKey,
		SecretAccessKey: gw.Secret,
		PartSize:        5 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A restore's 32 waiting requests find their connections open again.
func TestKeepsConnectionsForARestore(t *testing.T) {
	gw := versitygw.Start(t)
	proxy := testutil.StartConnProxy(t, gw.Endpoint)
	storagetest.ReusesConnections(t, newBucketAt(t, gw, proxy.URL, gw.Bucket, ""), proxy, 32)
}

func TestConformancePrefix(t *testing.T) {
	gw := versitygw.Start(t)
	var n atomic.Int64
	storagetest.Run(t, func(t *testing.T) storage.Bucket {
		return newBucket(t, gw, gw.Bucket, fmt.Sprintf("backups/run-%d", n.Add(1)))
	})
}

func TestConformanceWholeBucket(t *testing.T) {
	gw := versitygw.Start(t)
	var n atomic.Int64
	storagetest.Run(t, func(t *testing.T) storage.Bucket {
		name := fmt.Sprintf("whole-%d", n.Add(1))
		if _, err := gw.Client().CreateBucket(t.Context(), &awss3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		return newBucket(t, gw, name, "")
	})
}

func TestMultipartUploads(t *testing.T) {
	gw := versitygw.Start(t)
	b := newBucket(t, gw, gw.Bucket, "mp")
	ctx := t.Context()
	const size = 12 << 20 // three 5 MiB parts at most
	data := bytes.Repeat([]byte("chroma!"), size/7)
	if err := b.Write(ctx, "big", onlyReader{bytes.NewReader(data)}, -1); err != nil {
		t.Fatal(err)
	}
	head, err := gw.Client().HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(gw.Bucket), Key: aws.String("mp/big")})
	if err != nil {
		t.Fatal(err)
	}
	if etag := aws.ToString(head.ETag); !strings.Contains(etag, "-") {
		t.Fatalf("ETag %s is not a multipart ETag: the object went up in one request", etag)
	}

	// A conditional multipart create over an existing key fails at
	// completion and leaves the object and no pending upload behind.
	err = b.CreateIfAbsent(ctx, "big", onlyReader{bytes.NewReader(bytes.Repeat([]byte("x"), size))}, -1)
	if !errors.Is(err, storage.ErrExists) {
		t.Fatalf("multipart CreateIfAbsent over an existing key: %v, want ErrExists", err)
	}
	rc, err := b.Read(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("object changed by the failed create (%d bytes, %v)", len(got), err)
	}
	if err := b.CreateIfAbsent(ctx, "big2", onlyReader{bytes.NewReader(data)}, -1); err != nil {
		t.Fatalf("multipart CreateIfAbsent of a new key: %v", err)
	}

	// A source that fails mid-way aborts the upload.
	broken := io.MultiReader(bytes.NewReader(data[:7<<20]), errReader{})
	if err := b.Write(ctx, "broken", broken, -1); err == nil {
		t.Fatal("Write from a failing source succeeded")
	}
	ups, err := gw.Client().ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: aws.String(gw.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups.Uploads) != 0 {
		t.Fatalf("%d multipart uploads left pending", len(ups.Uploads))
	}
}

func TestWrongCredentials(t *testing.T) {
	gw := versitygw.Start(t)
	ctx := t.Context()
	const wrongSecret = "definitely-not-the-secret-0123456789"
	for name, opts := range map[string]s3.Options{
		"wrong secret":        {AccessKeyID: gw.AccessKey, SecretAccessKey: wrongSecret},
		"unknown key":         {AccessKeyID: "AKNOBODY", SecretAccessKey: wrongSecret},
		"bogus session token": {AccessKeyID: gw.AccessKey, SecretAccessKey: gw.Secret + "x", SessionToken: "tok"},
	} {
		t.Run(name, func(t *testing.T) {
			opts.Bucket, opts.Endpoint, opts.PathStyle = gw.Bucket, gw.Endpoint, true
			b, err := s3.New(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			checkPermanent(t, b, "access denied to bucket "+gw.Bucket, "check the access key and secret")
			for _, secret := range []string{wrongSecret, gw.Secret} {
				if strings.Contains(b.String(), secret) {
					t.Fatalf("String() %q holds the secret", b.String())
				}
			}
		})
	}
}

func TestMissingBucket(t *testing.T) {
	gw := versitygw.Start(t)
	b := newBucket(t, gw, "no-such-bucket", "")
	checkPermanent(t, b, "bucket no-such-bucket does not exist")
	_, err := b.Read(t.Context(), "config.json")
	if !errors.Is(err, storage.ErrNoBucket) {
		t.Errorf("Read in a missing bucket: %v, want ErrNoBucket", err)
	}
}

// A store whose filesystem is full says so (ErrNoSpace), so callers advise
// about space, not credentials.
func TestFullStoreIsNoSpace(t *testing.T) {
	gw := versitygw.Start(t)
	dir := filepath.Join(gw.DataDir, gw.Bucket)
	testutil.MountTmpfs(t, dir, 1)
	t.Cleanup(gw.Stop) // runs before the unmount
	b := newBucket(t, gw, gw.Bucket, "p")
	data := bytes.Repeat([]byte{1}, 2<<20)
	err := b.Write(t.Context(), "blocks/aa/big", bytes.NewReader(data), int64(len(data)))
	if !errors.Is(err, storage.ErrNoSpace) || !errors.Is(err, storage.ErrPermanent) {
		t.Fatalf("Write into a full store: %v, want ErrNoSpace (permanent)", err)
	}
}

// checkPermanent runs every operation that reports bucket-level errors and
// requires ErrPermanent with the given phrases, and no secret, in each.
func checkPermanent(t *testing.T, b storage.Bucket, phrases ...string) {
	t.Helper()
	ctx := t.Context()
	errs := map[string]error{}
	_, errs["Read"] = b.Read(ctx, "k")
	errs["Write"] = b.Write(ctx, "k", strings.NewReader("v"), 1)
	errs["CreateIfAbsent"] = b.CreateIfAbsent(ctx, "k2", strings.NewReader("v"), 1)
	errs["Delete"] = b.Delete(ctx, "k")
	for _, err := range b.List(ctx, "") {
		errs["List"] = err
		break
	}
	for op, err := range errs {
		if !errors.Is(err, storage.ErrPermanent) {
			t.Errorf("%s: %v, want ErrPermanent", op, err)
			continue
		}
		for _, p := range phrases {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("%s: %q does not say %q", op, err, p)
			}
		}
	}
	if _, err := b.Stat(ctx, "k"); err == nil {
		t.Errorf("Stat succeeded")
	}
}

func TestStoppedServerIsTransient(t *testing.T) {
	gw := versitygw.Start(t)
	ctx := t.Context()
	b, err := s3.New(ctx, s3.Options{
		Bucket: gw.Bucket, Endpoint: gw.Endpoint, PathStyle: true,
		AccessKeyID: gw.AccessKey, SecretAccessKey: gw.Secret,
		MaxAttempts: 2, MaxBackoff: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Write(ctx, "kept", strings.NewReader("v"), 1); err != nil {
		t.Fatal(err)
	}
	gw.Stop()
	_, err = b.Stat(ctx, "kept")
	if err == nil || !storage.IsTransient(err) {
		t.Fatalf("Stat with the store down: %v, want a transient error", err)
	}
	if err := b.Write(ctx, "new", strings.NewReader("v"), 1); err == nil || !storage.IsTransient(err) {
		t.Fatalf("Write with the store down: %v, want a transient error", err)
	}
	gw.Start()
	if info, err := b.Stat(ctx, "kept"); err != nil || info.Size != 1 {
		t.Fatalf("Stat after restart = %+v, %v", info, err)
	}
}

func TestStringHidesSecrets(t *testing.T) {
	b, err := s3.New(t.Context(), s3.Options{
		Bucket: "bkt", Prefix: "/a/b/", Endpoint: "https://user:pa55word@s3.example.com:9000",
		AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG", SessionToken: "SESSIONTOKEN",
	})
	if err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, secret := range []string{"pa55word", "user", "AKIDEXAMPLE", "wJalrXUtnFEMI", "SESSIONTOKEN"} {
		if strings.Contains(s, secret) {
			t.Errorf("String() = %q holds %q", s, secret)
		}
	}
	if want := "s3://bkt/a/b at https://s3.example.com:9000"; s != want {
		t.Errorf("String() = %q, want %q", s, want)
	}
}

func TestNewValidation(t *testing.T) {
	for name, o := range map[string]s3.Options{
		"no bucket":        {},
		"slash in bucket":  {Bucket: "a/b"},
		"bad prefix":       {Bucket: "b", Prefix: "a/../b"},
		"key w/o secret":   {Bucket: "b", AccessKeyID: "AK"},
		"secret w/o key":   {Bucket: "b", SecretAccessKey: "S"},
		"endpoint scheme":  {Bucket: "b", Endpoint: "127.0.0.1:7070"},
		"small part size":  {Bucket: "b", PartSize: 1 << 20},
		"endpoint no host": {Bucket: "b", Endpoint: "http://"},
	} {
		if _, err := s3.New(t.Context(), o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("source broke") }

// isolateFromAWSConfig makes the SDK's default chain see only what the test
// sets.
func isolateFromAWSConfig(t *testing.T) {
	for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"} {
		t.Setenv(name, "")
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
}

func TestDefaultCredentialChain(t *testing.T) {
	gw := versitygw.Start(t)
	isolateFromAWSConfig(t)
	opts := s3.Options{Bucket: gw.Bucket, Endpoint: gw.Endpoint, PathStyle: true, MaxAttempts: 1}

	b, err := s3.New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Stat(t.Context(), "k")
	if err == nil || !strings.Contains(err.Error(), "no usable credentials for bucket "+gw.Bucket) {
		t.Fatalf("Stat without credentials: %v", err)
	}
	// Nothing left in the chain to try: no retry can help.
	if !errors.Is(err, storage.ErrPermanent) {
		t.Fatalf("Stat without credentials and without instance metadata: %v, want a permanent error", err)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", gw.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", gw.Secret)
	b, err = s3.New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Write(t.Context(), "k", strings.NewReader("v"), 1); err != nil {
		t.Fatalf("Write with credentials from the environment: %v", err)
	}
	if strings.Contains(b.String(), gw.Secret) || strings.Contains(b.String(), gw.AccessKey) {
		t.Fatalf("String() = %q holds credentials", b.String())
	}
}

// TestRemoveLeftovers: a multipart upload a killed writer left pending is
// aborted once older than the cutoff; one under another prefix stays.
func TestRemoveLeftovers(t *testing.T) {
	gw := versitygw.Start(t)
	b := newBucket(t, gw, gw.Bucket, "mine")
	ctx := t.Context()
	c := gw.Client()
	start := func(key string) {
		up, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String(gw.Bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String(gw.Bucket), Key: aws.String(key),
			UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(make([]byte, 5<<20))})
		if err != nil {
			t.Fatal(err)
		}
	}
	start("mine/blocks/ab/abcd")
	start("other/blocks/ab/abcd")
	pending := func() (keys []string) {
		out, err := c.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: aws.String(gw.Bucket)})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range out.Uploads {
			keys = append(keys, aws.ToString(u.Key))
		}
		return keys
	}
	if n, _, err := b.RemoveLeftovers(ctx, time.Now().Add(-time.Hour), false); err != nil || n != 0 {
		t.Fatalf("young upload: removed %d, %v", n, err)
	}
	if n, _, err := b.RemoveLeftovers(ctx, time.Now().Add(time.Minute), true); err != nil || n != 1 || len(pending()) != 2 {
		t.Fatalf("dry run: %d, %v, pending %v", n, err, pending())
	}
	if n, _, err := b.RemoveLeftovers(ctx, time.Now().Add(time.Minute), false); err != nil || n != 1 {
		t.Fatalf("removed %d, %v", n, err)
	}
	if got := pending(); len(got) != 1 || got[0] != "other/blocks/ab/abcd" {
		t.Fatalf("pending after cleanup: %v", got)
	}
}
