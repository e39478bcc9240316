package snapshotextension // import "github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension"

import (
	"errors"
	"strings"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
)

// Config is the snapshot settings block that the `otelcol-chroma snapshot`
// subcommands read too (one file configures both): persist directory,
// bucket, encryption, and the schedule keys.
type Config struct {
	snapshotconfig.Settings `mapstructure:",squash"`
}

// Validate adds what the extension needs beyond the shared settings (which
// the collector validates on their own).
func (cfg *Config) Validate() error {
	if strings.TrimSpace(cfg.PersistDirectory) == "" {
		return errors.New(`"persist_directory" is required: set it to Chroma's persist directory (the --path of "chroma run", or persist_path in Chroma's config)`)
	}
	return nil
}
