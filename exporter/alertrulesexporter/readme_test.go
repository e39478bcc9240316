package alertrulesexporter

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"gopkg.in/yaml.v3"
)

// The README's complete example is a valid configuration of this exporter.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(readme), "A complete example:\n\n```yaml\n")
	require.True(t, ok, "README.md has no complete example")
	example, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(example), &doc))
	sub, err := confmap.NewFromStringMap(doc).Sub("exporters::alertrules")
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	assert.Len(t, cfg.Alertmanagers, 2)
	assert.NotNil(t, cfg.Alertmanagers[0].BasicAuth)
	assert.NotEmpty(t, cfg.Alertmanagers[1].BearerToken)
}
