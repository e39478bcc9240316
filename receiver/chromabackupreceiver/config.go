package chromabackupreceiver // import "github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver"

import (
	"errors"
	"strings"
	"time"

	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver/internal/metadata"
)

// Config configures the chromabackup receiver.
type Config struct {
	scraperhelper.ControllerConfig `mapstructure:",squash"`
	metadata.MetricsBuilderConfig  `mapstructure:",squash"`

	// PersistDirectory is Chroma's persist directory: the --path of `chroma run`,
	// or persist_path in Chroma's config file.
	PersistDirectory string `mapstructure:"persist_directory"`

	// Instance identifies the deployment in every metric (resource attribute
	// service.instance.id). Defaults to the host name. Never derived from a path.
	Instance string `mapstructure:"instance"`

	// QuickCheckInterval is how often, at most, chroma.sqlite3 is checked
	// with PRAGMA quick_check (Chroma's writers wait while it runs). 0
	// turns the check off.
	QuickCheckInterval time.Duration `mapstructure:"quick_check_interval"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate checks the configuration before the collector starts.
func (cfg *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(cfg.PersistDirectory) == "" {
		errs = append(errs, errors.New(`"persist_directory" is required: set it to Chroma's persist directory (the --path of "chroma run", or persist_path in Chroma's config)`))
	}
	if cfg.CollectionInterval <= 0 {
		errs = append(errs, errors.New(`"collection_interval" must be positive, e.g. 60s`))
	}
	if cfg.QuickCheckInterval < 0 {
		errs = append(errs, errors.New(`"quick_check_interval" must not be negative: e.g. 1h, or 0 to turn the check off`))
	}
	return errors.Join(errs...)
}
