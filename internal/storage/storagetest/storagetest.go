// Package storagetest is the conformance suite every storage.Bucket backend
// must pass. A backend's test calls Run with a constructor for an empty
// bucket:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Bucket { return newEmptyBucket(t) })
//	}
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// LargeObjectSize is the size of the object the suite streams through Write
// with an unknown length; big enough that S3 backends must use a multipart
// upload.
const LargeObjectSize = 20 << 20

// Run exercises every method of the buckets newBucket returns. Each subtest
// gets its own bucket, which must start empty.
func Run(t *testing.T, newBucket func(t *testing.T) storage.Bucket) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, b storage.Bucket)
	}{
		{"WriteReadStat", testWriteReadStat},
		{"WriteUnknownSize", testWriteUnknownSize},
		{"EmptyObject", testEmptyObject},
		{"Overwrite", testOverwrite},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"ListOrder", testListOrder},
		{"ListPrefix", testListPrefix},
		{"ListStopEarly", testListStopEarly},
		{"CreateIfAbsent", testCreateIfAbsent},
		{"CreateIfAbsentConcurrent", testCreateIfAbsentConcurrent},
		{"InvalidKeys", testInvalidKeys},
		{"SizeMismatch", testSizeMismatch},
		{"FailedWriteKeepsOld", testFailedWriteKeepsOld},
		{"CanceledContext", testCanceledContext},
		{"SpecialCharacters", testSpecialCharacters},
		{"LargeObject", testLargeObject},
		{"String", testString},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newBucket(t))
		})
	}
}

func testWriteReadStat(t *testing.T, b storage.Bucket) {
	ctx := t.Context()
	data := []byte("hello, bucket")
	mustWrite(t, b, "dir/sub/obj.bin", data)
	if got := mustRead(t, b, "dir/sub/obj.bin"); !bytes.Equal(got, data) {
		t.Fatalf("Read = %q, want %q", got, data)
	}
	info, err := b.Stat(ctx, "dir/sub/obj.bin")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Key != "dir/sub/obj.bin" || info.Size != int64(len(data)) {
		t.Fatalf("Stat = %+v, want key dir/sub/obj.bin size %d", info, len(data))
	}
	if info.Modified.IsZero() {
		t.Fatalf("Stat: zero Modified time")
	}
}

func testWriteUnknownSize(t *testing.T, b storage.Bucket) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	if err := b.Write(t.Context(), "unknown", onlyReader{bytes.NewReader(data)}, -1); err != nil {
		t.Fatalf("Write size -1: %v", err)
	}
	if got := mustRead(t, b, "unknown"); !bytes.Equal(got, data) {
		t.Fatalf("Read: got %d bytes, want %d", len(got), len(data))
	}
}

func testEmptyObject(t *testing.T, b storage.Bucket) {
	mustWrite(t, b, "empty", nil)
	if got := mustRead(t, b, "empty"); len(got) != 0 {
		t.Fatalf("Read = %q, want empty", got)
	}
	info, err := b.Stat(t.Context(), "empty")
	if err != nil || info.Size != 0 {
		t.Fatalf("Stat = %+v, %v; want size 0", info, err)
	}
	if err := b.CreateIfAbsent(t.Context(), "empty2", onlyReader{bytes.NewReader(nil)}, -1); err != nil {
		t.Fatalf("CreateIfAbsent empty, size -1: %v", err)
	}
	if got := mustRead(t, b, "empty2"); len(got) != 0 {
		t.Fatalf("Read = %q, want empty", got)
	}
}

func testOverwrite(t *testing.T, b storage.Bucket) {
	mustWrite(t, b, "k", []byte("first version, longer"))
	mustWrite(t, b, "k", []byte("second"))
	if got := mustRead(t, b, "k"); string(got) != "second" {
		t.Fatalf("Read after overwrite = %q, want %q", got, "second")
	}
	info, err := b.Stat(t.Context(), "k")
	if err != nil || info.Size != int64(len("second")) {
		t.Fatalf("Stat after overwrite = %+v, %v", info, err)
	}
	if keys := listKeys(t, b, ""); !slices.Equal(keys, []string{"k"}) {
		t.Fatalf("List after overwrite = %q, want [k]", keys)
	}
}

