package gcs

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// scopes are those the Google client library asks for: object access
// within what IAM grants the identity on the bucket.
var scopes = []string{
	"https://www.googleapis.com/auth/devstorage.full_control",
	"https://www.googleapis.com/auth/cloud-platform",
}

// tokenTimeout bounds one token request to Google's token endpoint (token
// refreshes do not see the request's context).
const tokenTimeout = time.Minute

// credentialTypes are the key files a bucket accepts, by their "type"
// field. The type is checked before use: a file of another type could make
// the library fetch tokens from wherever the file says.
var credentialTypes = map[string]google.CredentialsType{
	"service_account":              google.ServiceAccount,
	"external_account":             google.ExternalAccount,
	"authorized_user":              google.AuthorizedUser,
	"impersonated_service_account": google.ImpersonatedServiceAccount,
}

// newHTTPClient returns the client the bucket's requests go through: with
// an OAuth2 token on each request, except against an emulator. It never
// follows redirects (a resumable upload's "308 Resume Incomplete" is an
// answer, and a token must not travel elsewhere).
func newHTTPClient(ctx context.Context, opts Options, transport http.RoundTripper, emulator bool) (*http.Client, error) {
	client := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if emulator {
		return client, nil
	}
	// Token refreshes run long after New returns: they keep the context's
	// values but not its end, and go through the same transport.
	tokenCtx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient,
		&http.Client{Transport: transport, Timeout: tokenTimeout})
	creds, err := findCredentials(tokenCtx, opts)
	if err != nil {
		return nil, err
	}
	client.Transport = &oauth2.Transport{Source: creds.TokenSource, Base: transport}
	return client, nil
}

// findCredentials reads the configured key file, else looks for
// application default credentials. Errors wrap base.ErrPermanent.
func findCredentials(ctx context.Context, opts Options) (*google.Credentials, error) {
	if opts.CredentialsFile != "" {
		return credentialsFromFile(ctx, opts.Bucket, opts.CredentialsFile)
	}
	creds, err := google.FindDefaultCredentials(ctx, scopes...)
	if err != nil {
		return nil, base.Permanent(fmt.Sprintf("gcs bucket %s: no usable Google credentials: set GOOGLE_APPLICATION_CREDENTIALS or credentials_file, run on GKE with workload identity, or give an emulator endpoint", opts.Bucket), err)
	}
	return creds, nil
}

// credentialsFromFile reads the key file and checks its type before use.
// Errors name the file, never its content, and wrap base.ErrPermanent.
func credentialsFromFile(ctx context.Context, bucket, path string) (*google.Credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gcs bucket %s: read credentials file: %w: %w", bucket, err, base.ErrPermanent)
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("gcs bucket %s: credentials file %s is not a JSON key file (download a service account key, or write a workload identity federation config with gcloud): %w", bucket, path, base.ErrPermanent)
	}
	t, ok := credentialTypes[head.Type]
	if !ok {
		return nil, fmt.Errorf("gcs bucket %s: credentials file %s has type %q; want service_account, external_account, authorized_user or impersonated_service_account: %w", bucket, path, head.Type, base.ErrPermanent)
	}
	creds, err := google.CredentialsFromJSONWithType(ctx, data, t, scopes...)
	if err != nil {
		// The library's message names fields, not their values.
		return nil, base.Permanent(fmt.Sprintf("gcs bucket %s: credentials file %s (type %s) is incomplete or malformed", bucket, path, head.Type), err)
	}
	return creds, nil
}

// defaultTransport: HTTP/2 to Google, with bounds on connecting and on the
// wait for an answer once a request is sent (a chunk's commit is the
// slowest).
func defaultTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   base.IdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
	}
}

// transportFor is the transport under the bucket's requests: the one of
// opts.HTTPClient, else defaultTransport.
func transportFor(opts Options) http.RoundTripper {
	if opts.HTTPClient != nil && opts.HTTPClient.Transport != nil {
		return opts.HTTPClient.Transport
	}
	return defaultTransport()
}
