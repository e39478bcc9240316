package snapshotextension // import "github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension"

import (
	"context"
	"os"

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
	cfg := &Config{}
	cfg.Instance, _ = os.Hostname()
	cfg.Timeout = snapshotconfig.DefaultTimeout
	cfg.Retention = snapshotconfig.DefaultRetention()
	return cfg
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newExtension(cfg.(*Config), set)
}