func testMissing(t *testing.T, b storage.Bucket) {
	ctx := t.Context()
	mustWrite(t, b, "present/x", []byte("x"))
	for _, key := range []string{"absent", "present/absent", "absent/deeper/key", "present"} {
		if rc, err := b.Read(ctx, key); !errors.Is(err, storage.ErrNotExist) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Read(%q) error = %v, want ErrNotExist", key, err)
		}
		if _, err := b.Stat(ctx, key); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("Stat(%q) error = %v, want ErrNotExist", key, err)
		}
	}
}

func testDelete(t *testing.T, b storage.Bucket) {
	ctx := t.Context()
	mustWrite(t, b, "a/b/c", []byte("1"))
	mustWrite(t, b, "a/d", []byte("2"))
	if err := b.Delete(ctx, "a/b/c"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := b.Stat(ctx, "a/b/c"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Stat after Delete: %v, want ErrNotExist", err)
	}
	if err := b.Delete(ctx, "a/b/c"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if err := b.Delete(ctx, "never/written"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	if keys := listKeys(t, b, ""); !slices.Equal(keys, []string{"a/d"}) {
		t.Fatalf("List after Delete = %q, want [a/d]", keys)
	}
	// The key can be written again after a delete.
	mustWrite(t, b, "a/b/c", []byte("3"))
	if got := mustRead(t, b, "a/b/c"); string(got) != "3" {
		t.Fatalf("Read after rewrite = %q", got)
	}
}

// orderKeys are chosen so that sorting folder by folder would give the wrong
// order: '-' and '.' sort before '/', and '0' after it.
var orderKeys = []string{"a-c", "a.x", "a/b/c", "a/b/d", "a/b0", "ab", "b/1", "b/2/z"}

func writeOrderKeys(t *testing.T, b storage.Bucket) {
	t.Helper()
	shuffled := slices.Clone(orderKeys)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, k := range shuffled {
		mustWrite(t, b, k, []byte("content of "+k))
	}
}

func testListOrder(t *testing.T, b storage.Bucket) {
	writeOrderKeys(t, b)
	var keys []string
	for info, err := range b.List(t.Context(), "") {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if want := int64(len("content of " + info.Key)); info.Size != want {
			t.Errorf("List: %s size %d, want %d", info.Key, info.Size, want)
		}
		if info.Modified.IsZero() {
			t.Errorf("List: %s has zero Modified time", info.Key)
		}
		keys = append(keys, info.Key)
	}
	if !slices.Equal(keys, orderKeys) {
		t.Fatalf("List order = %q\nwant %q", keys, orderKeys)
	}
}

func testListPrefix(t *testing.T, b storage.Bucket) {
	writeOrderKeys(t, b)
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", orderKeys},
		{"a", []string{"a-c", "a.x", "a/b/c", "a/b/d", "a/b0", "ab"}},
		{"a/", []string{"a/b/c", "a/b/d", "a/b0"}},
		{"a/b", []string{"a/b/c", "a/b/d", "a/b0"}},
		{"a/b/", []string{"a/b/c", "a/b/d"}},
		{"a/b/c", []string{"a/b/c"}},
		{"b/2/", []string{"b/2/z"}},
		{"c", nil},
		{"zzz/", nil},
		{"a/b/c/", nil},
	} {
		if got := listKeys(t, b, tc.prefix); !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

func testListStopEarly(t *testing.T, b storage.Bucket) {
	writeOrderKeys(t, b)
	var got []string
	for info, err := range b.List(t.Context(), "") {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		got = append(got, info.Key)
		if len(got) == 2 {
			break
		}
	}
	if !slices.Equal(got, orderKeys[:2]) {
		t.Fatalf("first two keys = %q, want %q", got, orderKeys[:2])
	}
}

func testCreateIfAbsent(t *testing.T, b storage.Bucket) {
	ctx := t.Context()
	if err := b.CreateIfAbsent(ctx, "locks/lock", bytes.NewReader([]byte("owner-1")), 7); err != nil {
		t.Fatalf("first CreateIfAbsent: %v", err)
	}
	err := b.CreateIfAbsent(ctx, "locks/lock", bytes.NewReader([]byte("owner-2 wants it")), 16)
	if !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second CreateIfAbsent error = %v, want ErrExists", err)
	}
	if got := mustRead(t, b, "locks/lock"); string(got) != "owner-1" {
		t.Fatalf("lock content = %q, want owner-1", got)
	}
	// An object written by Write counts as present too.
	mustWrite(t, b, "plain", []byte("x"))
	if err := b.CreateIfAbsent(ctx, "plain", bytes.NewReader([]byte("y")), 1); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("CreateIfAbsent over Write error = %v, want ErrExists", err)
	}
	// After a delete the key is free again.
	if err := b.Delete(ctx, "locks/lock"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := b.CreateIfAbsent(ctx, "locks/lock", bytes.NewReader([]byte("owner-3")), 7); err != nil {
		t.Fatalf("CreateIfAbsent after Delete: %v", err)
	}
	if keys := listKeys(t, b, ""); !slices.Equal(keys, []string{"locks/lock", "plain"}) {
		t.Fatalf("List = %q", keys)
	}
}

func testCreateIfAbsentConcurrent(t *testing.T, b storage.Bucket) {
	const racers = 8
	ctx := t.Context()
	start := make(chan struct{})
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			body := fmt.Sprintf("racer %d", i)
			<-start
			errs[i] = b.CreateIfAbsent(ctx, "race/lock", bytes.NewReader([]byte(body)), int64(len(body)))
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("racers %d and %d both created the object", winner, i)
			}
			winner = i
		case !errors.Is(err, storage.ErrExists):
			t.Fatalf("racer %d: %v, want nil or ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no racer created the object: %v", errs)
	}
	if got, want := string(mustRead(t, b, "race/lock")), fmt.Sprintf("racer %d", winner); got != want {
		t.Fatalf("content = %q, want the winner's %q", got, want)
	}
	if keys := listKeys(t, b, ""); !slices.Equal(keys, []string{"race/lock"}) {
		t.Fatalf("List = %q, want [race/lock]", keys)
	}
}

func testInvalidKeys(t *testing.T, b storage.Bucket) {
	ctx := t.Context()
	for _, key := range []string{"", "/abs", "a//b", "a/", "../x", "a/../b", "a/./b", ".", ".."} {
		err := b.Write(ctx, key, bytes.NewReader([]byte("x")), 1)
		if !errors.Is(err, storage.ErrPermanent) {
			t.Errorf("Write(%q) error = %v, want ErrPermanent", key, err)
		}
		err = b.CreateIfAbsent(ctx, key, bytes.NewReader([]byte("x")), 1)
		if !errors.Is(err, storage.ErrPermanent) {
			t.Errorf("CreateIfAbsent(%q) error = %v, want ErrPermanent", key, err)
		}
		if rc, err := b.Read(ctx, key); !errors.Is(err, storage.ErrPermanent) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Read(%q) error = %v, want ErrPermanent", key, err)
		}
		if _, err := b.Stat(ctx, key); !errors.Is(err, storage.ErrPermanent) {
			t.Errorf("Stat(%q) error = %v, want ErrPermanent", key, err)
		}
		if err := b.Delete(ctx, key); !errors.Is(err, storage.ErrPermanent) {
			t.Errorf("Delete(%q) error = %v, want ErrPermanent", key, err)
		}
	}
	for _, prefix := range []string{"/abs", "../", "a//"} {
		var err error
		for _, err = range b.List(ctx, prefix) {
			break
		}
		if !errors.Is(err, storage.ErrPermanent) {
			t.Errorf("List(%q) error = %v, want ErrPermanent", prefix, err)
		}
	}
	if keys := listKeys(t, b, ""); len(keys) != 0 {
		t.Fatalf("invalid writes left objects: %q", keys)
	}
}

