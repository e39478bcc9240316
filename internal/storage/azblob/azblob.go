// Package azblob is a storage.Bucket on an Azure Blob Storage container (or
// the Azurite emulator).
//
// Objects go up as block blobs through the SDK's streaming uploader: blocks
// are staged and the blob appears only when its block list is committed, so
// a crash never leaves a partial object, and memory stays at about
// BlockSize × Concurrency (the SDK's block buffers) however large or unsized
// the source is.
// CreateIfAbsent commits with If-None-Match: *, which the service resolves
// atomically.
//
// Errors that no retry can fix (denied credentials, missing container) wrap
// base.ErrPermanent and say what to check.
package azblob

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// Defaults for Options fields left zero.
const (
	DefaultBlockSize   = 8 << 20
	DefaultConcurrency = 2
	// MinBlockSize is the smallest buffer the SDK's uploader accepts.
	MinBlockSize = 1 << 20
)

// Options configures a Bucket. Account and Container are required.
type Options struct {
	// Account is the storage account name.
	Account string
	// Container is the blob container's name.
	Container string
	// Prefix is prepended to every key, as a folder.
	Prefix string
	// Endpoint is the blob service's base URL, e.g.
	// "http://127.0.0.1:10000/devstoreaccount1" for Azurite. Empty means
	// https://<account>.blob.core.windows.net.
	Endpoint string
	// AccountKey selects shared-key authentication; SASToken a shared
	// access signature (the query string, with or without its '?'). With
	// neither, azidentity's default chain is used: environment (service
	// principal), workload identity (AKS), managed identity, Azure CLI.
	AccountKey string
	SASToken   string
	// BlockSize is the size of each staged block (at least 1 MiB, default
	// 8 MiB); a blob holds at most 50,000 blocks.
	BlockSize int64
	// Concurrency is the number of blocks uploaded at once (default 2).
	Concurrency int
	// MaxRetries bounds the SDK's own retries per request; zero keeps the
	// SDK's default (3), a negative value disables them.
	MaxRetries int32
	// ListPageSize is the number of blobs asked for per listing request;
	// zero leaves it to the service (5000).
	ListPageSize int32
	// Transport replaces the SDK's HTTP client (tests, proxies).
	Transport policy.Transporter
}

// Bucket is a storage.Bucket on one container.
type Bucket struct {
	client      *container.Client
	prefix      string // "" or ending in "/"
	name        string // for String()
	blockSize   int64
	concurrency int
	pageSize    int32
}

// New configures a client for the container. It does not contact the
// service; use storage.Check for that.
func New(opts Options) (*Bucket, error) {
	prefix, err := checkOptions(&opts)
	if err != nil {
		return nil, err
	}
	containerURL, err := containerURL(opts)
	if err != nil {
		return nil, err
	}
	client, err := newClient(containerURL, opts)
	if err != nil {
		return nil, fmt.Errorf("azure container %s: %w", opts.Container, err)
	}
	name := "azblob://" + opts.Account + "/" + opts.Container
	if prefix != "" {
		name += "/" + strings.TrimSuffix(prefix, "/")
	}
	if opts.Endpoint != "" {
		name += " at " + redactURL(opts.Endpoint)
	}
	return &Bucket{client: client, prefix: prefix, name: name, blockSize: opts.BlockSize,
		concurrency: opts.Concurrency, pageSize: opts.ListPageSize}, nil
}

