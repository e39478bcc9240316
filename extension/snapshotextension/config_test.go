package snapshotextension

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension/internal/metadata"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
)

// loadConfig decodes and validates testdata/config.yaml's snapshot/<name>
// the way the collector does.
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

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, "/data", cfg.PersistDirectory)
	assert.Equal(t, "file:///backups", cfg.Bucket.URL)
	assert.Empty(t, cfg.Instance, "no default instance: a pod's host name changes with each replacement")
	assert.Equal(t, snapshotconfig.DefaultTimeout, cfg.Timeout)
	assert.False(t, cfg.OnStart)
	assert.Equal(t, snapshotconfig.DefaultRetention(), cfg.Retention)
	assert.Equal(t, snapshotconfig.DefaultDrill(), cfg.Drill, "a daily drill by default")
	sched, err := cfg.SnapshotSchedule()
	require.NoError(t, err)
	at := time.Date(2026, 12, 5, 10, 17, 0, 0, time.UTC)
	assert.Equal(t, at.Add(time.Hour), sched.Next(at), "interval defaults to 1h")
}

func TestLoadConfigEveryKey(t *testing.T) {
	cfg, err := loadConfig(t, "all")
	require.NoError(t, err)
	assert.Equal(t, "/var/lib/chroma", cfg.PersistDirectory)
	assert.Equal(t, "prod-eu-1", cfg.Instance)
	assert.Equal(t, "s3://acme-chroma-backups/prod?region=eu-west-1", cfg.Bucket.URL)
	assert.Equal(t, "AKIAEXAMPLE", cfg.Bucket.AccessKeyID)
	assert.Equal(t, "not-a-real-secret", string(cfg.Bucket.SecretAccessKey))
	assert.Equal(t, "/etc/otelcol-chroma/writer.key", cfg.Encryption.WriterKeyFile)
	assert.Equal(t, "/scratch", cfg.ScratchDirectory)
	assert.Equal(t, 8, cfg.Concurrency)
	assert.Equal(t, 15*time.Minute, cfg.Interval)
	assert.Equal(t, time.Minute, cfg.Jitter)
	assert.True(t, cfg.OnStart)
	assert.Equal(t, 30*time.Minute, cfg.Timeout)
	assert.Equal(t, 12*time.Hour, cfg.PruneInterval)
	want := snapshotconfig.DefaultRetention()
	want.KeepLast, want.KeepDaily, want.TimeZone = 5, 10, "Europe/Berlin"
	assert.Equal(t, want, cfg.Retention, "keys left out keep their defaults, as in the CLI")
	drill := snapshotconfig.DefaultDrill()
	drill.Interval, drill.ChromaCommand = 6*time.Hour, "/usr/local/bin/chroma"
	assert.Equal(t, drill, cfg.Drill, "drill keys left out keep their defaults")
}

func TestLoadConfigCron(t *testing.T) {
	cfg, err := loadConfig(t, "cron")
	require.NoError(t, err)
	sched, err := cfg.SnapshotSchedule()
	require.NoError(t, err)
	at := time.Date(2026, 12, 5, 10, 17, 0, 0, time.UTC)
	assert.Equal(t, time.Date(2026, 12, 5, 12, 30, 0, 0, time.UTC), sched.Next(at))
	assert.Equal(t, time.Date(2026, 12, 5, 18, 30, 0, 0, time.UTC), sched.Next(sched.Next(at)))
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	for name, wants := range map[string][]string{
		"interval_and_cron":    {`"interval" and "cron" are exclusive`},
		"bad_cron":             {`"cron"`, `"61 * * * *"`},
		"six_fields":           {`"cron"`, "5-field"},
		"never_fires":          {`"cron": "0 0 30 2 *" never fires`},
		"jitter_too_long":      {`"jitter" (10m0s) must be shorter than "interval" (10m0s)`},
		"jitter_too_long_cron": {`"jitter" (2h0m0s) must be shorter than the shortest gap between two runs of "cron" "0 3,4 * * *": 1h0m0s`},
		"negatives":            {`"interval" must be at least 1s`, `"jitter" must not be negative`, `"timeout" must not be negative`, `"prune_interval"`},
		"no_persist_directory": {`"persist_directory" is required`},
		"unitless_timeouts":    {`"timeout" is 3.6µs, less than 1s: give the unit`, `"drill::timeout" is 600ns, less than 1s: give the unit`},
		"no_bucket":            {`"bucket::url" is required`},
		"relative_bucket":      {`"bucket::url" is neither a URL nor an absolute folder path`},
		"reader_key_only":      {`"encryption::reader_key_file" is set without "encryption::writer_key_file"`, "stored unencrypted"},
		"bad_retention":        {`"retention::time_zone" "Mars/Olympus_Mons"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			for _, w := range wants {
				assert.ErrorContains(t, err, w)
				assert.Equal(t, 1, strings.Count(err.Error(), w), "each problem is reported once: %v", err)
			}
		})
	}
}

func TestConfigRejectsUnknownKeys(t *testing.T) {
	_, err := loadConfig(t, "unknown_key")
	require.ErrorContains(t, err, "intervall")
}
