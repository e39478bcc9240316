package gcs

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// opError maps an SDK error to the storage package's error kinds, adding what
// an operator should check.
func (b *Bucket) opError(ctx context.Context, op, key string, err error) error {
	return base.OpError(ctx, b, op, key, err, func(err error) error { return classify(b.name, err) })
}

// classify turns an SDK error into ErrNotExist, ErrNoBucket, a wrapped
// ErrPermanent with advice, or the error itself (transient). A 404 that is
// not the SDK's ErrObjectNotExist comes from a request on the bucket itself
// (a listing or an upload), so it means the bucket is missing.
func classify(bucket string, err error) error {
	switch {
	case errors.Is(err, storage.ErrObjectNotExist):
		return fmt.Errorf("%w (%w)", base.ErrNotExist, err)
	case errors.Is(err, storage.ErrBucketNotExist):
		return base.NoBucket(bucket, err)
	}
	if authErr, ok := errors.AsType[*auth.Error](err); ok && authErr.Response != nil && isPermanentStatus(authErr.Response.StatusCode) {
		return base.Permanent(fmt.Sprintf("Google refused the credentials for bucket %s (HTTP %d): check the key file or the workload identity binding", bucket, authErr.Response.StatusCode), err)
	}
	apiErr, ok := errors.AsType[*googleapi.Error](err)
	if !ok {
		return err // network errors and the like: transient
	}
	switch code := apiErr.Code; {
	case code == http.StatusNotFound:
		return base.NoBucket(bucket, err)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return base.Permanent(fmt.Sprintf("access denied to bucket %s: check that the service account holds roles/storage.objectUser (or the custom role in the README) on it", bucket), err)
	case isPermanentStatus(code):
		return base.Permanent(fmt.Sprintf("bucket %s rejected the request (HTTP %d)", bucket, code), err)
	}
	return err
}

// isPermanentStatus: a 4xx other than a timeout, a conflict or throttling.
func isPermanentStatus(code int) bool {
	return code >= 400 && code < 500 && code != http.StatusRequestTimeout &&
		code != http.StatusConflict && code != http.StatusTooManyRequests
}

func isPreconditionFailed(err error) bool {
	apiErr, ok := errors.AsType[*googleapi.Error](err)
	return ok && apiErr.Code == http.StatusPreconditionFailed
}
