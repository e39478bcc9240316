package chromabackupreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub(component.MustNewIDWithName(metadata.Type.String(), name).String())
	require.NoError(t, err)
	if err := sub.Unmarshal(cfg); err != nil {
		return cfg.(*Config), err
	}
	return cfg.(*Config), confmap.Validate(cfg)
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, "/data", cfg.PersistDirectory)
	assert.Equal(t, 60*time.Second, cfg.CollectionInterval)
	assert.NotEmpty(t, cfg.Instance, "instance defaults to the host name")
	assert.True(t, cfg.Metrics.ChromaPersistRecords.Enabled)
	assert.Equal(t, time.Hour, cfg.QuickCheckInterval)

	cfg, err = loadConfig(t, "custom")
	require.NoError(t, err)
	assert.Equal(t, "/var/lib/chroma", cfg.PersistDirectory)
	assert.Equal(t, 30*time.Second, cfg.CollectionInterval)
	assert.Equal(t, "prod-eu-1", cfg.Instance)
	assert.Equal(t, 10*time.Minute, cfg.QuickCheckInterval)
	assert.False(t, cfg.Metrics.ChromaPersistRecords.Enabled)
	assert.False(t, cfg.bucketConfigured())

	cfg, err = loadConfig(t, "bucket")
	require.NoError(t, err)
	assert.True(t, cfg.bucketConfigured())
	assert.Equal(t, "s3://acme-chroma-backups/prod?region=eu-west-1", cfg.Bucket.URL)
	assert.Equal(t, "AKIAEXAMPLE", cfg.Bucket.AccessKeyID)
	assert.Equal(t, configopaque.String("example-secret"), cfg.Bucket.SecretAccessKey)
	assert.Equal(t, "/etc/otelcol-chroma/writer.key", cfg.Encryption.WriterKeyFile)
	assert.Equal(t, 5*time.Second, cfg.BucketTimeout)
	assert.Equal(t, time.Hour, cfg.BucketListInterval)

	cfg, err = loadConfig(t, "extension")
	require.NoError(t, err)
	assert.True(t, cfg.bucketConfigured())
	assert.Equal(t, component.MustNewIDWithName("snapshot", "prod"), *cfg.SnapshotExtension)
	assert.Equal(t, 10*time.Second, cfg.BucketTimeout)
	assert.Equal(t, 15*time.Minute, cfg.BucketListInterval)
}

func TestConfigValidateNamesTheKey(t *testing.T) {
	_, err := loadConfig(t, "missing_dir")
	require.ErrorContains(t, err, `"persist_directory" is required`)

	_, err = loadConfig(t, "bad_interval")
	require.ErrorContains(t, err, `"collection_interval"`)

	_, err = loadConfig(t, "bad_quick_check_interval")
	require.ErrorContains(t, err, `"quick_check_interval"`)

	_, err = loadConfig(t, "bucket_and_extension")
	require.ErrorContains(t, err, `set either "bucket" or "snapshot_extension"`)

	_, err = loadConfig(t, "bucket_without_url")
	require.ErrorContains(t, err, `"bucket::url" is required`)
	require.ErrorContains(t, err, `"bucket::secret_access_key" is required`)

	_, err = loadConfig(t, "encryption_without_bucket")
	require.ErrorContains(t, err, `"encryption" needs "bucket"`)

	_, err = loadConfig(t, "bad_bucket_timeout")
	require.ErrorContains(t, err, `"bucket_timeout" must be positive`)

	// An unset environment variable must not leave the metrics without
	// their instance, reading no attempt record.
	_, err = loadConfig(t, "empty_instance")
	require.ErrorContains(t, err, `"instance" is empty (an unset environment variable?)`)

	// Numbers without a unit are nanoseconds: each is refused, named.
	_, err = loadConfig(t, "unitless_durations")
	for _, want := range []string{`"collection_interval" is 60ns`, `"quick_check_interval" is 3.6µs`, `"bucket_timeout" is 10ns`, `"bucket_list_interval" is 900ns`} {
		require.ErrorContains(t, err, want)
	}
	require.ErrorContains(t, err, "give the unit, e.g. 60s (a number without one is nanoseconds)")

	// A bucket or key setting that is present but empty (an unset
	// environment variable) must not silently turn the bucket metrics off,
	// or read the status records unverified.
	_, err = loadConfig(t, "empty_bucket_url")
	require.ErrorContains(t, err, `"bucket::url" is empty (an unset environment variable?)`)
	_, err = loadConfig(t, "empty_key_file")
	require.ErrorContains(t, err, `"encryption::writer_key_file" is empty (an unset environment variable?)`)
	_, err = loadConfig(t, "empty_encryption")
	require.ErrorContains(t, err, `"encryption" names no key file`)

	_, err = loadConfig(t, "relative_bucket")
	require.ErrorContains(t, err, `"bucket::url" is neither a URL nor an absolute folder path`)
}
