//go:build !linux

package testutil

import (
	"errors"
	"os"
)

// DirectIOOn is known only on Linux.
func DirectIOOn(*os.File) (bool, error) { return false, errors.ErrUnsupported }

// DirectIOWorks is known only on Linux.
func DirectIOWorks(string) (bool, error) { return false, errors.ErrUnsupported }
