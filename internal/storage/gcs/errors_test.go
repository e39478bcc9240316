package gcs

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// The answers fake-gcs-server cannot give (it checks no credentials), as
// the SDK reports them; the emulator tests cover the rest.
func TestClassify(t *testing.T) {
	tokenRefused := &auth.Error{Response: &http.Response{StatusCode: http.StatusBadRequest}, Err: errors.New("invalid_grant")}
	tokenOutage := &auth.Error{Response: &http.Response{StatusCode: http.StatusServiceUnavailable}, Err: errors.New("unavailable")}
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
		want      error // also wrapped, when not nil
	}{
		{"object missing", fmt.Errorf("read: %w", storage.ErrObjectNotExist), false, base.ErrNotExist},
		{"bucket missing", storage.ErrBucketNotExist, true, base.ErrNoBucket},
		{"upload to a missing bucket", &googleapi.Error{Code: http.StatusNotFound}, true, base.ErrNoBucket},
		{"no permission", &googleapi.Error{Code: http.StatusForbidden}, true, nil},
		{"bad token", &googleapi.Error{Code: http.StatusUnauthorized}, true, nil},
		{"token refused", fmt.Errorf("get token: %w", tokenRefused), true, nil},
		{"token endpoint down", fmt.Errorf("get token: %w", tokenOutage), false, nil},
		{"throttled", &googleapi.Error{Code: http.StatusTooManyRequests}, false, nil},
		{"server error", &googleapi.Error{Code: http.StatusServiceUnavailable}, false, nil},
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
				t.Errorf("classify = %v lost the SDK's error", got)
			}
		})
	}
}
