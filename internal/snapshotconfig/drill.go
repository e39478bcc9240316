package snapshotconfig // import "github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// Drill defaults used by the snapshot extension.
const (
	DefaultDrillInterval = 24 * time.Hour
	DefaultDrillTimeout  = time.Hour
)

// DrillSettings are the `drill:` keys: when the snapshot extension runs
// restore drills, and how (`otelcol-chroma snapshot drill` reads them too).
type DrillSettings struct {
	// Enabled runs drills in the extension; the extension's default is true.
	// In an encrypted bucket drills also need encryption::reader_key_file.
	Enabled bool `mapstructure:"enabled"`
	// Interval between drills; default DefaultDrillInterval, at least 1s.
	Interval time.Duration `mapstructure:"interval"`
	// Timeout bounds one drill; default DefaultDrillTimeout, 0 means none.
	Timeout time.Duration `mapstructure:"timeout"`
	// ChromaCommand is the chroma executable that serves the restored copy
	// for the API checks; without it the drill checks the files only.
	ChromaCommand string `mapstructure:"chroma_command"`
	// ScratchDirectory receives the restored copy (room for a whole
	// snapshot); default the settings' scratch_directory, else the
	// system's temporary folder.
	ScratchDirectory string `mapstructure:"scratch_directory"`
}

// DefaultDrill is the extension's default: a daily drill.
func DefaultDrill() DrillSettings {
	return DrillSettings{Enabled: true, Interval: DefaultDrillInterval, Timeout: DefaultDrillTimeout}
}

func (d *DrillSettings) validate() error {
	var errs []error
	if d.Interval < 0 || (d.Interval > 0 && d.Interval < time.Second) {
		errs = append(errs, fmt.Errorf(`"drill::interval" must be at least 1s, got %s`, d.Interval))
	}
	if d.Timeout < 0 {
		errs = append(errs, fmt.Errorf(`"drill::timeout" must not be negative (0 means no bound), got %s`, d.Timeout))
	}
	errs = append(errs, CheckUnit("drill::timeout", d.Timeout, time.Second, "1h"))
	return errors.Join(errs...)
}

// DrillInterval is the time between the extension's drills.
func (d *DrillSettings) DrillInterval() time.Duration {
	return cmp.Or(d.Interval, DefaultDrillInterval)
}

// DrillOptions are the engine options these settings determine; the caller
// adds the snapshot id, its version, progress and logger.
func (s *Settings) DrillOptions() snapshot.DrillOptions {
	return snapshot.DrillOptions{
		ScratchDir:    cmp.Or(s.Drill.ScratchDirectory, s.ScratchDirectory),
		ChromaCommand: s.Drill.ChromaCommand,
		Instance:      s.Instance,
		Concurrency:   s.Concurrency,
	}
}
