// Package gcs is a storage.Bucket on Google Cloud Storage (or an emulator
// such as fake-gcs-server).
//
// Objects go up with the SDK's uploads: one request when the object fits in
// one chunk, else a resumable upload in ChunkSize pieces. Each write buffers
// at most one chunk (an object of known smaller size: its own size), so
// memory stays bounded however large or unsized the source is, and nothing
// is sent before the reader has given the bytes it promised. GCS makes the
// object visible only once the upload completes; a write that fails or is
// canceled leaves nothing.
// CreateIfAbsent is an upload with the DoesNotExist precondition
// (ifGenerationMatch=0), which GCS resolves atomically.
package gcs

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// Defaults for Options fields left zero.
const (
	DefaultChunkSize   = 8 << 20
	DefaultMaxAttempts = 3
)

// Options configures a Bucket. Only Bucket is required.
type Options struct {
	// Bucket is the bucket name.
	Bucket string
	// Prefix is prepended to every key, as a folder: "backups/prod" stores
	// key "x" as "backups/prod/x".
	Prefix string
	// Endpoint is the base URL of an emulator or private endpoint, e.g.
	// "http://127.0.0.1:4443". Empty means Google's, or the emulator that
	// STORAGE_EMULATOR_HOST names. An http:// endpoint is an emulator and
	// gets no credentials: they never travel unencrypted.
	Endpoint string
	// CredentialsFile is a service account key or workload identity
	// federation (external_account) JSON file. Empty means application
	// default credentials: GOOGLE_APPLICATION_CREDENTIALS, gcloud's
	// login, or the metadata server (workload identity on GKE).
	CredentialsFile string
	// ChunkSize is the resumable upload's chunk size in bytes, the memory
	// each write of a large or unsized object holds (default 8 MiB; the
	// SDK rounds it up to a multiple of 256 KiB).
	ChunkSize int
	// MaxAttempts bounds the SDK's own attempts per request and per upload
	// chunk (default 3); 1 turns the SDK's retries off, for a caller that
	// retries itself (storage.Open, under storage.WithRetry).
	MaxAttempts int
	// ListPageSize is the number of objects asked for per listing request;
	// zero leaves it to the store (1000 on GCS).
	ListPageSize int
}

// Bucket is a storage.Bucket on a GCS bucket.
type Bucket struct {
	client    *storage.Client
	bucket    *storage.BucketHandle
	name      string // bucket name, for errors
	prefix    string // "" or ending in "/"
	shown     string // for String()
	chunkSize int
	pageSize  int
}

// New configures a client for the bucket. It does not contact the store
// (use storage.Check for that), but it does look for credentials: errors
// about them wrap base.ErrPermanent; errors about opts do not.
func New(ctx context.Context, opts Options) (*Bucket, error) {
	prefix, err := checkOptions(&opts)
	if err != nil {
		return nil, err
	}
	clientOpts, err := clientOptions(opts)
	if err != nil {
		return nil, err
	}
	client, err := storage.NewClient(ctx, clientOpts...)
	if err != nil {
		return nil, base.Permanent(fmt.Sprintf("gcs bucket %s: no usable Google credentials: set GOOGLE_APPLICATION_CREDENTIALS or credentials_file, run on GKE with workload identity, or give an emulator endpoint", opts.Bucket), err)
	}
	client.SetRetry(retryOptions(opts.MaxAttempts)...)
	shown := "gs://" + opts.Bucket
	if prefix != "" {
		shown += "/" + strings.TrimSuffix(prefix, "/")
	}
	if opts.Endpoint != "" {
		shown += " at " + opts.Endpoint
	}
	return &Bucket{
		client: client, bucket: client.Bucket(opts.Bucket), name: opts.Bucket,
		prefix: prefix, shown: shown, chunkSize: opts.ChunkSize, pageSize: opts.ListPageSize,
	}, nil
}

// checkOptions validates opts, fills in defaults, and returns the prefix
// as stored ("" or ending in "/").
func checkOptions(opts *Options) (string, error) {
	if opts.Bucket == "" {
		return "", fmt.Errorf("gcs bucket: no bucket name given")
	}
	if strings.Contains(opts.Bucket, "/") {
		return "", fmt.Errorf("gcs bucket %q: bucket names cannot contain '/'; put the folder in the prefix", opts.Bucket)
	}
	prefix := strings.Trim(opts.Prefix, "/")
	if prefix != "" {
		if err := base.ValidateKey(prefix); err != nil {
			return "", fmt.Errorf("gcs bucket %s: prefix: %w", opts.Bucket, err)
		}
		prefix += "/"
	}
	if opts.Endpoint != "" {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return "", fmt.Errorf("gcs bucket %s: the endpoint must be an http:// or https:// URL with a host and no credentials, e.g. http://127.0.0.1:4443", opts.Bucket)
		}
	}
	if opts.ChunkSize < 0 {
		return "", fmt.Errorf("gcs bucket %s: chunk size %d is negative", opts.Bucket, opts.ChunkSize)
	}
	if opts.ChunkSize == 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	return prefix, nil
}

func clientOptions(opts Options) ([]option.ClientOption, error) {
	// The SDK would otherwise export its own metrics to Cloud Monitoring
	// from the customer's project.
	o := []option.ClientOption{storage.WithDisabledClientMetrics()}
	if opts.Endpoint != "" {
		o = append(o, option.WithEndpoint(strings.TrimSuffix(opts.Endpoint, "/")+"/storage/v1/"))
		if strings.HasPrefix(opts.Endpoint, "http://") {
			o = append(o, option.WithoutAuthentication())
			return o, nil
		}
	}
	if opts.CredentialsFile != "" {
		credOpt, err := credentialsFileOption(opts.Bucket, opts.CredentialsFile)
		if err != nil {
			return nil, err
		}
		o = append(o, credOpt)
	}
	return o, nil
}

// retryOptions sets the SDK's retries: off for maxAttempts 1, else that
// many attempts of the requests the SDK deems idempotent (reads, listings,
// deletes, and uploads under a precondition or in resumable chunks).
func retryOptions(maxAttempts int) []storage.RetryOption {
	if maxAttempts == 1 {
		return []storage.RetryOption{storage.WithPolicy(storage.RetryNever)}
	}
	return []storage.RetryOption{storage.WithPolicy(storage.RetryIdempotent), storage.WithMaxAttempts(maxAttempts)}
}

// String names the bucket, its prefix and endpoint; never credentials.
func (b *Bucket) String() string { return b.shown }

// Client returns the underlying SDK client, for tests and tools.
func (b *Bucket) Client() *storage.Client { return b.client }

// Close releases the client's connections.
func (b *Bucket) Close() error { return b.client.Close() }

func (b *Bucket) object(key string) (*storage.ObjectHandle, error) {
	if err := base.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("%w: %w", err, base.ErrPermanent)
	}
	return b.bucket.Object(b.prefix + key), nil
}