// checkOptions validates opts, fills in defaults and returns the prefix
// ("" or ending in "/").
func checkOptions(opts *Options) (string, error) {
	if opts.Account == "" || strings.Contains(opts.Account, "/") {
		return "", fmt.Errorf("azure: storage account name %q is empty or contains '/'", opts.Account)
	}
	if opts.Container == "" || strings.Contains(opts.Container, "/") {
		return "", fmt.Errorf("azure account %s: container name %q is empty or contains '/'", opts.Account, opts.Container)
	}
	if opts.AccountKey != "" && opts.SASToken != "" {
		return "", fmt.Errorf("azure container %s: give an account key or a SAS token, not both", opts.Container)
	}
	prefix := strings.Trim(opts.Prefix, "/")
	if prefix != "" {
		if err := base.ValidateKey(prefix); err != nil {
			return "", fmt.Errorf("azure container %s: prefix: %w", opts.Container, err)
		}
		prefix += "/"
	}
	if opts.BlockSize == 0 {
		opts.BlockSize = DefaultBlockSize
	}
	if opts.BlockSize < MinBlockSize {
		return "", fmt.Errorf("azure container %s: block size %d is below the minimum of %d bytes", opts.Container, opts.BlockSize, MinBlockSize)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	return prefix, nil
}

func containerURL(opts Options) (string, error) {
	endpoint := "https://" + opts.Account + ".blob.core.windows.net"
	if opts.Endpoint != "" {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			return "", fmt.Errorf("azure container %s: endpoint %q must be an http:// or https:// URL with a host and no credentials or query", opts.Container, redactURL(opts.Endpoint))
		}
		endpoint = strings.TrimSuffix(opts.Endpoint, "/")
	}
	return endpoint + "/" + url.PathEscape(opts.Container), nil
}

func newClient(containerURL string, opts Options) (*container.Client, error) {
	co := &container.ClientOptions{}
	co.Retry.MaxRetries = opts.MaxRetries
	co.Logging.IncludeBody = false
	co.Transport = opts.Transport
	if co.Transport == nil {
		co.Transport = defaultClient()
	}
	switch {
	case opts.AccountKey != "":
		cred, err := container.NewSharedKeyCredential(opts.Account, opts.AccountKey)
		if err != nil {
			// The SDK's message could quote the key; say only what is wrong.
			return nil, errors.New("the account key is not valid base64")
		}
		return container.NewClientWithSharedKeyCredential(containerURL, cred, co)
	case opts.SASToken != "":
		return container.NewClientWithNoCredential(containerURL+"?"+strings.TrimPrefix(opts.SASToken, "?"), co)
	default:
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("set up Azure's default credential chain: %w", err)
		}
		return container.NewClient(containerURL, cred, co)
	}
}

// String names the container, its prefix and endpoint; never credentials.
func (b *Bucket) String() string { return b.name }

// Client returns the underlying SDK client, for tests and tools.
func (b *Bucket) Client() *container.Client { return b.client }

func (b *Bucket) blobClient(key string) (*blockblob.Client, error) {
	if err := base.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("%w: %w", err, base.ErrPermanent)
	}
	return b.client.NewBlockBlobClient(b.prefix + key), nil
}

// Read streams the blob's content.
func (b *Bucket) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	bc, err := b.blobClient(key)
	if err != nil {
		return nil, err
	}
	resp, err := bc.DownloadStream(ctx, nil)
	if err != nil {
		return nil, b.opError(ctx, "read", key, err)
	}
	return resp.Body, nil
}

// Stat describes the blob. A missing container also reads as ErrNotExist
// here (HEAD responses carry no error code); storage.Check tells them apart.
func (b *Bucket) Stat(ctx context.Context, key string) (base.ObjectInfo, error) {
	bc, err := b.blobClient(key)
	if err != nil {
		return base.ObjectInfo{}, err
	}
	props, err := bc.GetProperties(ctx, nil)
	if err != nil {
		return base.ObjectInfo{}, b.opError(ctx, "stat", key, err)
	}
	info := base.ObjectInfo{Key: key}
	if props.ContentLength != nil {
		info.Size = *props.ContentLength
	}
	if props.LastModified != nil {
		info.Modified = *props.LastModified
	}
	return info, nil
}

// Write uploads the blob, replacing any existing one.
func (b *Bucket) Write(ctx context.Context, key string, r io.Reader, size int64) error {
	return b.put(ctx, "write", key, r, size, false)
}

