package snapshotconfig

import (
	"errors"
	"strings"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// The Azure secrets reach the bucket: given both, Open refuses the pair,
// and Validate says which keys to fix first.
func TestAzureCredentials(t *testing.T) {
	b := BucketSettings{URL: "azblob://acct/container", AzureAccountKey: "a2V5", AzureSASToken: "sig=x"}
	err := b.Validate("bucket")
	if err == nil || !strings.Contains(err.Error(), `"bucket::azure_account_key" and "bucket::azure_sas_token"`) {
		t.Fatalf("Validate = %v, want both keys named", err)
	}
	_, err = b.Open(t.Context(), storage.Options{})
	if !errors.Is(err, storage.ErrBadURL) || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("Open = %v, want the pair refused", err)
	}
	b.AzureSASToken = ""
	if err := b.Validate("bucket"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(t.Context(), storage.Options{}); err != nil {
		t.Fatal(err)
	}
}

// A bucket URL with a mistyped scheme reads as a relative folder: the
// snapshots would land in the working directory, so it is refused, naming
// the key; URLs and absolute folders pass.
func TestBucketURLIsAURLOrAnAbsoluteFolder(t *testing.T) {
	for _, url := range []string{"s3:/backups/prod", "s3//backups/prod", "file:backups", "backups", "./backups"} {
		b := BucketSettings{URL: url}
		err := b.Validate("bucket")
		if err == nil || !strings.Contains(err.Error(), `"bucket::url" is neither a URL nor an absolute folder path`) {
			t.Errorf("Validate(%q) = %v, want the relative folder refused", url, err)
		}
	}
	for _, url := range []string{"/var/backups", "file:///var/backups", "s3://backups/prod", "gs://backups", "azblob://acct/container"} {
		b := BucketSettings{URL: url}
		if err := b.Validate("bucket"); err != nil {
			t.Errorf("Validate(%q) = %v", url, err)
		}
	}
}
