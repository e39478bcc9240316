package storage_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/azblob"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/storagetest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/azurite"
)

func TestOpenAzblobURL(t *testing.T) {
	for raw, want := range map[string]string{
		"azblob://acct/backups":                                     "azblob://acct/backups",
		"azblob://acct/backups/prod/eu":                             "azblob://acct/backups/prod/eu",
		"https://acct.blob.core.windows.net/backups/prod":           "azblob://acct/backups/prod",
		"azblob://acct/c?endpoint=http://127.0.0.1:10000/acct":      "azblob://acct/c at http://127.0.0.1:10000/acct",
		"azblob://acct/c?block_size=4194304&concurrency=4":          "azblob://acct/c",
		"azblob://acct/c/p?endpoint=https%3A%2F%2Fh.example%2Facct": "azblob://acct/c/p at https://h.example/acct",
	} {
		b, err := storage.Open(t.Context(), raw, storage.Options{AzureAccountKey: azurite.AccountKey})
		if err != nil {
			t.Fatalf("Open(%q): %v", raw, err)
		}
		if _, ok := storage.Unwrap(b).(*azblob.Bucket); !ok {
			t.Fatalf("Open(%q) gave %T, want *azblob.Bucket", raw, storage.Unwrap(b))
		}
		if b.String() != want {
			t.Errorf("Open(%q).String() = %q, want %q", raw, b, want)
		}
	}
}

func TestOpenAzblobErrors(t *testing.T) {
	for raw, want := range map[string]string{
		"azblob://acct":                                             "use azblob://account/container/prefix",
		"azblob:///container":                                       "use azblob://account/container/prefix",
		"https://.blob.core.windows.net/c":                          "use azblob://account/container/prefix",
		"https://acct.blob.core.windows.net/":                       "use azblob://account/container/prefix",
		"azblob://acct:10000/c":                                     "?endpoint=",
		"https://acct.blob.core.windows.net:444/c":                  "has no port",
		"https://acct.blob.core.windows.net/c?endpoint=x":           "is its own endpoint",
		"azblob://acct/c?bogus=1":                                   `unknown parameter "bogus"`,
		"azblob://acct/c?block_size=1024":                           "below the minimum",
		"azblob://acct/c?block_size=big":                            "block_size must be a positive integer",
		"azblob://acct/c?concurrency=0":                             "concurrency must be a positive integer",
		"azblob://acct/c?endpoint=ftp://h":                          "must be an http:// or https:// URL",
		"azblob://acct/c/a/../b":                                    "invalid object key",
		"azblob://acct/c?sv=2024&sig=SECRETVALUE":                   "shared access signature",
		"https://acct.blob.core.windows.net/c?sig=SECRETVALUE&sp=r": "shared access signature",
		"azblob://acct:SECRETVALUE@acct/c":                          "must not hold credentials",
	} {
		_, err := storage.Open(t.Context(), raw, storage.Options{AzureAccountKey: azurite.AccountKey})
		if err == nil {
			t.Errorf("Open(%q) succeeded, want error with %q", raw, want)
			continue
		}
		if !errors.Is(err, storage.ErrBadURL) || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %q, want ErrBadURL saying %q", raw, err, want)
		}
		if strings.Contains(err.Error(), "SECRETVALUE") {
			t.Errorf("Open(%q) error %q repeats a secret", raw, err)
		}
	}
	_, err := storage.Open(t.Context(), "azblob://acct/c", storage.Options{AzureAccountKey: "k", AzureSASToken: "sig=x"})
	if !errors.Is(err, storage.ErrBadURL) || !strings.Contains(err.Error(), "not both") {
		t.Errorf("Open with a key and a SAS = %v, want an error saying to give one", err)
	}
}

func TestOpenedAzblobConformance(t *testing.T) {
	az := azurite.Start(t)
	var n atomic.Int64
	storagetest.Run(t, func(t *testing.T) storage.Bucket {
		b, err := storage.Open(t.Context(), az.URL(fmt.Sprintf("opened/%d", n.Add(1))), storage.Options{AzureAccountKey: azurite.AccountKey})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// The permissions README.md lists for a SAS are all that the backend needs,
// and a SAS that lacks write access is refused for good, without showing it.
func TestOpenedAzblobSAS(t *testing.T) {
	az := azurite.Start(t)
	documented := sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true}
	token := az.ContainerSAS(t, az.Container, documented)
	var n atomic.Int64
	storagetest.Run(t, func(t *testing.T) storage.Bucket {
		b, err := storage.Open(t.Context(), az.URL(fmt.Sprintf("sas/%d", n.Add(1))), storage.Options{AzureSASToken: token})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})

	readOnly := az.ContainerSAS(t, az.Container, sas.ContainerPermissions{Read: true, List: true})
	b, err := storage.Open(t.Context(), az.URL("ro"), storage.Options{AzureSASToken: "?" + readOnly})
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.Check(t.Context(), b); err != nil {
		t.Fatalf("Check with a read-only SAS: %v", err)
	}
	err = b.Write(t.Context(), "k", strings.NewReader("v"), 1)
	if !errors.Is(err, storage.ErrPermanent) {
		t.Fatalf("Write with a read-only SAS = %v, want ErrPermanent", err)
	}
	sig := readOnly[strings.Index(readOnly, "sig=")+4:]
	if i := strings.IndexByte(sig, '&'); i >= 0 {
		sig = sig[:i]
	}
	if strings.Contains(err.Error(), sig) {
		t.Fatalf("error shows the SAS signature: %v", err)
	}
}

// Open leaves retrying to WithRetry: one attempt of the policy is one
// request, not one plus the SDK's own retries.
func TestOpenedAzblobSDKDoesNotRetry(t *testing.T) {
	port, err := testutil.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	raw := fmt.Sprintf("azblob://%s/c?endpoint=http://127.0.0.1:%d/%s", azurite.Account, port, azurite.Account)
	requireOneRequestPerAttempt(t, raw, storage.Options{AzureAccountKey: azurite.AccountKey})
}

// requireOneRequestPerAttempt opens raw, whose endpoint nothing listens
// on, with a policy of one attempt and a client that counts requests, and
// requires Check to fail transiently after exactly one request.
func requireOneRequestPerAttempt(t *testing.T, raw string, opts storage.Options) {
	t.Helper()
	var requests atomic.Int64
	opts.HTTPClient = &http.Client{Transport: countingTransport{n: &requests, next: http.DefaultTransport}}
	opts.Retry = storage.RetryPolicy{MaxAttempts: 1}
	b, err := storage.Open(t.Context(), raw, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.Check(t.Context(), b); !storage.IsTransient(err) {
		t.Fatalf("Check with nothing listening = %v, want a transient error", err)
	}
	if got := requests.Load(); got != 1 {
		t.Fatalf("%d requests for one attempt, want 1", got)
	}
}

type countingTransport struct {
	n    *atomic.Int64
	next http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}
