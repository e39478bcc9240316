package snapshotextension

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

func TestClassify(t *testing.T) {
	refused := &url.Error{Op: "Put", URL: "http://127.0.0.1:7070/b/k", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	for _, c := range []struct {
		err      error
		timedOut bool
		shutdown bool
		want     errorClass
	}{
		{fmt.Errorf("snapshot: %w", context.Canceled), false, true, classCancelled},
		{fmt.Errorf("upload: %w", refused), true, false, classTimeout},
		{fmt.Errorf("x: %w", snapshot.ErrWrongKey), false, false, classKey},
		{fmt.Errorf("x: %w", snapshot.ErrKeyRequired), false, false, classKey},
		{fmt.Errorf("x: %w", snapshot.ErrKeptChanging), false, false, classKeptChanging},
		{fmt.Errorf("x: %w", snapshot.ErrCorrupt), false, false, classRepository},
		{fmt.Errorf("x: %w", storage.ErrPermanent), false, false, classBucketDenied},
		{fmt.Errorf("x: %w: %w", storage.ErrNoSpace, storage.ErrPermanent), false, false, classBucketFull},
		{fmt.Errorf("write blocks/ab/abcd: %w", refused), false, false, classBucketUnreachable},
		{fmt.Errorf("x: %w", &fs.PathError{Op: "open", Path: "/data", Err: syscall.ENOENT}), false, false, classSource},
		{fmt.Errorf("x: %w", snapshot.ErrNotChroma), false, false, classSource},
		{fmt.Errorf("x: %w", snapshot.ErrSourceCorrupt), false, false, classSourceCorrupt},
		{errors.New("something else"), false, false, classOther},
	} {
		assert.Equal(t, c.want, classify(c.err, c.timedOut, c.shutdown), "%v", c.err)
	}
}
