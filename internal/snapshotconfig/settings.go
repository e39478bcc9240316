// Package snapshotconfig holds the snapshot settings shared by the operator
// subcommands and the collector components: where the persist directory and
// the bucket are, and which key encrypts or decrypts.
//
// In a collector configuration they live under `extensions: snapshot:` (or
// `snapshot/<name>`), so that one file configures the scheduled snapshots and
// the operator's `otelcol-chroma snapshot ...` commands alike.
package snapshotconfig // import "github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// Settings configure snapshots of one Chroma persist directory.
type Settings struct {
	// PersistDirectory is Chroma's persist directory.
	PersistDirectory string `mapstructure:"persist_directory"`
	// Bucket is where snapshots are stored.
	Bucket BucketSettings `mapstructure:"bucket"`
	// Encryption names the key files; without them snapshots are stored
	// unencrypted (still verified by hashes).
	Encryption EncryptionSettings `mapstructure:"encryption"`
	// ScratchDirectory holds the temporary copy of chroma.sqlite3 during a
	// snapshot (needs free space for one copy). Default: the system temp dir.
	ScratchDirectory string `mapstructure:"scratch_directory"`
	// Concurrency is the number of blocks processed or transferred at once.
	// Default: 2 per CPU, at least 4.
	Concurrency int `mapstructure:"concurrency"`
	// Instance labels snapshots with the deployment's name.
	Instance string `mapstructure:"instance"`
	// ScheduleSettings are read by the snapshot extension only.
	ScheduleSettings `mapstructure:",squash"`
	// Retention says which snapshots forget keeps (restic's rules).
	Retention RetentionSettings `mapstructure:"retention"`
	// Drill says when and how restore drills run.
	Drill DrillSettings `mapstructure:"drill"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// BucketSettings locate the bucket and hold its credentials.
type BucketSettings struct {
	// URL is file:///path, s3://bucket/prefix?endpoint=...&region=...&path_style=true,
	// gs://bucket/prefix or azblob://account/container/prefix.
	URL string `mapstructure:"url"`
	// AccessKeyID and SecretAccessKey are S3 credentials; when empty the AWS
	// SDK's default chain is used (environment, shared config, IRSA, instance role).
	AccessKeyID     string              `mapstructure:"access_key_id"`
	SecretAccessKey configopaque.String `mapstructure:"secret_access_key"`
	SessionToken    configopaque.String `mapstructure:"session_token"`
	// CredentialsFile is a Google key file for gs:// buckets; when empty,
	// application default credentials are used (GOOGLE_APPLICATION_CREDENTIALS,
	// workload identity on GKE).
	CredentialsFile string `mapstructure:"credentials_file"`
	// AzureAccountKey (shared key) or AzureSASToken (a shared access
	// signature) authenticate to an azblob:// bucket; when both are empty
	// Azure's default chain is used (environment, workload identity,
	// managed identity, Azure CLI).
	AzureAccountKey configopaque.String `mapstructure:"azure_account_key"`
	AzureSASToken   configopaque.String `mapstructure:"azure_sas_token"`
}

// EncryptionSettings name the key files made by `otelcol-chroma snapshot keygen`.
type EncryptionSettings struct {
	// WriterKeyFile encrypts snapshots; it cannot decrypt them.
	WriterKeyFile string `mapstructure:"writer_key_file"`
	// ReaderKeyFile decrypts snapshots (restore, verify, list details). Keep
	// it offline; a pod that only takes snapshots does not need it.
	ReaderKeyFile string `mapstructure:"reader_key_file"`
}

// Validate checks settings that every use needs.
func (s *Settings) Validate() error {
	errs := []error{s.Bucket.Validate("bucket")}
	if s.Concurrency < 0 {
		errs = append(errs, errors.New(`"concurrency" must not be negative`))
	}
	errs = append(errs, s.validateSchedule())
	if err := s.Retention.validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, s.Drill.validate())
	return errors.Join(errs...)
}

// OpenBucket opens the configured bucket (without contacting it).
func (s *Settings) OpenBucket(ctx context.Context) (storage.Bucket, error) {
	return s.Bucket.Open(ctx, storage.Options{})
}

// Open opens the bucket (without contacting it) with these settings'
// URL and credentials; opts supplies the rest (retry policy, HTTP client).
func (b *BucketSettings) Open(ctx context.Context, opts storage.Options) (storage.Bucket, error) {
	opts.AccessKeyID = b.AccessKeyID
	opts.SecretAccessKey = string(b.SecretAccessKey)
	opts.SessionToken = string(b.SessionToken)
	opts.GCSCredentialsFile = b.CredentialsFile
	opts.AzureAccountKey = string(b.AzureAccountKey)
	opts.AzureSASToken = string(b.AzureSASToken)
	return storage.Open(ctx, b.URL, opts)
}

// Validate checks the bucket settings; prefix names where they sit in the
// configuration (e.g. "bucket").
func (b *BucketSettings) Validate(prefix string) error {
	var errs []error
	switch url := strings.TrimSpace(b.URL); {
	case url == "":
		errs = append(errs, fmt.Errorf(`"%s::url" is required: file:///path, s3://bucket/prefix, gs://bucket/prefix or azblob://account/container/prefix`, prefix))
	case storage.IsFolderPath(url) && !filepath.IsAbs(url):
		// A scheme typo ("s3:/bucket") reads as a relative folder: the
		// snapshots would land in the working directory, out of sight.
		errs = append(errs, fmt.Errorf(`"%s::url" is neither a URL nor an absolute folder path (a typo in the scheme, such as "s3:/bucket"?): use file:///path, s3://bucket/prefix, gs://bucket/prefix or azblob://account/container/prefix`, prefix))
	}
	if b.AccessKeyID != "" && b.SecretAccessKey == "" {
		errs = append(errs, fmt.Errorf(`"%s::secret_access_key" is required with "%s::access_key_id"`, prefix, prefix))
	}
	if b.AzureAccountKey != "" && b.AzureSASToken != "" {
		errs = append(errs, fmt.Errorf(`"%s::azure_account_key" and "%s::azure_sas_token" are alternatives: give one`, prefix, prefix))
	}
	return errors.Join(errs...)
}

// WriterKeys returns the keys for taking snapshots: the writer key, or none
// when encryption is not configured.
func (s *Settings) WriterKeys() (snapshot.Keys, error) {
	if s.Encryption.WriterKeyFile == "" {
		return snapshot.Keys{}, nil
	}
	k, err := snapshot.LoadWriterKey(s.Encryption.WriterKeyFile)
	if err != nil {
		return snapshot.Keys{}, fmt.Errorf("encryption::writer_key_file: %w", err)
	}
	return k, nil
}

// ReaderKeys returns the keys for reading snapshots: the reader key if
// configured, else the writer key (enough to list snapshot ids and times),
// else none.
func (s *Settings) ReaderKeys() (snapshot.Keys, error) {
	if s.Encryption.ReaderKeyFile == "" {
		return s.WriterKeys()
	}
	k, err := snapshot.LoadReaderKey(s.Encryption.ReaderKeyFile)
	if err != nil {
		return snapshot.Keys{}, fmt.Errorf("encryption::reader_key_file: %w", err)
	}
	return k, nil
}
