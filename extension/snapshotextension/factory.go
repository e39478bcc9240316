package snapshotextension // import "github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension/internal/metadata"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
)

// NewFactory creates the snapshot extension factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	// No host name as the default instance: retention applies per instance,
	// and a pod's name changes with every replacement, so each new pod would
	// keep the old pods' snapshots forever. The CLI reads the same default.
	cfg := &Config{}
	cfg.Timeout = snapshotconfig.DefaultTimeout
	cfg.Retention = snapshotconfig.DefaultRetention()
	cfg.Drill = snapshotconfig.DefaultDrill()
	return cfg
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newExtension(cfg.(*Config), set)
}
