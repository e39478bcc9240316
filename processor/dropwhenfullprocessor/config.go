package dropwhenfullprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/dropwhenfullprocessor"

import (
	"fmt"
	"time"
)

// Config of the dropwhenfull processor.
type Config struct {
	// LogInterval spaces the log lines about drops: the first drop is
	// logged at once, later ones at most once per interval with the totals
	// since the previous line. Default 1m.
	LogInterval time.Duration `mapstructure:"log_interval"`
}

func createDefaultConfig() *Config {
	return &Config{LogInterval: time.Minute}
}

// Validate checks the configuration; the error names the key and what to do.
func (cfg *Config) Validate() error {
	if cfg.LogInterval <= 0 {
		return fmt.Errorf("log_interval: must be positive (got %s); e.g. 1m", cfg.LogInterval)
	}
	return nil
}
