package gcs

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// The answers fake-gcs-server cannot give (it checks no credentials); the
// emulator tests cover the rest.
func TestClassify(t *testing.T) {
	tokenRefused := &oauth2.RetrieveError{Response: &http.Response{StatusCode: http.StatusBadRequest}, ErrorCode: "invalid_grant"}
	tokenOutage := &oauth2.RetrieveError{Response: &http.Response{StatusCode: http.StatusServiceUnavailable}}
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
		want      error // also wrapped, when not nil
	}{
		{"missing bucket", &APIError{Code: http.StatusNotFound}, true, base.ErrNoBucket},
		{"no permission", &APIError{Code: http.StatusForbidden}, true, nil},
		{"bad token", &APIError{Code: http.StatusUnauthorized}, true, nil},
		{"bad request", &APIError{Code: http.StatusBadRequest}, true, nil},
		{"token refused", fmt.Errorf("get token: %w", tokenRefused), true, nil},
		{"token endpoint down", fmt.Errorf("get token: %w", tokenOutage), false, nil},
		{"no service account on the metadata server", metadata.NotDefinedError("instance/service-accounts/default/token"), true, nil},
		{"metadata server refuses", &metadata.Error{Code: http.StatusForbidden}, true, nil},
		{"metadata server down", &metadata.Error{Code: http.StatusServiceUnavailable}, false, nil},
		{"timeout", &APIError{Code: http.StatusRequestTimeout}, false, nil},
		{"conflict", &APIError{Code: http.StatusConflict}, false, nil},
		{"throttled", &APIError{Code: http.StatusTooManyRequests}, false, nil},
		{"server error", &APIError{Code: http.StatusServiceUnavailable}, false, nil},
		{"network", errors.New("connection reset by peer"), false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := classify("bkt", tc.err)
			if errors.Is(got, base.ErrPermanent) != tc.permanent {
				t.Errorf("classify = %v; permanent %v, want %v", got, !tc.permanent, tc.permanent)
			}
			if tc.want != nil && !errors.Is(got, tc.want) {
				t.Errorf("classify = %v, want it to wrap %v", got, tc.want)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("classify = %v lost the original error", got)
			}
		})
	}
}

// The API's JSON error, an emulator's plain text, and an endless body all
// become a short APIError with the status.
func TestResponseError(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"json", `{"error":{"code":403,"message":"caller does not have storage.objects.get access"}}`, "HTTP 403: caller does not have storage.objects.get access"},
		{"text", "Forbidden\n", "HTTP 403: Forbidden"},
		{"empty", "", "HTTP 403"},
		{"long", strings.Repeat("x", 1<<20), "HTTP 403: " + strings.Repeat("x", 300) + "..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: http.StatusForbidden, Body: io.NopCloser(strings.NewReader(tc.body))}
			err := responseError(resp)
			if err.Error() != tc.want || !hasStatus(err, http.StatusForbidden) {
				t.Fatalf("responseError = %q, want %q", err, tc.want)
			}
		})
	}
}
