package storage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/file"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/s3"
)

// Options are the settings of Open that do not belong in a bucket URL.
type Options struct {
	// AccessKeyID, SecretAccessKey and SessionToken are S3 credentials. When
	// AccessKeyID is empty the AWS SDK's default chain is used (environment,
	// shared config, web identity / IRSA, ECS and EC2 roles).
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// AzureAccountKey (shared key) or AzureSASToken (a shared access
	// signature) authenticate to Azure Blob Storage; with neither, Azure's
	// default credential chain is used (environment, workload identity,
	// managed identity, Azure CLI).
	AzureAccountKey string
	AzureSASToken   string
	// Retry bounds the retries of transient errors; zero fields take
	// DefaultRetryPolicy's values.
	Retry RetryPolicy
	// GCSCredentialsFile is a Google key file (service account, or
	// workload identity federation) for gs:// buckets. When empty,
	// application default credentials are used (GOOGLE_APPLICATION_CREDENTIALS,
	// workload identity on GKE, the metadata server).
	GCSCredentialsFile string
	// HTTPClient, when set, carries S3, GCS and Azure requests (custom
	// transports, and tests that count requests).
	HTTPClient *http.Client
}

// Open opens the bucket a URL names, wrapped with WithRetry:
//
//	file:///var/backups/chroma      a local or mounted folder
//	/var/backups/chroma             the same, as a plain path
//	s3://bucket                     an S3 bucket
//	s3://bucket/some/prefix?endpoint=http://127.0.0.1:7070&region=us-east-1&path_style=true
//	gs://bucket/some/prefix         a Google Cloud Storage bucket
//	azblob://account/container/prefix                          an Azure blob container
//	https://account.blob.core.windows.net/container/prefix     the same
//	azblob://devstoreaccount1/container?endpoint=http://127.0.0.1:10000/devstoreaccount1
//
// Azure query parameters: endpoint (the blob service URL, for Azurite or a
// sovereign cloud), block_size (bytes per staged block, at least 1 MiB) and
// concurrency (blocks uploaded at once).
//
// S3 query parameters: endpoint (base URL of an S3-compatible store; omit for
// AWS), region (default: the SDK's configuration, else us-east-1),
// path_style (true for most self-hosted stores), part_size (multipart part
// size in bytes, at least 5 MiB) and concurrency (parts uploaded at once).
// GCS query parameters: endpoint (an emulator's base URL) and chunk_size
// (resumable upload chunk in bytes; see gcs.Options).
// Credentials never go in the URL; they come from opts or the SDK's chain.
//
// Open does not contact the store; call Check for that.
func Open(ctx context.Context, rawURL string, opts Options) (Bucket, error) {
	b, err := openBackend(ctx, rawURL, opts)
	if err != nil {
		return nil, err
	}
	return WithRetry(b, opts.Retry), nil
}

func openBackend(ctx context.Context, rawURL string, opts Options) (Bucket, error) {
	if strings.TrimSpace(rawURL) == "" {
		return nil, badURL("open bucket: empty bucket URL: use file:///path, s3://bucket/prefix or gs://bucket/prefix")
	}
	if IsFolderPath(rawURL) {
		return openFile(rawURL, rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse's error repeats the URL, which could hold a secret.
		return nil, badURL("open bucket: malformed bucket URL %q", redactUserinfo(rawURL))
	}
	// The query may hold an endpoint with user:password; errors show only
	// scheme, bucket and path.
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	if u.User != nil {
		return nil, badURL("open bucket %s: the URL must not hold credentials: pass them as options (or use the SDK's credential chain)", shown)
	}
	if u.Fragment != "" {
		return nil, badURL("open bucket %s: unexpected '#' fragment", shown)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, badURL("open bucket %s: a file URL needs an absolute path (file:///path); %q reads as a host name", shown, u.Host)
		}
		if u.RawQuery != "" {
			return nil, badURL("open bucket %s: file URLs take no query parameters", shown)
		}
		if u.Path == "" {
			return nil, badURL("open bucket %s: no folder path (use file:///path)", shown)
		}
		return openFile(u.Path, shown)
	case "s3":
		return openS3(ctx, u, shown, opts)
	case "gs":
		return openGCS(ctx, u, shown, opts)
	case "azblob":
		return openAzblob(u, shown, opts)
	case "https":
		if strings.HasSuffix(u.Hostname(), azureHostSuffix) {
			return openAzblob(u, shown, opts)
		}
		return nil, badURL("open bucket %s: unsupported scheme \"https\" for a host that is not an Azure blob endpoint (account%s); for an S3-compatible store use s3://bucket?endpoint=https://host", shown, azureHostSuffix)
	default:
		return nil, badURL("open bucket %s: unsupported scheme %q: use file://, s3://, gs:// or azblob://", shown, u.Scheme)
	}
}

// IsFolderPath reports whether Open takes rawURL as a plain folder path
// (it has no scheme://), relative to the working directory unless absolute.
func IsFolderPath(rawURL string) bool { return !strings.Contains(rawURL, "://") }

func openFile(path, shown string) (Bucket, error) {
	if path == "" {
		return nil, badURL("open bucket %s: no folder path", shown)
	}
	b, err := file.New(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", shown, err)
	}
	return b, nil
}

var s3Params = []string{"endpoint", "region", "path_style", "part_size", "concurrency"}

