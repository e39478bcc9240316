package base

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// Only a seekable reader holding exactly size bytes (no more than limit)
// from where it stands goes up as one plain request, and it is left where
// it stood.
func TestSmallBody(t *testing.T) {
	data := []byte("0123456789")
	atOffset := bytes.NewReader(data)
	if _, err := atOffset.Seek(4, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		r           io.Reader
		size, limit int64
		want        bool
	}{
		"exact":           {bytes.NewReader(data), 10, 10, true},
		"from its offset": {atOffset, 6, 10, true},
		"shorter":         {bytes.NewReader(data), 11, 20, false},
		"longer":          {bytes.NewReader(data), 9, 20, false},
		"over the limit":  {bytes.NewReader(data), 10, 9, false},
		"size unknown":    {bytes.NewReader(data), -1, 20, false},
		"does not seek":   {io.MultiReader(strings.NewReader(string(data))), 10, 20, false},
	} {
		body, ok := SmallBody(c.r, c.size, c.limit)
		if ok != c.want {
			t.Errorf("%s: ok %v, want %v", name, ok, c.want)
			continue
		}
		if !ok {
			continue
		}
		got, err := io.ReadAll(body)
		if err != nil || int64(len(got)) != c.size || !bytes.HasSuffix(data, got) {
			t.Errorf("%s: body %q, %v; want the last %d bytes", name, got, err, c.size)
		}
	}
}
