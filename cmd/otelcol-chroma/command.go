package main

import (
	"github.com/spf13/cobra"
	"go.opentelemetry.io/collector/otelcol"

	"github.com/otelcol-chroma/otelcol-chroma/internal/defaultconfig"
)

// newCommand is the collector's own command with the distribution's additions:
// without --config it runs the embedded default configuration, and the
// operator subcommands (snapshot ...) share its binary and config files.
func newCommand(params otelcol.CollectorSettings) *cobra.Command {
	if len(params.ConfigProviderSettings.ResolverSettings.URIs) == 0 {
		params.ConfigProviderSettings.ResolverSettings.URIs = []string{defaultconfig.URI}
	}
	cmd := otelcol.NewCommand(params)
	cmd.AddCommand(newSnapshotCommand(params.ConfigProviderSettings.ResolverSettings.ProviderFactories, params.BuildInfo.Version))
	return cmd
}
