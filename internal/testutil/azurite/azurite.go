// Package azurite runs a real Azurite blob service (Microsoft's Azure Storage
// emulator) for tests, on 127.0.0.1 with a free port and a fresh data folder.
//
// The binary comes from $AZURITE_BIN, else
// <repo>/.tools/azurite/node_modules/.bin/azurite-blob
// (scripts/install-azurite.sh puts it there). Without it, tests skip, unless
// REQUIRE_REAL_COMPONENTS=1, when they fail.
package azurite

import (
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

const (
	// Account is Azurite's development storage account.
	Account = "devstoreaccount1"
	// AccountKey is the development account's well-known key, published in
	// Azurite's README; it protects nothing.
	AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

	startTimeout = 60 * time.Second
)

// Server is one running Azurite blob service.
type Server struct {
	// Endpoint is the blob service URL of the development account, e.g.
	// http://127.0.0.1:41234/devstoreaccount1.
	Endpoint string
	// Container was created at start and is empty.
	Container string
}

// Binary returns azurite-blob's path, or "" with a hint if missing.
func Binary() (path, hint string) {
	return testutil.ToolBinary("AZURITE_BIN", "azurite/node_modules/.bin/azurite-blob", "install it with scripts/install-azurite.sh (or `make tools`)")
}

// Start runs Azurite for the rest of the test and creates Container in it.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, hint := Binary()
	if bin == "" {
		testutil.Missing(t, hint)
	}
	port, err := testutil.FreePort()
	if err != nil {
		t.Fatalf("azurite: find a free port: %v", err)
	}
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port),
		"--location", t.TempDir(), "--skipApiVersionCheck", "--silent")
	testutil.StartProcess(t, "azurite", cmd)
	s := &Server{
		Endpoint:  "http://" + net.JoinHostPort("127.0.0.1", fmt.Sprint(port)) + "/" + Account,
		Container: "test-container",
	}
	s.waitAndCreate(t, s.Container)
	return s
}

// waitAndCreate creates the container, retrying until Azurite answers.
func (s *Server) waitAndCreate(t testing.TB, name string) {
	t.Helper()
	c := s.ContainerClient(t, name)
	var lastErr error
	testutil.Eventually(t, startTimeout, "azurite to create container "+name, func() bool {
		_, lastErr = c.Create(t.Context(), nil)
		if lastErr != nil {
			t.Logf("azurite not ready: %v", lastErr)
		}
		return lastErr == nil
	})
}

// CreateContainer creates another empty container.
func (s *Server) CreateContainer(t testing.TB, name string) {
	t.Helper()
	if _, err := s.ContainerClient(t, name).Create(t.Context(), nil); err != nil {
		t.Fatalf("azurite: create container %s: %v", name, err)
	}
}

// ContainerClient is an SDK client for a container, with the account key.
func (s *Server) ContainerClient(t testing.TB, name string) *container.Client {
	t.Helper()
	cred, err := container.NewSharedKeyCredential(Account, AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := container.NewClientWithSharedKeyCredential(s.Endpoint+"/"+name, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// URL is an azblob:// URL for the container and prefix with the emulator's
// endpoint; the account key is passed separately.
func (s *Server) URL(prefix string) string {
	u := "azblob://" + Account + "/" + s.Container
	if prefix != "" {
		u += "/" + prefix
	}
	return u + "?endpoint=" + url.QueryEscape(s.Endpoint)
}

// ContainerSAS signs a shared access signature (the query string) for a
// container with the given permissions, valid for an hour.
func (s *Server) ContainerSAS(t testing.TB, name string, perms sas.ContainerPermissions) string {
	t.Helper()
	cred, err := container.NewSharedKeyCredential(Account, AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		ExpiryTime:    time.Now().Add(time.Hour).UTC(),
		Permissions:   perms.String(),
		ContainerName: name,
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return q.Encode()
}
