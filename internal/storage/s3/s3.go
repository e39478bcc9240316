// Package s3 is a storage.Bucket on Amazon S3 or any S3-compatible object
// store (MinIO, Ceph RGW, versitygw, ...).
//
// Objects are uploaded with a bounded multipart uploader, so memory use stays
// at about PartSize × (Concurrency + 2) however large or unsized the source
// is, and read back as a stream. CreateIfAbsent is a conditional PutObject
// (If-None-Match: *), which the store resolves atomically.
//
// Errors that no retry can fix (bad credentials, missing bucket, wrong
// region) wrap base.ErrPermanent and say what to check. The SDK's own
// retries are kept short so that such errors surface quickly and a retry
// policy above this package stays in charge of the total time spent.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// Defaults for Options fields left zero.
const (
	DefaultPartSize       = 8 << 20
	DefaultConcurrency    = 2
	DefaultMaxAttempts    = 3
	DefaultEndpointRegion = "us-east-1"
)

// Options configures a Bucket. Only Bucket is required.
type Options struct {
	// Bucket is the bucket name.
	Bucket string
	// Prefix is prepended to every key, as a folder: "backups/prod" stores
	// key "x" as "backups/prod/x".
	Prefix string
	// Endpoint is the base URL of an S3-compatible store, e.g.
	// "http://127.0.0.1:7070". Empty means AWS S3.
	Endpoint string
	// Region defaults to the SDK's configuration (AWS_REGION, shared config)
	// and then to us-east-1.
	Region string
	// PathStyle addresses the bucket as endpoint/bucket/key rather than
	// bucket.endpoint/key; most self-hosted stores need it.
	PathStyle bool
	// AccessKeyID and SecretAccessKey (and SessionToken for temporary
	// credentials) select static credentials. When AccessKeyID is empty the
	// SDK's default chain is used: environment, shared files, web identity
	// (IRSA), ECS and EC2 instance roles.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// PartSize is the multipart upload part size in bytes (at least 5 MiB,
	// default 8 MiB). Objects up to 10,000 parts can be uploaded.
	PartSize int64
	// Concurrency is the number of parts uploaded in parallel (default 2).
	Concurrency int
	// MaxAttempts bounds the SDK's own attempts per request (connection
	// errors, 5xx, throttling; default 3), with waits of at most MaxBackoff
	// (default 1s) between. These mostly save a multipart upload from
	// restarting over one failed part; storage.WithRetry handles the rest.
	MaxAttempts int
	MaxBackoff  time.Duration
	// ListPageSize is the number of keys asked for per listing request;
	// zero leaves it to the store (1000 on S3).
	ListPageSize int32
	// HTTPClient replaces the default client (for custom TLS, proxies).
	HTTPClient aws.HTTPClient
}

// Bucket is a storage.Bucket on an S3 bucket.
type Bucket struct {
	client   *s3.Client
	uploader *manager.Uploader
	bucket   string
	prefix   string // "" or ending in "/"
	name     string // for String()
	pageSize int32
}

