package snapshotextension

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver"
)

// The receiver's snapshot_extension key finds the bucket through this.
func TestOffersItsSettingsToTheReceiver(t *testing.T) {
	cfg := testConfig(t, t.TempDir(), t.TempDir()+"/bucket")
	ext, err := newExtension(cfg, extensiontest.NewNopSettings(typ))
	require.NoError(t, err)
	var p chromabackupreceiver.SnapshotSettingsProvider = ext
	got := p.SnapshotSettings()
	require.Equal(t, cfg.Bucket.URL, got.Bucket.URL)
	require.Equal(t, cfg.Instance, got.Instance)
}