func testSizeMismatch(t *testing.T, b storage.Bucket) {
	ctx := t.Context()
	if err := b.Write(ctx, "short", bytes.NewReader([]byte("12345")), 10); err == nil {
		t.Fatalf("Write with a short reader succeeded")
	}
	if _, err := b.Stat(ctx, "short"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Stat after failed Write: %v, want ErrNotExist", err)
	}
}

func testFailedWriteKeepsOld(t *testing.T, b storage.Bucket) {
	ctx := t.Context()
	mustWrite(t, b, "k", []byte("old"))
	for _, size := range []int64{-1, 1 << 20} {
		r := io.MultiReader(bytes.NewReader(make([]byte, 64<<10)), errReader{errors.New("source broke")})
		if err := b.Write(ctx, "k", r, size); err == nil {
			t.Fatalf("Write (size %d) from a failing reader succeeded", size)
		}
		if got := mustRead(t, b, "k"); string(got) != "old" {
			t.Fatalf("after failed Write (size %d): %q, want old", size, got)
		}
		r = io.MultiReader(bytes.NewReader(make([]byte, 64<<10)), errReader{errors.New("source broke")})
		if err := b.CreateIfAbsent(ctx, "fresh", r, size); err == nil {
			t.Fatalf("CreateIfAbsent (size %d) from a failing reader succeeded", size)
		}
		if _, err := b.Stat(ctx, "fresh"); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("after failed CreateIfAbsent (size %d): Stat %v, want ErrNotExist", size, err)
		}
	}
	if keys := listKeys(t, b, ""); !slices.Equal(keys, []string{"k"}) {
		t.Fatalf("List after failed writes = %q, want [k]", keys)
	}
}

