// Package base holds the error kinds, object description and key rules that
// package storage exports. Backends import it directly so that storage can
// in turn import the backends (for Open) without an import cycle; everyone
// else uses the names re-exported by storage, which are the same values.
package base

import (
	"errors"
	"time"
)

// ErrNotExist: see storage.ErrNotExist.
var ErrNotExist = errors.New("object does not exist")

// ErrExists: see storage.ErrExists.
var ErrExists = errors.New("object already exists")

// ErrPermanent: see storage.ErrPermanent.
var ErrPermanent = errors.New("permanent storage error")

// ErrNoSpace: see storage.ErrNoSpace.
var ErrNoSpace = errors.New("no space left in the bucket")

// ErrNoBucket: see storage.ErrNoBucket.
var ErrNoBucket = errors.New("bucket does not exist")

// ObjectInfo: see storage.ObjectInfo.
type ObjectInfo struct {
	Key      string
	Size     int64
	Modified time.Time
}