func openS3(ctx context.Context, u *url.URL, shown string, opts Options) (Bucket, error) {
	if u.Host == "" {
		return nil, badURL("open bucket %s: no bucket name (use s3://bucket/prefix)", shown)
	}
	if u.Port() != "" {
		return nil, badURL("open bucket %s: the host part is the bucket name; give the store's address as ?endpoint=http://host:port", shown)
	}
	o := s3.Options{
		Bucket:          u.Host,
		Prefix:          u.Path,
		AccessKeyID:     opts.AccessKeyID,
		SecretAccessKey: opts.SecretAccessKey,
		SessionToken:    opts.SessionToken,
		// Open wraps the bucket with WithRetry, which backs off between
		// attempts; the SDK's own retries on top would multiply them.
		MaxAttempts: 1,
	}
	if opts.HTTPClient != nil {
		o.HTTPClient = opts.HTTPClient
	}
	q, err := parseQuery(u.RawQuery, shown)
	if err != nil {
		return nil, err
	}
	if err := checkParams(q, s3Params, shown); err != nil {
		return nil, err
	}
	o.Endpoint = q.Get("endpoint")
	o.Region = q.Get("region")
	if err := checkEndpoint(o.Endpoint, shown); err != nil {
		return nil, err
	}
	if o.Endpoint != "" {
		if o.Region == "" {
			o.Region = s3.DefaultEndpointRegion
		}
	}
	if v := q.Get("path_style"); v != "" {
		ps, err := strconv.ParseBool(v)
		if err != nil {
			return nil, badURL("open bucket %s: path_style must be true or false, not %q", shown, v)
		}
		o.PathStyle = ps
	}
	if v := q.Get("part_size"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return nil, badURL("open bucket %s: part_size must be a positive number of bytes, not %q", shown, v)
		}
		o.PartSize = n
	}
	if v := q.Get("concurrency"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, badURL("open bucket %s: concurrency must be a positive integer, not %q", shown, v)
		}
		o.Concurrency = n
	}
	b, err := s3.New(ctx, o)
	if err != nil {
		// New only checks the options (and reads the AWS configuration);
		// it sends nothing.
		return nil, badURL("open bucket %s: %w", shown, err)
	}
	return b, nil
}

// ErrBadURL marks a bucket URL (or bucket option) that is malformed, names
// an unknown scheme or parameter, or gives a value that is out of range: a
// wrong command line or configuration, not a failure of the store.
var ErrBadURL = errors.New("malformed bucket URL")

type urlError struct{ error }

func (e urlError) Unwrap() []error { return []error{e.error, ErrBadURL} }

// badURL formats an error that wraps ErrBadURL without repeating its text.
func badURL(format string, args ...any) error {
	return urlError{fmt.Errorf(format, args...)}
}

// parseQuery decodes a URL query strictly: url.Query drops a parameter
// whose escaping is broken (endpoint=http%3A%2F%2Fhost%3A7070%), which would
// silently send the data to AWS instead. Values are not shown: they could
// hold a secret.
func parseQuery(raw, shown string) (url.Values, error) {
	q := url.Values{}
	if raw == "" {
		return q, nil
	}
	for part := range strings.SplitSeq(raw, "&") {
		k, v, hasValue := strings.Cut(part, "=")
		name, err := url.QueryUnescape(k)
		if err != nil || name == "" {
			return nil, badURL("open bucket %s: a query parameter name is empty or not valid URL escaping", shown)
		}
		if strings.Contains(part, ";") {
			return nil, badURL("open bucket %s: parameter %q contains ';': separate parameters with '&'", shown, name)
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, badURL("open bucket %s: the value of parameter %q is not valid URL escaping (write %% as %%25)", shown, name)
		}
		if !hasValue || value == "" {
			return nil, badURL("open bucket %s: parameter %q has no value", shown, name)
		}
		q.Add(name, value)
	}
	return q, nil
}

// checkParams refuses a parameter not in known, or given more than once.
func checkParams(q url.Values, known []string, shown string) error {
	for name, values := range q {
		if !slices.Contains(known, name) {
			return badURL("open bucket %s: unknown parameter %q (known: %s)", shown, name, strings.Join(known, ", "))
		}
		if len(values) != 1 {
			return badURL("open bucket %s: parameter %q given %d times", shown, name, len(values))
		}
	}
	return nil
}

// checkEndpoint accepts "" or an http(s) URL with a host and no
// credentials.
func checkEndpoint(raw, shown string) error {
	if raw == "" {
		return nil
	}
	e, err := url.Parse(raw)
	if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
		return badURL("open bucket %s: endpoint must be an http:// or https:// URL, e.g. endpoint=http://127.0.0.1:7070", shown)
	}
	if e.User != nil {
		return badURL("open bucket %s: the endpoint must not hold credentials: pass them as options", shown)
	}
	return nil
}

// redactUserinfo hides anything between "://" and "@" in a URL that did not
// parse.
func redactUserinfo(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if slash := strings.IndexByte(rest, '/'); slash < 0 || at < slash {
			return scheme + "://xxxxx@" + rest[at+1:]
		}
	}
	return raw
}

// checkPrefix is where Check looks: listing a prefix that holds nothing is the
// cheapest request that still proves the bucket exists and the credentials
// may read it.
const checkPrefix = ".bucket-check/"

// Check probes the bucket with one cheap listing and returns an error saying
// what is wrong: unreachable store, denied credentials, missing bucket. Errors
// that retrying will not fix wrap ErrPermanent. With a retry-wrapped bucket
// (from Open) a transient failure is retried first, within ctx.
func Check(ctx context.Context, b Bucket) error {
	for _, err := range b.List(ctx, checkPrefix) {
		if err != nil {
			if !IsTransient(err) {
				return fmt.Errorf("check bucket %s: %w", b, err)
			}
			return fmt.Errorf("check bucket %s: cannot reach the store (network, endpoint or outage?): %w", b, err)
		}
		break
	}
	return nil
}
