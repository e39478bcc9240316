package storage

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/azblob"
)

var azblobParams = []string{"endpoint", "block_size", "concurrency"}

// azureHostSuffix ends the host name of every public-cloud blob endpoint.
const azureHostSuffix = ".blob.core.windows.net"

// openAzblob opens azblob://account/container/prefix, or the blob endpoint
// URL Azure's portal shows, https://account.blob.core.windows.net/container/prefix.
func openAzblob(u *url.URL, shown string, opts Options) (Bucket, error) {
	account, container, prefix, err := azblobLocation(u, shown)
	if err != nil {
		return nil, err
	}
	q, err := parseQuery(u.RawQuery, shown)
	if err != nil {
		return nil, err
	}
	if q.Has("sig") {
		return nil, badURL("open bucket %s: the URL holds a shared access signature: pass it as the SAS token option instead, so it is never shown", shown)
	}
	if err := checkParams(q, azblobParams, shown); err != nil {
		return nil, err
	}
	o := azblob.Options{
		Account: account, Container: container, Prefix: prefix,
		Endpoint:   q.Get("endpoint"),
		AccountKey: opts.AzureAccountKey, SASToken: opts.AzureSASToken,
		// Open wraps the bucket with WithRetry, which backs off between
		// attempts; the SDK's own retries on top would multiply them.
		MaxRetries: -1,
	}
	if opts.HTTPClient != nil {
		o.Transport = opts.HTTPClient
	}
	if u.Scheme == "https" && o.Endpoint != "" {
		return nil, badURL("open bucket %s: an https:// blob URL is its own endpoint; use azblob://account/container?endpoint=... for another one", shown)
	}
	if o.BlockSize, err = positiveParam(q, "block_size", shown); err != nil {
		return nil, err
	}
	concurrency, err := positiveParam(q, "concurrency", shown)
	if err != nil {
		return nil, err
	}
	o.Concurrency = int(concurrency)
	b, err := azblob.New(o)
	if err != nil {
		// New only checks the options; it sends nothing.
		return nil, badURL("open bucket %s: %w", shown, err)
	}
	return b, nil
}

func azblobLocation(u *url.URL, shown string) (account, container, prefix string, err error) {
	path := strings.TrimPrefix(u.Path, "/")
	if u.Scheme == "https" {
		account, _ = strings.CutSuffix(u.Hostname(), azureHostSuffix)
		if u.Port() != "" {
			return "", "", "", badURL("open bucket %s: an Azure blob URL has no port", shown)
		}
	} else {
		account = u.Host
		if u.Port() != "" {
			return "", "", "", badURL("open bucket %s: the host part is the storage account; give the service's address as ?endpoint=http://host:port/account", shown)
		}
	}
	container, prefix, _ = strings.Cut(path, "/")
	if account == "" || container == "" {
		return "", "", "", badURL("open bucket %s: use azblob://account/container/prefix (or https://account%s/container/prefix)", shown, azureHostSuffix)
	}
	return account, container, prefix, nil
}

// positiveParam parses an optional positive integer parameter (0 if absent).
func positiveParam(q url.Values, name, shown string) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, badURL("open bucket %s: %s must be a positive integer, not %q", shown, name, v)
	}
	return n, nil
}