// CreateIfAbsent uploads the blob only if the key is free: the upload (or
// the commit of its block list) carries If-None-Match: *.
func (b *Bucket) CreateIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	return b.put(ctx, "create", key, r, size, true)
}

func (b *Bucket) put(ctx context.Context, op, key string, r io.Reader, size int64, ifAbsent bool) error {
	bc, err := b.blobClient(key)
	if err != nil {
		return err
	}
	body, mismatch := base.Exact(r, size)
	var access *blob.AccessConditions
	if ifAbsent {
		access = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: new(azcore.ETagAny)}}
	}
	if small, ok := base.SmallBody(r, size, b.blockSize); ok {
		// One Put Blob, without UploadStream's block buffers.
		_, err = bc.Upload(ctx, streaming.NopCloser(small), &blockblob.UploadOptions{AccessConditions: access})
	} else {
		o := &blockblob.UploadStreamOptions{BlockSize: b.blockSize, Concurrency: b.concurrency, AccessConditions: access}
		_, err = bc.UploadStream(ctx, body, o)
	}
	if err != nil {
		if merr := mismatch(); merr != nil {
			return fmt.Errorf("%s %s in %s: %w", op, key, b, merr)
		}
		if ifAbsent && isAlreadyExists(err) {
			return fmt.Errorf("%s %s in %s: %w", op, key, b, base.ErrExists)
		}
		return b.opError(ctx, op, key, err)
	}
	return nil
}

// Delete removes the blob; a missing one is not an error.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	bc, err := b.blobClient(key)
	if err != nil {
		return err
	}
	if _, err := bc.Delete(ctx, nil); err != nil {
		err = b.opError(ctx, "delete", key, err)
		if errors.Is(err, base.ErrNotExist) {
			return nil
		}
		return err
	}
	return nil
}

// List pages through the container's flat listing, which Azure returns in
// lexical (UTF-8 byte) order, the same as Go's string order.
func (b *Bucket) List(ctx context.Context, prefix string) iter.Seq2[base.ObjectInfo, error] {
	return func(yield func(base.ObjectInfo, error) bool) {
		if err := base.ValidatePrefix(prefix); err != nil {
			yield(base.ObjectInfo{}, fmt.Errorf("%w: %w", err, base.ErrPermanent))
			return
		}
		o := &container.ListBlobsFlatOptions{Prefix: new(b.prefix + prefix)}
		if b.pageSize > 0 {
			o.MaxResults = new(b.pageSize)
		}
		pages := b.client.NewListBlobsFlatPager(o)
		for pages.More() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				yield(base.ObjectInfo{}, b.opError(ctx, "list", prefix, err))
				return
			}
			for _, item := range page.Segment.BlobItems {
				info, ok := b.objectInfo(item)
				if ok && !yield(info, nil) {
					return
				}
			}
		}
	}
}

// objectInfo describes a listed blob, or reports false for a name this
// interface cannot address.
func (b *Bucket) objectInfo(item *container.BlobItem) (base.ObjectInfo, bool) {
	if item == nil || item.Name == nil {
		return base.ObjectInfo{}, false
	}
	key, ok := strings.CutPrefix(*item.Name, b.prefix)
	if !ok || base.ValidateKey(key) != nil {
		return base.ObjectInfo{}, false
	}
	info := base.ObjectInfo{Key: key}
	if p := item.Properties; p != nil {
		if p.ContentLength != nil {
			info.Size = *p.ContentLength
		}
		if p.LastModified != nil {
			info.Modified = *p.LastModified
		}
	}
	return info, true
}

// redactURL drops any user:password and query (a SAS) from an endpoint URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable endpoint)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

// defaultClient is the SDK's default HTTP client with room for a restore's
// connections (base.IdleConnsPerHost idle ones to the account).
func defaultClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 100
	tr.MaxIdleConnsPerHost = base.IdleConnsPerHost
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}
}