// New configures a client for the bucket. It does not contact the store; use
// storage.Check for that.
func New(ctx context.Context, opts Options) (*Bucket, error) {
	if opts.Bucket == "" {
		return nil, fmt.Errorf("s3 bucket: no bucket name given")
	}
	if strings.Contains(opts.Bucket, "/") {
		return nil, fmt.Errorf("s3 bucket %q: bucket names cannot contain '/'; put the folder in the prefix", opts.Bucket)
	}
	prefix := strings.Trim(opts.Prefix, "/")
	if prefix != "" {
		if err := base.ValidateKey(prefix); err != nil {
			return nil, fmt.Errorf("s3 bucket %s: prefix: %w", opts.Bucket, err)
		}
		prefix += "/"
	}
	if opts.AccessKeyID != "" && opts.SecretAccessKey == "" {
		return nil, fmt.Errorf("s3 bucket %s: an access key ID was given without its secret access key", opts.Bucket)
	}
	if opts.AccessKeyID == "" && opts.SecretAccessKey != "" {
		return nil, fmt.Errorf("s3 bucket %s: a secret access key was given without its access key ID", opts.Bucket)
	}
	var endpoint *url.URL
	if opts.Endpoint != "" {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("s3 bucket %s: endpoint %q must be an http:// or https:// URL with a host", opts.Bucket, redactURL(opts.Endpoint))
		}
		endpoint = u
	}
	if opts.PartSize == 0 {
		opts.PartSize = DefaultPartSize
	}
	if opts.PartSize < manager.MinUploadPartSize {
		return nil, fmt.Errorf("s3 bucket %s: part size %d is below the S3 minimum of %d bytes", opts.Bucket, opts.PartSize, manager.MinUploadPartSize)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Second
	}

	loadOpts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = opts.MaxAttempts
				o.MaxBackoff = opts.MaxBackoff
				// A token bucket shared across calls would turn a long outage
				// into "retry quota exceeded"; attempts are bounded anyway.
				o.RateLimiter = ratelimit.None
			})
		}),
		// Never log requests: signed headers and credentials must not reach logs.
		config.WithClientLogMode(0),
	}
	if opts.HTTPClient != nil {
		loadOpts = append(loadOpts, config.WithHTTPClient(opts.HTTPClient))
	} else {
		loadOpts = append(loadOpts, config.WithHTTPClient(defaultHTTPClient()))
	}
	if opts.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.Region))
	}
	if opts.AccessKeyID != "" {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, opts.SessionToken)))
	}
	if endpoint != nil {
		// Many S3-compatible stores reject or mishandle the CRC trailers the
		// SDK adds by default; integrity is checked end to end by the
		// snapshot manifests' hashes instead.
		loadOpts = append(loadOpts,
			config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
			config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("s3 bucket %s: load AWS configuration: %w", opts.Bucket, err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultEndpointRegion
	}

	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = opts.PathStyle
		if endpoint != nil {
			o.BaseEndpoint = aws.String(endpoint.String())
		}
	})
	uploader := manager.NewUploader(client, func(u *manager.Uploader) {
		u.PartSize = opts.PartSize
		u.Concurrency = opts.Concurrency
		u.LeavePartsOnError = false
	})

	name := "s3://" + opts.Bucket
	if prefix != "" {
		name += "/" + strings.TrimSuffix(prefix, "/")
	}
	if endpoint != nil {
		name += " at " + redactURL(opts.Endpoint)
	}
	return &Bucket{client: client, uploader: uploader, bucket: opts.Bucket, prefix: prefix, name: name, pageSize: opts.ListPageSize}, nil
}

func defaultHTTPClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 10 * time.Second }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.TLSHandshakeTimeout = 10 * time.Second
			// Time from sending the whole request to the first response
			// byte; CompleteMultipartUpload of a large object is the slowest.
			tr.ResponseHeaderTimeout = 2 * time.Minute
			tr.MaxIdleConnsPerHost = base.IdleConnsPerHost
		})
}

// String names the bucket, its prefix and endpoint; never credentials.
func (b *Bucket) String() string { return b.name }

// Client returns the underlying SDK client, for tests and tools.
func (b *Bucket) Client() *s3.Client { return b.client }

func (b *Bucket) objectKey(key string) (string, error) {
	if err := base.ValidateKey(key); err != nil {
		return "", fmt.Errorf("%w: %w", err, base.ErrPermanent)
	}
	return b.prefix + key, nil
}

// Read streams the object's content.
func (b *Bucket) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	k, err := b.objectKey(key)
	if err != nil {
		return nil, err
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: &k})
	if err != nil {
		return nil, b.opError(ctx, "read", key, err)
	}
	return out.Body, nil
}

// Stat describes the object. A missing bucket also reads as ErrNotExist here
// (HEAD responses carry no error code); storage.Check tells the two apart.
func (b *Bucket) Stat(ctx context.Context, key string) (base.ObjectInfo, error) {
	k, err := b.objectKey(key)
	if err != nil {
		return base.ObjectInfo{}, err
	}
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: &k})
	if err != nil {
		return base.ObjectInfo{}, b.opError(ctx, "stat", key, err)
	}
	return base.ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), Modified: aws.ToTime(out.LastModified)}, nil
}

