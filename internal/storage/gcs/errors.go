package gcs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// maxErrorBody bounds how much of an error answer is read for its message.
const maxErrorBody = 64 << 10

// APIError is an answer of the JSON API other than the one a request
// wanted: its HTTP status and the API's message (which names the bucket
// or object, never credentials).
type APIError struct {
	Code    int
	Message string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d", e.Code)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Code, e.Message)
}

// responseError reads and closes resp's body into an *APIError. The API
// answers {"error": {"code": 404, "message": "..."}}; an emulator or a
// proxy may answer plain text.
func responseError(resp *http.Response) error {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var parsed struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &parsed) == nil && parsed.Error.Message != "" {
		msg = parsed.Error.Message
	}
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	return &APIError{Code: resp.StatusCode, Message: msg}
}

// hasStatus reports whether err is the API's answer with that HTTP status.
func hasStatus(err error, code int) bool {
	apiErr, ok := errors.AsType[*APIError](err)
	return ok && apiErr.Code == code
}

// opError maps an error to the storage package's error kinds, adding what
// an operator should check.
func (b *Bucket) opError(ctx context.Context, op, key string, err error) error {
	return base.OpError(ctx, b, op, key, err, func(err error) error { return classify(b.name, err) })
}

// classify turns an error into ErrNoBucket, a wrapped ErrPermanent with
// advice, or the error itself (transient). Operations on one object turn a
// 404 into ErrNotExist before this; a 404 that reaches it comes from a
// request on the bucket itself (a listing or an upload), so it means the
// bucket is missing.
func classify(bucket string, err error) error {
	if tokenErr := credentialError(err); tokenErr != "" {
		return base.Permanent(fmt.Sprintf("Google refused the credentials for bucket %s (%s): check the key file or the workload identity binding", bucket, tokenErr), err)
	}
	apiErr, ok := errors.AsType[*APIError](err)
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

// credentialError describes a token request that a retry will not fix: the
// token endpoint's or the metadata server's refusal. "" otherwise (an
// outage there is transient).
func credentialError(err error) string {
	if r, ok := errors.AsType[*oauth2.RetrieveError](err); ok && r.Response != nil && isPermanentStatus(r.Response.StatusCode) {
		return fmt.Sprintf("token endpoint: HTTP %d", r.Response.StatusCode)
	}
	if _, ok := errors.AsType[metadata.NotDefinedError](err); ok {
		return "metadata server: no service account for this workload"
	}
	if m, ok := errors.AsType[*metadata.Error](err); ok && isPermanentStatus(m.Code) {
		return fmt.Sprintf("metadata server: HTTP %d", m.Code)
	}
	return ""
}

// isPermanentStatus: a 4xx other than a timeout, a conflict or throttling.
func isPermanentStatus(code int) bool {
	return code >= 400 && code < 500 && code != http.StatusRequestTimeout &&
		code != http.StatusConflict && code != http.StatusTooManyRequests
}
