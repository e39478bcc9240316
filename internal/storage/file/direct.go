package file

import (
	"io"
	"os"
	"sync"

	"github.com/otelcol-chroma/otelcol-chroma/internal/directio"
)

// Objects of a size in [directMin, directMax] are written with direct I/O
// where the file system supports it: a snapshot's blocks are written once
// and read back only by a restore, so copying them into the page cache costs
// CPU and evicts the pages of the database being backed up.
const (
	directMin = 64 << 10
	directMax = 8 << 20
)

var directBuffers = sync.Pool{New: func() any { return new(directio.Buffer) }}

// copyDirect reads exactly size bytes from r and writes them to the new,
// empty file f, with direct I/O unless the file system refuses it. It
// returns the bytes r gave, like io.Copy, except that it stops reading one
// byte past size; nothing is written unless r gave exactly size bytes.
func copyDirect(f *os.File, r io.Reader, size int64) (int64, error) {
	buf := directBuffers.Get().(*directio.Buffer)
	defer directBuffers.Put(buf)
	data := buf.Get(int(size) + 1)
	n, err := io.ReadFull(r, data[:size+1])
	switch {
	case err == nil:
		return int64(n), nil // more than size: the caller reports it
	case err != io.ErrUnexpectedEOF && err != io.EOF:
		return int64(n), err
	case int64(n) != size:
		return int64(n), nil
	}
	padded := data[:directio.RoundUp(n)]
	clear(padded[n:])
	if directio.Set(f, true) == nil {
		direct, err := directio.WriteAt(f, padded, 0)
		if err != nil {
			return 0, err
		}
		if direct {
			if len(padded) > n {
				err = f.Truncate(size)
			}
			return size, err
		}
	}
	if _, err := f.WriteAt(data[:n], 0); err != nil {
		return 0, err
	}
	return size, nil
}