func testCanceledContext(t *testing.T, b storage.Bucket) {
	mustWrite(t, b, "k", []byte("v"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Write(ctx, "new", bytes.NewReader([]byte("x")), 1); err == nil {
		t.Errorf("Write with canceled context succeeded")
	}
	if rc, err := b.Read(ctx, "k"); err == nil {
		rc.Close()
		t.Errorf("Read with canceled context succeeded")
	}
	var err error
	for _, err = range b.List(ctx, "") {
		if err != nil {
			break
		}
	}
	if err == nil {
		t.Errorf("List with canceled context gave no error")
	}
	if _, err := b.Stat(t.Context(), "new"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Stat after canceled Write: %v, want ErrNotExist", err)
	}
}

func testSpecialCharacters(t *testing.T, b storage.Bucket) {
	keys := []string{"dir with space/file+plus%25 ü.txt", "q?x=1&y=#frag", "tilde~/star*"}
	for _, k := range keys {
		mustWrite(t, b, k, []byte(k))
	}
	for _, k := range keys {
		if got := mustRead(t, b, k); string(got) != k {
			t.Errorf("Read(%q) = %q", k, got)
		}
	}
	want := slices.Sorted(slices.Values(keys))
	if got := listKeys(t, b, ""); !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
	if got := listKeys(t, b, "dir with space/"); !slices.Equal(got, keys[:1]) {
		t.Fatalf("List(dir with space/) = %q", got)
	}
}

func testLargeObject(t *testing.T, b storage.Bucket) {
	if testing.Short() {
		t.Skip("large object skipped in -short mode")
	}
	ctx := t.Context()
	src := &patternReader{remaining: LargeObjectSize}
	sum := sha256.New()
	if err := b.Write(ctx, "big/object", io.TeeReader(src, sum), -1); err != nil {
		t.Fatalf("Write %d bytes, size unknown: %v", LargeObjectSize, err)
	}
	want := sum.Sum(nil)
	info, err := b.Stat(ctx, "big/object")
	if err != nil || info.Size != LargeObjectSize {
		t.Fatalf("Stat = %+v, %v; want size %d", info, err, LargeObjectSize)
	}
	rc, err := b.Read(ctx, "big/object")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	defer rc.Close()
	got := sha256.New()
	n, err := io.Copy(got, rc)
	if err != nil || n != LargeObjectSize {
		t.Fatalf("Read: %d bytes, %v; want %d", n, err, LargeObjectSize)
	}
	if !bytes.Equal(got.Sum(nil), want) {
		t.Fatalf("large object content differs")
	}
}

func testString(t *testing.T, b storage.Bucket) {
	if b.String() == "" {
		t.Fatalf("String() is empty")
	}
}

func mustWrite(t *testing.T, b storage.Bucket, key string, data []byte) {
	t.Helper()
	if err := b.Write(t.Context(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Write(%q): %v", key, err)
	}
}

func mustRead(t *testing.T, b storage.Bucket, key string) []byte {
	t.Helper()
	data := ReadObject(t, b, key)
	if data == nil {
		t.Fatalf("Read(%q): %v", key, storage.ErrNotExist)
	}
	return data
}

// ReadObject returns an object's content (never nil), or nil when it does
// not exist; any other error fails the test.
func ReadObject(t testing.TB, b storage.Bucket, key string) []byte {
	t.Helper()
	rc, err := b.Read(t.Context(), key)
	if errors.Is(err, storage.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("Read(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Read(%q): %v", key, err)
	}
	return append([]byte{}, data...)
}

func listKeys(t *testing.T, b storage.Bucket, prefix string) []string {
	t.Helper()
	var keys []string
	for info, err := range b.List(t.Context(), prefix) {
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		keys = append(keys, info.Key)
	}
	return keys
}

// onlyReader hides every method but Read, so a backend cannot learn the size
// or seek.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// patternReader yields remaining bytes of a non-repeating-per-block pattern
// without holding them in memory.
type patternReader struct {
	remaining int64
	counter   uint64
}

func (p *patternReader) Read(buf []byte) (int, error) {
	if p.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(buf)) > p.remaining {
		buf = buf[:p.remaining]
	}
	for i := range buf {
		p.counter++
		buf[i] = byte(p.counter*2654435761>>24) ^ byte(p.counter)
	}
	p.remaining -= int64(len(buf))
	return len(buf), nil
}

// ConnectionCounter is what ReusesConnections needs of a proxy between a
// bucket and its server (testutil.ConnProxy).
type ConnectionCounter interface {
	Opened() int64
	Hold(n int)
}

// ReusesConnections checks that after n reads at once through the proxy,
// n more reads at once open no new connection: the backend keeps n idle
// connections to its endpoint, as a restore's waiting requests need.
func ReusesConnections(t *testing.T, b storage.Bucket, proxy ConnectionCounter, n int) {
	t.Helper()
	ctx := t.Context()
	if err := b.Write(ctx, "conns/object", strings.NewReader("data"), 4); err != nil {
		t.Fatal(err)
	}
	round := func() {
		proxy.Hold(n)
		defer proxy.Hold(0)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				rc, err := b.Read(ctx, "conns/object")
				if err != nil {
					t.Error(err)
					return
				}
				defer rc.Close()
				if _, err := io.Copy(io.Discard, rc); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	round()
	before := proxy.Opened()
	round()
	if opened := proxy.Opened() - before; opened > 0 {
		t.Errorf("%d reads at once opened %d new connections after as many reads had ended: the backend keeps fewer idle connections", n, opened)
	}
}
