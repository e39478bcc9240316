package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/gcs"
)

var gcsParams = []string{"endpoint", "chunk_size"}

// openGCS opens gs://bucket/prefix. Query parameters: endpoint (an
// emulator's base URL; STORAGE_EMULATOR_HOST works too) and chunk_size (the
// resumable upload's chunk, in bytes).
func openGCS(ctx context.Context, u *url.URL, shown string, opts Options) (Bucket, error) {
	if u.Host == "" {
		return nil, badURL("open bucket %s: no bucket name (use gs://bucket/prefix)", shown)
	}
	if u.Port() != "" {
		return nil, badURL("open bucket %s: the host part is the bucket name; give an emulator's address as ?endpoint=http://host:port", shown)
	}
	q, err := parseQuery(u.RawQuery, shown)
	if err != nil {
		return nil, err
	}
	if err := checkParams(q, gcsParams, shown); err != nil {
		return nil, err
	}
	o := gcs.Options{
		Bucket:          u.Host,
		Prefix:          u.Path,
		Endpoint:        q.Get("endpoint"),
		CredentialsFile: opts.GCSCredentialsFile,
		HTTPClient:      opts.HTTPClient,
	}
	if err := checkEndpoint(o.Endpoint, shown); err != nil {
		return nil, err
	}
	if v := q.Get("chunk_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, badURL("open bucket %s: chunk_size must be a positive number of bytes, not %q", shown, v)
		}
		o.ChunkSize = n
	}
	b, err := gcs.New(ctx, o)
	switch {
	case errors.Is(err, ErrPermanent):
		// Credentials that are missing or unreadable: not the URL's fault.
		return nil, fmt.Errorf("open bucket %s: %w", shown, err)
	case err != nil:
		return nil, badURL("open bucket %s: %w", shown, err)
	}
	return b, nil
}
