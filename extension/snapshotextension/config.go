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
	var errs []error
	if strings.TrimSpace(cfg.PersistDirectory) == "" {
		errs = append(errs, errors.New(`"persist_directory" is required: set it to Chroma's persist directory (the --path of "chroma run", or persist_path in Chroma's config)`))
	}
	// Snapshots are encrypted with the writer key alone: without it a new
	// bucket would be set up unencrypted although encryption is configured.
	if cfg.Encryption.ReaderKeyFile != "" && cfg.Encryption.WriterKeyFile == "" {
		errs = append(errs, errors.New(`"encryption::reader_key_file" is set without "encryption::writer_key_file": snapshots are encrypted with the writer key, so they would be stored unencrypted; set writer_key_file to the writer key made with the reader key by "otelcol-chroma snapshot keygen"`))
	}
	return errors.Join(errs...)
}
