package gcs_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/gcs"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

// tokenServer is a Google token endpoint: it answers a service account's
// signed JWT with status (and a token when 200).
type tokenServer struct {
	*httptest.Server
	requests atomic.Int64
}

func startTokenServer(t *testing.T, status int) *tokenServer {
	t.Helper()
	ts := &tokenServer{}
	ts.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.requests.Add(1)
		if err := r.ParseForm(); err != nil || r.PostForm.Get("assertion") == "" {
			http.Error(w, "no assertion", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if status != http.StatusOK {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`))
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"token-from-google","token_type":"Bearer","expires_in":3600}`))
	}))
	t.Cleanup(ts.Close)
	return ts
}

// storageServer answers every object metadata request and records the
// Authorization headers it saw.
type storageServer struct {
	*httptest.Server
	mu    sync.Mutex
	auths []string
}

func startStorageServer(t *testing.T, tls bool) *storageServer {
	t.Helper()
	s := &storageServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auths = append(s.auths, r.Header.Get("Authorization"))
		s.mu.Unlock()
		_, _ = w.Write([]byte(`{"name":"p/k","size":"3","updated":"2026-01-02T03:04:05.678Z"}`))
	})
	if tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *storageServer) authorizations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auths...)
}

// serviceAccountKey writes a service account key file whose token_uri is
// tokenURL, with a fresh RSA key.
func serviceAccountKey(t *testing.T, tokenURL string) (path string, privateKey string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	privateKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	data, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "p", "private_key_id": "k1", "private_key": privateKey,
		"client_email": "backups@p.iam.gserviceaccount.com", "client_id": "1", "token_uri": tokenURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, privateKey
}

// Which credentials a bucket uses: the key file or application default
// credentials against Google's endpoint, none against an emulator, even
// when a key is configured.
func TestCredentialSelection(t *testing.T) {
	tokens := startTokenServer(t, http.StatusOK)
	keyFile, _ := serviceAccountKey(t, tokens.URL)
	for _, tc := range []struct {
		name       string
		tls        bool   // the store speaks https (else it is an emulator)
		configured bool   // the endpoint is configured (else STORAGE_EMULATOR_HOST names it)
		file, adc  string // credentials_file, GOOGLE_APPLICATION_CREDENTIALS
		wantAuth   string
	}{
		{"key file", true, true, keyFile, "", "Bearer token-from-google"},
		{"application default credentials", true, true, "", keyFile, "Bearer token-from-google"},
		{"emulator endpoint, key file configured", false, true, keyFile, keyFile, ""},
		{"STORAGE_EMULATOR_HOST, key file configured", false, false, keyFile, keyFile, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := startStorageServer(t, tc.tls)
			t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", tc.adc)
			t.Setenv("STORAGE_EMULATOR_HOST", "")
			opts := gcs.Options{Bucket: "bkt", Prefix: "p", CredentialsFile: tc.file, HTTPClient: tokens.Client()}
			if tc.configured {
				opts.Endpoint = store.URL
			} else {
				t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(store.URL, "http://"))
			}
			before := tokens.requests.Load()
			b, err := gcs.New(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, err := b.Stat(t.Context(), "k"); err != nil {
					t.Fatal(err)
				}
			}
			if got := store.authorizations(); len(got) != 2 || got[0] != tc.wantAuth || got[1] != tc.wantAuth {
				t.Fatalf("Authorization headers = %q, want %q twice", got, tc.wantAuth)
			}
			wantTokens := int64(0)
			if tc.wantAuth != "" {
				wantTokens = 1 // and reused
			}
			if got := tokens.requests.Load() - before; got != wantTokens {
				t.Fatalf("%d token requests, want %d", got, wantTokens)
			}
		})
	}
}

// A key Google refuses is permanent, with advice and without the key; a
// token endpoint outage is transient.
func TestTokenErrors(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
	}{{http.StatusBadRequest, true}, {http.StatusUnauthorized, true}, {http.StatusServiceUnavailable, false}, {http.StatusTooManyRequests, false}} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			tokens := startTokenServer(t, tc.status)
			keyFile, privateKey := serviceAccountKey(t, tokens.URL)
			store := startStorageServer(t, true)
			b, err := gcs.New(t.Context(), gcs.Options{Bucket: "bkt", Endpoint: store.URL, CredentialsFile: keyFile, HTTPClient: tokens.Client()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = b.Stat(t.Context(), "k")
			if err == nil || errors.Is(err, storage.ErrPermanent) != tc.permanent {
				t.Fatalf("Stat = %v; want permanent %v", err, tc.permanent)
			}
			if tc.permanent && !strings.Contains(err.Error(), "Google refused the credentials for bucket bkt") {
				t.Fatalf("Stat = %v; want advice on the credentials", err)
			}
			keyLine := strings.Split(privateKey, "\n")[1]
			if strings.Contains(err.Error(), keyLine) {
				t.Fatalf("error shows the private key: %v", err)
			}
			if got := store.authorizations(); len(got) != 0 {
				t.Fatalf("the store was sent %q without a token", got)
			}
		})
	}
}

// A key file of a malformed kind stops New with a permanent error naming
// the file, not its content.
func TestCredentialsFileIncomplete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wif.json")
	if err := os.WriteFile(path, []byte(`{"type":"external_account","audience":"SECRETVALUE"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := gcs.New(t.Context(), gcs.Options{Bucket: "bkt", CredentialsFile: path})
	if !errors.Is(err, storage.ErrPermanent) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "SECRETVALUE") {
		t.Fatalf("New = %v; want a permanent error naming %s without its content", err, path)
	}
}

// Close closes the idle connections under the token layer too.
func TestCloseReleasesConnections(t *testing.T) {
	tokens := startTokenServer(t, http.StatusOK)
	keyFile, _ := serviceAccountKey(t, tokens.URL)
	var open atomic.Int64
	store := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"name":"k","size":"3","updated":"2026-01-02T03:04:05Z"}`))
	}))
	store.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		switch state {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	store.StartTLS()
	t.Cleanup(store.Close)
	b, err := gcs.New(t.Context(), gcs.Options{Bucket: "bkt", Endpoint: store.URL, CredentialsFile: keyFile, HTTPClient: tokens.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	if n := open.Load(); n != 1 {
		t.Fatalf("%d connections open after one request, want 1", n)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the store to see its connection closed", func() bool { return open.Load() == 0 })
}
