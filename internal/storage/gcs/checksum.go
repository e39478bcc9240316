package gcs

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
)

// newCRC32C is the checksum GCS keeps for every object.
func newCRC32C() hash.Hash32 { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }

// encodeCRC32C is the JSON API's form of a CRC32C: base64 of its four
// big-endian bytes.
func encodeCRC32C(sum uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], sum)
	return base64.StdEncoding.EncodeToString(b[:])
}

// headerCRC32C finds the CRC32C in a download's X-Goog-Hash headers
// ("crc32c=...,md5=...").
func headerCRC32C(h http.Header) (string, bool) {
	for _, v := range h.Values("X-Goog-Hash") {
		for part := range strings.SplitSeq(v, ",") {
			if sum, ok := strings.CutPrefix(strings.TrimSpace(part), "crc32c="); ok {
				return sum, true
			}
		}
	}
	return "", false
}

// checkedBody returns a download's body, checked at its end against the
// CRC32C the store reports for the object, when it reports one for these
// very bytes (not for a transcoded or decompressed body).
func checkedBody(resp *http.Response, key string) io.ReadCloser {
	want, ok := headerCRC32C(resp.Header)
	if !ok || resp.Uncompressed || resp.Header.Get("Content-Encoding") != "" {
		return resp.Body
	}
	return &crcReader{ReadCloser: resp.Body, hash: newCRC32C(), want: want, key: key}
}

type crcReader struct {
	io.ReadCloser
	hash hash.Hash32
	want string
	key  string
}

func (r *crcReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.hash.Write(p[:n])
	if err == io.EOF {
		if got := encodeCRC32C(r.hash.Sum32()); got != r.want {
			return n, fmt.Errorf("read %s: content has CRC32C %s, the store says %s: the object or the transfer is damaged", r.key, got, r.want)
		}
	}
	return n, err
}
