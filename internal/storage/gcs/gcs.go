// Package gcs is a storage.Bucket on Google Cloud Storage (or an emulator
// such as fake-gcs-server), spoken to through GCS's JSON API over plain
// net/http, with OAuth2 tokens from golang.org/x/oauth2/google.
//
// Objects go up in one request (uploadType=media) when they fit in one
// chunk, else as a resumable upload in ChunkSize pieces. Each write buffers
// at most one chunk (an object of known smaller size: its own size) plus one
// byte, so memory stays bounded however large or unsized the source is. The
// request that completes an object is sent only once the reader has given
// every byte it promised: GCS makes the object visible only then, so a write
// that fails or is canceled leaves nothing. CreateIfAbsent is an upload with
// the ifGenerationMatch=0 precondition, which GCS resolves atomically.
//
// The package retries nothing itself: storage.Open wraps the bucket with
// storage.WithRetry, which owns the retry policy for every backend.
package gcs

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// Defaults for Options fields left zero.
const (
	DefaultChunkSize = 8 << 20
	// chunkQuantum: GCS takes a resumable upload's chunks (all but the
	// last) in multiples of 256 KiB.
	chunkQuantum = 256 << 10
	// googleEndpoint is the JSON API's base URL.
	googleEndpoint = "https://storage.googleapis.com"
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
	// each write of a large or unsized object holds (default 8 MiB; rounded
	// up to a multiple of 256 KiB, as GCS requires).
	ChunkSize int
	// ListPageSize is the number of objects asked for per listing request;
	// zero leaves it to the store (1000 on GCS).
	ListPageSize int
	// HTTPClient, when set, carries the requests (its Transport; the token
	// requests of key-file credentials too): custom transports, and tests.
	HTTPClient *http.Client
}

// Bucket is a storage.Bucket on a GCS bucket.
type Bucket struct {
	client    *http.Client
	transport http.RoundTripper // under client's token layer
	endpoint  string            // JSON API base URL, no trailing slash
	name      string            // bucket name
	prefix    string            // "" or ending in "/"
	shown     string            // for String()
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
	endpoint, emulator := resolveEndpoint(opts.Endpoint)
	transport := transportFor(opts)
	client, err := newHTTPClient(ctx, opts, transport, emulator)
	if err != nil {
		return nil, err
	}
	shown := "gs://" + opts.Bucket
	if prefix != "" {
		shown += "/" + strings.TrimSuffix(prefix, "/")
	}
	if opts.Endpoint != "" {
		shown += " at " + opts.Endpoint
	}
	return &Bucket{
		client: client, transport: transport, endpoint: endpoint, name: opts.Bucket, prefix: prefix, shown: shown,
		chunkSize: opts.ChunkSize, pageSize: opts.ListPageSize,
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
	opts.ChunkSize = (opts.ChunkSize + chunkQuantum - 1) / chunkQuantum * chunkQuantum
	return prefix, nil
}

// resolveEndpoint returns the JSON API's base URL and whether it is an
// emulator: the configured endpoint (an emulator when http://), else
// STORAGE_EMULATOR_HOST (host:port or a URL, as every Google client reads
// it), else Google's.
func resolveEndpoint(configured string) (endpoint string, emulator bool) {
	if configured != "" {
		return strings.TrimSuffix(configured, "/"), strings.HasPrefix(configured, "http://")
	}
	if host := os.Getenv("STORAGE_EMULATOR_HOST"); host != "" {
		if !strings.Contains(host, "://") {
			host = "http://" + host
		}
		return strings.TrimSuffix(host, "/"), true
	}
	return googleEndpoint, false
}

// String names the bucket, its prefix and endpoint; never credentials.
func (b *Bucket) String() string { return b.shown }

// Close releases the idle connections (the token layer does not pass the
// call on, so it goes to the transport underneath).
func (b *Bucket) Close() error {
	if t, ok := b.transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	return nil
}

// objectName is the stored name of key.
func (b *Bucket) objectName(key string) (string, error) {
	if err := base.ValidateKey(key); err != nil {
		return "", fmt.Errorf("%w: %w", err, base.ErrPermanent)
	}
	return b.prefix + key, nil
}
