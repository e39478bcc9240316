package azblob_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/azblob"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/storagetest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/azurite"
)

var _ storage.Bucket = (*azblob.Bucket)(nil)

func newBucket(t *testing.T, az *azurite.Server, containerName, prefix string) *azblob.Bucket {
	t.Helper()
	return newBucketAt(t, az.Endpoint, containerName, prefix)
}

// newBucketAt reaches a container of Azurite's account through endpoint.
func newBucketAt(t *testing.T, endpoint, containerName, prefix string) *azblob.Bucket {
	t.Helper()
	b, err := azblob.New(azblob.Options{
		Account:      azurite.Account,
		Container:    containerName,
		Prefix:       prefix,
		Endpoint:     endpoint,
		AccountKey:   azurite.AccountKey,
		BlockSize:    azblob.MinBlockSize,
		ListPageSize: 3, // exercise pagination everywhere
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A restore's 32 waiting requests find their connections open again.
func TestKeepsConnectionsForARestore(t *testing.T) {
	az := azurite.Start(t)
	host, account, _ := strings.Cut(strings.TrimPrefix(az.Endpoint, "http://"), "/")
	proxy := testutil.StartConnProxy(t, "http://"+host)
	storagetest.ReusesConnections(t, newBucketAt(t, proxy.URL+"/"+account, az.Container, ""), proxy, 32)
}

func TestConformancePrefix(t *testing.T) {
	az := azurite.Start(t)
	var n atomic.Int64
	storagetest.Run(t, func(t *testing.T) storage.Bucket {
		return newBucket(t, az, az.Container, fmt.Sprintf("backups/run-%d", n.Add(1)))
	})
}

func TestConformanceWholeContainer(t *testing.T) {
	az := azurite.Start(t)
	var n atomic.Int64
	storagetest.Run(t, func(t *testing.T) storage.Bucket {
		name := fmt.Sprintf("whole-%d", n.Add(1))
		az.CreateContainer(t, name)
		return newBucket(t, az, name, "")
	})
}

// A blob larger than one block goes up as staged blocks and a committed
// block list, never as one request holding it all.
func TestBlockUploads(t *testing.T) {
	az := azurite.Start(t)
	b := newBucket(t, az, az.Container, "blocks")
	data := bytes.Repeat([]byte("chroma!"), (3<<20)/7)
	if err := b.Write(t.Context(), "big", onlyReader{bytes.NewReader(data)}, -1); err != nil {
		t.Fatal(err)
	}
	list, err := b.Client().NewBlockBlobClient("blocks/big").GetBlockList(t.Context(), blockblob.BlockListTypeCommitted, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.CommittedBlocks); n < 3 {
		t.Fatalf("%d committed blocks, want at least 3 for %d bytes in 1 MiB blocks", n, len(data))
	}
	if got := storagetest.ReadObject(t, b, "big"); !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, want %d", len(got), len(data))
	}
}

func TestMissingContainer(t *testing.T) {
	az := azurite.Start(t)
	b := newBucket(t, az, "no-such-container", "")
	err := storage.Check(t.Context(), b)
	if !errors.Is(err, storage.ErrNoBucket) || !errors.Is(err, storage.ErrPermanent) {
		t.Fatalf("Check = %v, want ErrNoBucket and ErrPermanent", err)
	}
	err = b.Write(t.Context(), "k", strings.NewReader("x"), 1)
	if !errors.Is(err, storage.ErrNoBucket) {
		t.Fatalf("Write = %v, want ErrNoBucket", err)
	}
}

func TestWrongKeyIsPermanentAndNotPrinted(t *testing.T) {
	az := azurite.Start(t)
	wrongKey := "d3Jvbmcga2V5IGZvciB0aGUgdGVzdCBvZiBhIGRlbmllZCByZXF1ZXN0IQ=="
	b, err := azblob.New(azblob.Options{Account: azurite.Account, Container: az.Container, Endpoint: az.Endpoint, AccountKey: wrongKey})
	if err != nil {
		t.Fatal(err)
	}
	err = storage.Check(t.Context(), b)
	if !errors.Is(err, storage.ErrPermanent) || errors.Is(err, storage.ErrNoBucket) {
		t.Fatalf("Check = %v, want a permanent error that is not ErrNoBucket", err)
	}
	if strings.Contains(err.Error(), wrongKey) {
		t.Fatalf("error shows the account key: %v", err)
	}
}

type onlyReader struct{ r *bytes.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// Creators racing with block-staged uploads: committing one blob discards
// the others' staged blocks, and each loser must still learn ErrExists.
func TestCreateIfAbsentConcurrentBlocks(t *testing.T) {
	az := azurite.Start(t)
	b := newBucket(t, az, az.Container, "race")
	const creators = 4
	errs := make(chan error, creators)
	for i := range creators {
		data := bytes.Repeat([]byte{byte('a' + i)}, 3<<20)
		go func() { errs <- b.CreateIfAbsent(t.Context(), "lock", bytes.NewReader(data), int64(len(data))) }()
	}
	won := 0
	for range creators {
		err := <-errs
		switch {
		case err == nil:
			won++
		case !errors.Is(err, storage.ErrExists):
			t.Errorf("CreateIfAbsent = %v, want nil or ErrExists", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d creators succeeded, want exactly 1", won)
	}
}