// Write uploads the object, replacing any existing one. Objects larger than
// one part go up as a multipart upload, which S3 makes visible only on
// completion and aborts on error.
func (b *Bucket) Write(ctx context.Context, key string, r io.Reader, size int64) error {
	return b.put(ctx, "write", key, r, size, false)
}

// CreateIfAbsent uploads the object only if the key is free, using
// If-None-Match: * (on the PutObject, or on CompleteMultipartUpload).
func (b *Bucket) CreateIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	return b.put(ctx, "create", key, r, size, true)
}

func (b *Bucket) put(ctx context.Context, op, key string, r io.Reader, size int64, ifAbsent bool) error {
	k, err := b.objectKey(key)
	if err != nil {
		return err
	}
	body, mismatch := base.Exact(r, size)
	in := &s3.PutObjectInput{Bucket: &b.bucket, Key: &k, Body: body}
	if ifAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	if small, ok := base.SmallBody(r, size, b.uploader.PartSize); ok {
		// One PutObject, without the upload manager's part buffer.
		in.Body, in.ContentLength = small, aws.Int64(size)
		_, err = b.client.PutObject(ctx, in)
	} else {
		_, err = b.uploader.Upload(ctx, in)
	}
	if err != nil {
		if merr := mismatch(); merr != nil {
			return fmt.Errorf("%s %s in %s: %w", op, key, b, merr)
		}
		if ifAbsent && isPreconditionFailed(err) {
			return fmt.Errorf("%s %s in %s: %w", op, key, b, base.ErrExists)
		}
		return b.opError(ctx, op, key, err)
	}
	return nil
}

// Delete removes the object; S3 reports success for a missing key.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	k, err := b.objectKey(key)
	if err != nil {
		return err
	}
	_, err = b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: &k})
	if err != nil {
		err = b.opError(ctx, "delete", key, err)
		if errors.Is(err, base.ErrNotExist) {
			return nil
		}
		return err
	}
	return nil
}

// List pages through ListObjectsV2, which returns keys in UTF-8 binary
// order, the same as Go's string order.
func (b *Bucket) List(ctx context.Context, prefix string) iter.Seq2[base.ObjectInfo, error] {
	return func(yield func(base.ObjectInfo, error) bool) {
		if err := base.ValidatePrefix(prefix); err != nil {
			yield(base.ObjectInfo{}, fmt.Errorf("%w: %w", err, base.ErrPermanent))
			return
		}
		p := b.prefix + prefix
		in := &s3.ListObjectsV2Input{Bucket: &b.bucket, Prefix: &p}
		if b.pageSize > 0 {
			in.MaxKeys = aws.Int32(b.pageSize)
		}
		pages := s3.NewListObjectsV2Paginator(b.client, in)
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				yield(base.ObjectInfo{}, b.opError(ctx, "list", prefix, err))
				return
			}
			for _, obj := range page.Contents {
				k := aws.ToString(obj.Key)
				key, ok := strings.CutPrefix(k, b.prefix)
				if !ok || base.ValidateKey(key) != nil {
					continue // not addressable through this interface
				}
				info := base.ObjectInfo{Key: key, Size: aws.ToInt64(obj.Size), Modified: aws.ToTime(obj.LastModified)}
				if !yield(info, nil) {
					return
				}
			}
		}
	}
}

// opError maps an SDK error to the storage package's error kinds, adding what
// an operator should check.
func (b *Bucket) opError(ctx context.Context, op, key string, err error) error {
	return base.OpError(ctx, b, op, key, err, func(err error) error { return classify(b.bucket, err) })
}

