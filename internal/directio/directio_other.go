//go:build !linux

package directio

import (
	"errors"
	"os"
)

// Set is not supported on this platform: writes go through the page cache.
func Set(*os.File, bool) error { return errors.ErrUnsupported }
