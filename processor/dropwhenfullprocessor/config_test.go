package dropwhenfullprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(name)
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg.(*Config), confmap.Validate(cfg)
}

func TestLoadConfig(t *testing.T) {
	def, err := loadConfig(t, "dropwhenfull")
	require.NoError(t, err)
	assert.Equal(t, createDefaultConfig(), def)
	assert.Equal(t, time.Minute, def.LogInterval)

	quiet, err := loadConfig(t, "dropwhenfull/quiet")
	require.NoError(t, err)
	assert.Equal(t, 10*time.Minute, quiet.LogInterval)
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	_, err := loadConfig(t, "dropwhenfull/zero")
	require.ErrorContains(t, err, "log_interval: must be positive")

	_, err = loadConfig(t, "dropwhenfull/typo")
	require.ErrorContains(t, err, "log_intervall", "an unknown key is an error, not ignored")
}