// classify turns an SDK error into ErrNotExist, a wrapped ErrPermanent with
// advice, or the error itself (transient).
func classify(bucket string, err error) error {
	// Credentials are resolved before any request is sent, so no status or
	// code of the store's can be involved.
	if isCredentialsError(err) {
		advice := fmt.Sprintf("no usable credentials for bucket %s: set the access key and secret, or configure the AWS credential chain (AWS_* variables, IRSA, instance role)", bucket)
		if credentialsAbsent(err) {
			return base.Permanent(advice, err)
		}
		// Possibly transient (an instance-metadata hiccup), so not permanent.
		return fmt.Errorf("%s: %w", advice, err)
	}
	code, status := errorCode(err)
	switch code {
	case "NoSuchKey", "NotFound":
		return fmt.Errorf("%w (%w)", base.ErrNotExist, err)
	case "NoSuchBucket":
		return base.NoBucket(bucket, err)
	// versitygw answers a full filesystem with 507 InsufficientStorage and a
	// full quota with QuotaExceeded; MinIO with XMinioStorageFull.
	case "InsufficientStorage", "XMinioStorageFull", "QuotaExceeded":
		return noSpace(bucket, code, err)
	case "AccessDenied", "Forbidden", "AllAccessDisabled", "AccountProblem":
		return base.Permanent(fmt.Sprintf("access denied to bucket %s: check the access key and secret, and that they may use this bucket", bucket), err)
	// versitygw answers an unknown access key with 404 XAdminUserNotFound,
	// which must not read as a missing object.
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "InvalidSecurity", "XAdminUserNotFound":
		return base.Permanent(fmt.Sprintf("access denied to bucket %s: the store rejected the credentials (%s); check the access key and secret", bucket, code), err)
	case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
		return base.Permanent(fmt.Sprintf("bucket %s is in a different region than the one configured: set the region", bucket), err)
	case "InvalidBucketName":
		return base.Permanent(fmt.Sprintf("bucket name %q is not valid", bucket), err)
	case "RequestTimeTooSkewed":
		return base.Permanent("the store rejected the request time: fix this machine's clock", err)
	case "ExpiredToken", "RequestTimeout", "SlowDown", "ConditionalRequestConflict", "OperationAborted":
		return err // transient: refreshed credentials, retry, or back off
	}
	switch {
	case status == http.StatusInsufficientStorage:
		return noSpace(bucket, code, err)
	case status == http.StatusNotFound && code == "":
		return fmt.Errorf("%w (%w)", base.ErrNotExist, err)
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		return base.Permanent(fmt.Sprintf("access denied to bucket %s: check the access key and secret, and that they may use this bucket", bucket), err)
	case status == http.StatusMovedPermanently:
		return base.Permanent(fmt.Sprintf("bucket %s is in a different region than the one configured: set the region", bucket), err)
	case status >= 400 && status < 500 && status != http.StatusRequestTimeout &&
		status != http.StatusConflict && status != http.StatusTooManyRequests:
		return base.Permanent(fmt.Sprintf("bucket %s rejected the request", bucket), err)
	}
	return err
}

// isCredentialsError recognizes a failure to obtain credentials before any
// request was sent. The SDK gives it no type of its own.
func isCredentialsError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "get identity") || strings.Contains(msg, "retrieve credentials")
}

// credentialsAbsent recognizes a credential chain that ended with nothing to
// try: empty static keys, or instance metadata switched off
// (AWS_EC2_METADATA_DISABLED) after every other source came up empty. No
// retry changes that.
func credentialsAbsent(err error) bool {
	if _, ok := errors.AsType[*credentials.StaticCredentialsEmptyError](err); ok {
		return true
	}
	return strings.Contains(err.Error(), "access disabled to EC2 IMDS")
}

func noSpace(bucket, code string, err error) error {
	return fmt.Errorf("the store of bucket %s is full (%s): free space or raise its quota: %w: %w: %w", bucket, code, base.ErrNoSpace, base.ErrPermanent, err)
}

func errorCode(err error) (code string, status int) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	return code, status
}

func isPreconditionFailed(err error) bool {
	code, status := errorCode(err)
	return code == "PreconditionFailed" || status == http.StatusPreconditionFailed
}

// redactURL drops any user:password from an endpoint URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable endpoint)"
	}
	u.User = nil
	return u.String()
}
