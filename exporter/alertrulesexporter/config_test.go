package alertrulesexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func unmarshalConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(name)
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func TestLoadConfig(t *testing.T) {
	def := unmarshalConfig(t, "alertrules")
	require.NoError(t, confmap.Validate(def))
	assert.Equal(t, 15*time.Second, def.EvaluationInterval)
	assert.Equal(t, time.Hour, def.Window)
	assert.Equal(t, 10000, def.MaxSeries)
	assert.Equal(t, time.Minute, def.ResendDelay)

	full := unmarshalConfig(t, "alertrules/full")
	require.NoError(t, confmap.Validate(full))
	assert.Equal(t, []string{"/etc/otelcol-chroma/rules/*.yaml", "/etc/otelcol-chroma/extra.yaml"}, full.RuleFiles)
	assert.Equal(t, 30*time.Second, full.EvaluationInterval)
	assert.Equal(t, 2*time.Hour, full.Window)
	assert.Equal(t, 500, full.MaxSeries)
	assert.Equal(t, map[string]string{"cluster": "prod-eu", "deployment": "chroma-a"}, full.ExternalLabels)
	assert.Equal(t, 100, full.QueueCapacity)
	require.Len(t, full.Alertmanagers, 2)
	am0 := full.Alertmanagers[0]
	assert.Equal(t, 5*time.Second, am0.Timeout)
	assert.Equal(t, "/etc/ssl/am-ca.pem", am0.TLS.CAFile)
	require.NotNil(t, am0.BasicAuth)
	assert.Equal(t, "otelcol", am0.BasicAuth.Username)
	assert.Equal(t, "s3cret", string(am0.BasicAuth.Password))
	assert.Equal(t, "t0ken", string(full.Alertmanagers[1].BearerToken))
}

func TestSecretsDoNotPrint(t *testing.T) {
	full := unmarshalConfig(t, "alertrules/full")
	printed := fmtValue(full.Alertmanagers[0].BasicAuth) + fmtValue(full.Alertmanagers[1])
	assert.NotContains(t, printed, "s3cret")
	assert.NotContains(t, printed, "t0ken")
}

// Each invalid configuration is refused with an error that names the key.
func TestValidateNamesTheKey(t *testing.T) {
	for name, want := range map[string][]string{
		"alertrules/no_rules":           {"rule_files: list at least one"},
		"alertrules/no_alertmanagers":   {"alertmanagers: list at least one"},
		"alertrules/bad_endpoint":       {"alertmanagers[0]: endpoint:", "is not an http(s) URL"},
		"alertrules/two_auths":          {"alertmanagers[0]: basic_auth and bearer_token: set one of them"},
		"alertrules/duplicate_endpoint": {"alertmanagers[1].endpoint:", "already alertmanagers[0]"},
		"alertrules/bad_window":         {"window: must be positive and at least evaluation_interval", "max_series: must be positive"},
		"alertrules/bad_label":          {`external_labels: "cluster-name" is not a Prometheus label name`},
		"alertrules/bad_glob":           {`rule_files[0] "rules/[.yaml"`},
	} {
		t.Run(name, func(t *testing.T) {
			err := confmap.Validate(unmarshalConfig(t, name))
			require.Error(t, err)
			for _, w := range want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// A misspelt key of an Alertmanager is an error, not silently ignored.
func TestUnknownAlertmanagerKey(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub("alertrules/unknown_am_key")
	require.NoError(t, err)
	err = sub.Unmarshal(NewFactory().CreateDefaultConfig())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"bearer_tokn" is not an Alertmanager setting`)
}
