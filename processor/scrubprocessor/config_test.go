package scrubprocessor

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor/internal/detect"
	"github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub(name)
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	return cfg.(*Config)
}

func TestLoadConfig(t *testing.T) {
	def := loadConfig(t, component.NewID(metadata.Type).String())
	assert.Equal(t, createDefaultConfig(), def)
	ep, err := def.effective()
	require.NoError(t, err)
	assert.Equal(t, ModeAllowlist, ep.mode, "the default is the strict vendor policy")

	vendor := loadConfig(t, "scrub/vendor")
	ep, err = vendor.effective()
	require.NoError(t, err)
	require.Equal(t, "tenant", ep.keys[0].Key, "user rules come first")
	assert.Equal(t, ActionHash, ep.keys[0].Action)
	assert.Equal(t, "0123456789abcdef0123456789abcdef", string(ep.hashKey))
	assert.Equal(t, "chroma-0", ep.instance)

	customer := loadConfig(t, "scrub/customer")
	ep, err = customer.effective()
	require.NoError(t, err)
	assert.Equal(t, ModeBlocklist, ep.mode)
	assert.Equal(t, ActionMask, ep.detectors[detect.Email], "user detectors extend the policy")
	assert.Equal(t, ActionMask, ep.detectors[detect.JWT], "policy detectors stay")
	assert.Equal(t, ActionMask, ep.text.StatusMessage)
	assert.Equal(t, ActionKeep, ep.text.LogBody)
	assert.Equal(t, ActionDrop, ep.text.TraceState)
	assert.Equal(t, VocabularyConfig{Unknown: UnknownMask, Words: []string{"payroll", "Ledger2"}}, ep.vocabulary)
	assert.Equal(t, ShapeNumber, ep.keys[0].Shape)

	custom := loadConfig(t, "scrub/custom")
	ep, err = custom.effective()
	require.NoError(t, err)
	assert.Equal(t, ModeAllowlist, ep.mode)
	assert.Equal(t, "[redacted]", ep.placeholder)
	assert.Equal(t, URLStrip, ep.urlWithoutRoute)
	assert.Len(t, ep.keys, 5)
	assert.Equal(t, []string{"GET", "POST"}, ep.keys[1].Values)
	assert.Equal(t, map[detect.Kind]string{detect.Email: ActionDrop, detect.UUID: ActionMask}, ep.detectors)
	require.Len(t, ep.custom, 1)
	assert.Equal(t, "employee_id", ep.custom[0].name)
	assert.Equal(t, ActionURL, ep.text.SpanName)
	assert.Equal(t, ActionDrop, ep.text.LogBody)
}

// The hash key never prints.
func TestHashKeyIsOpaque(t *testing.T) {
	cfg := loadConfig(t, "scrub/vendor")
	assert.NotContains(t, strings.ToLower(fmtConfig(cfg)), "0123456789abcdef")
}

func TestPolicyOverride(t *testing.T) {
	cfg := testConfig(t, func(c *Config) {
		c.Keys = []KeyRule{{Key: "Thread.Name", Action: ActionDrop}}
		c.Detectors = map[string]string{"uuid": ActionOff}
		c.Mode = ModeBlocklist
	})
	ep, err := cfg.effective()
	require.NoError(t, err)
	assert.Equal(t, ModeBlocklist, ep.mode)
	count := 0
	for _, k := range ep.keys {
		if strings.EqualFold(k.Key, "thread.name") {
			count++
			assert.Equal(t, ActionDrop, k.Action)
		}
	}
	assert.Equal(t, 1, count, "a user rule replaces the policy rule for the same key")
	_, has := ep.detectors[detect.UUID]
	assert.False(t, has)
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"unknown policy", Config{Policy: "strict"}, []string{`policy: unknown policy "strict"`}},
		{"unknown mode", Config{Mode: "denylist"}, []string{`mode: unknown mode "denylist"`}},
		{"unknown detector", Config{Detectors: map[string]string{"emial": "mask"}}, []string{`detectors: unknown detector "emial"`, "email, ipv4"}},
		{"bad detector action", Config{Detectors: map[string]string{"email": "erase"}}, []string{`detectors.email: unknown action "erase"`}},
		{"bad regex", Config{CustomDetectors: []CustomDetector{{Name: "emp", Regex: "EMP-[0-9"}}}, []string{"custom_detectors[0] (emp).regex: error parsing regexp"}},
		{"empty-matching regex", Config{CustomDetectors: []CustomDetector{{Name: "any", Regex: "x*"}}}, []string{"custom_detectors[0] (any).regex: matches the empty string"}},
		{"detector name clash", Config{CustomDetectors: []CustomDetector{{Name: "email", Regex: "x"}}}, []string{`custom_detectors[0] (email).name: "email" is already a detector name`}},
		{"custom without name", Config{CustomDetectors: []CustomDetector{{Regex: "x"}}}, []string{"custom_detectors[0].name: required"}},
		{"key without name", Config{Keys: []KeyRule{{Action: "drop"}}}, []string{"keys[0].key: required"}},
		{"bad key action", Config{Keys: []KeyRule{{Key: "tenant", Action: "erase"}}}, []string{`keys[0] (tenant).action: unknown action "erase"`}},
		{"bad key pattern", Config{Keys: []KeyRule{{Key: "code", Pattern: "(["}}}, []string{"keys[0] (code).pattern: error parsing regexp"}},
		{"values with drop", Config{Keys: []KeyRule{{Key: "m", Action: "drop", Values: []string{"GET"}}}}, []string{"keys[0] (m): values and pattern only apply"}},
		{"duplicate key", Config{Keys: []KeyRule{{Key: "a"}, {Key: "A"}}}, []string{"keys[1] (A): key listed twice"}},
		{"missing hash key", Config{Keys: []KeyRule{{Key: "tenant", Action: "hash"}}}, []string{"hash_key: required because keys[0] (tenant) uses action hash"}},
		{"missing hash key for detector", Config{Detectors: map[string]string{"email": "hash"}}, []string{"hash_key: required because detectors.email uses action hash"}},
		{"short hash key", Config{HashKey: "short", Keys: []KeyRule{{Key: "tenant", Action: "hash"}}}, []string{"hash_key: must be at least 32 bytes (got 5)"}},
		{"short hash key for identities", Config{HashKey: "short"}, []string{"hash_key: must be at least 32 bytes (got 5)"}},
		{"bad text action", Config{Text: TextConfig{SpanName: "drop"}}, []string{`text.span_name: unknown action "drop"`}},
		{"bad url fallback", Config{URLWithoutRoute: "keep"}, []string{`url_without_route: unknown value "keep"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			_, err = NewFactory().CreateTraces(t.Context(), testSettings(), &tt.cfg, nil)
			assert.Error(t, err, "an invalid configuration never starts")
		})
	}
}

func TestBuiltinPoliciesValidate(t *testing.T) {
	for _, p := range []string{PolicyVendor, PolicyCustomer, PolicyNone} {
		require.NoError(t, (&Config{Policy: p}).Validate(), p)
	}
}
