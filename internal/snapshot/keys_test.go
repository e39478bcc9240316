package snapshot

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestKeyFiles(t *testing.T) {
	w, r, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(w, []byte("\nage1")) || bytes.Contains(w, []byte("AGE-SECRET-KEY")) {
		t.Fatalf("writer key file:\n%s", w)
	}
	if !bytes.Contains(r, []byte("\nAGE-SECRET-KEY-1")) {
		t.Fatalf("reader key file:\n%s", r)
	}
	dir := t.TempDir()
	wp, rp := filepath.Join(dir, "writer.key"), filepath.Join(dir, "reader.key")
	if err := os.WriteFile(wp, w, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rp, r, 0o600); err != nil {
		t.Fatal(err)
	}
	wk, err := LoadWriterKey(wp)
	if err != nil || !wk.CanWrite() || wk.CanRead() {
		t.Fatalf("writer key: %+v, %v", wk, err)
	}
	rk, err := LoadReaderKey(rp)
	if err != nil || rk.CanWrite() || !rk.CanRead() {
		t.Fatalf("reader key: %+v, %v", rk, err)
	}
	if !bytes.Equal(wk.authKey, rk.authKey) {
		t.Fatal("the pair does not share its auth key")
	}
	// Swapped files are refused with a message that says which is which.
	if _, err := LoadWriterKey(rp); err == nil || !strings.Contains(err.Error(), "reader key") {
		t.Errorf("reader key as writer key: %v", err)
	}
	if _, err := LoadReaderKey(wp); err == nil || !strings.Contains(err.Error(), "writer key") {
		t.Errorf("writer key as reader key: %v", err)
	}
	for name, data := range map[string]string{
		"no auth key":    "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq\n",
		"short auth key": "auth-key: abcd\n",
		"garbage":        "hello\n",
		"bad recipient":  "age1notakey\nauth-key: " + strings.Repeat("ab", 32) + "\n",
	} {
		if _, err := ParseWriterKey([]byte(data), name); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Secrets never appear in errors.
	bad := bytes.Replace(r, []byte("AGE-SECRET-KEY-1"), []byte("AGE-SECRET-KEY-1X"), 1)
	if _, err := ParseReaderKey(bad, "reader.key"); err == nil || strings.Contains(err.Error(), "AGE-SECRET-KEY-1X") {
		t.Errorf("malformed identity: %v", err)
	}
}

func TestBlockNames(t *testing.T) {
	h := Hash(sha256.Sum256([]byte("block")))
	if got := objectName(nil, h); got != h {
		t.Error("unencrypted object name is not the plaintext hash")
	}
	keyed := objectName(bytes.Repeat([]byte{1}, 32), h)
	if keyed == h || keyed == objectName(bytes.Repeat([]byte{2}, 32), h) {
		t.Error("encrypted object names do not depend on the auth key")
	}
	key := blockKey(keyed)
	back, ok := parseBlockKey(key)
	if !ok || back != keyed || !strings.HasPrefix(key, "blocks/"+keyed.String()[:2]+"/") {
		t.Errorf("block key %s", key)
	}
	for _, bad := range []string{"blocks/ab/cd", "blocks/xx/" + h.String(), "blocks/" + h.String(), "blocks/ab/" + h.String() + ".tmp"} {
		if _, ok := parseBlockKey(bad); ok {
			t.Errorf("parsed %s", bad)
		}
	}
}

func TestBlockCodec(t *testing.T) {
	writer, reader := mustKeys(t)
	fx := &fixture{rng: newRand()}
	random := fx.randBytes(200 << 10)
	text := bytes.Repeat([]byte("chroma document text; "), 10000)
	for _, keys := range []struct{ w, r Keys }{{Keys{}, Keys{}}, {writer, reader}} {
		enc, err := newBlockCodec(keys.w, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := newBlockCodec(keys.r, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for name, p := range map[string][]byte{"random": random, "text": text, "tiny": []byte("x")} {
			obj, err := enc.encode(p)
			if err != nil {
				t.Fatal(err)
			}
			obj = bytes.Clone(obj)
			if !keys.w.Encrypted() {
				wantCodec := map[string]byte{"random": codecRaw, "text": codecZstd, "tiny": codecRaw}[name]
				if obj[0] != wantCodec {
					t.Errorf("%s stored with codec %d", name, obj[0])
				}
			}
			// decode decrypts in place: each call gets its own copy.
			got, err := dec.decode(bytes.Clone(obj), sha256.Sum256(p), len(p))
			if err != nil || !bytes.Equal(got, p) {
				t.Fatalf("%s (encrypted %v): %v", name, keys.w.Encrypted(), err)
			}
			if _, err := dec.decode(bytes.Clone(obj), sha256.Sum256(p), len(p)+1); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "bytes") {
				t.Errorf("%s: wrong length accepted: %v", name, err)
			}
			if _, err := dec.decode(bytes.Clone(obj), sha256.Sum256([]byte("other")), len(p)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "SHA-256") {
				t.Errorf("%s: wrong hash accepted: %v", name, err)
			}
		}
		enc.close()
		dec.close()
	}
}

func TestSnapshotIDs(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	id, err := newSnapshotID(now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseSnapshotID(id)
	if err != nil || !got.Equal(now) || !strings.HasPrefix(id, "20260301T100000Z-") {
		t.Fatalf("id %s parses to %v, %v", id, got, err)
	}
	for _, bad := range []string{"latest", "20260301T100000Z", "20260301T100000Z-XYZ", "20260301T100000Z-ABCDEF01", "2026-03-01-abcdef01", "../x-abcdef01"} {
		if _, err := parseSnapshotID(bad); err == nil {
			t.Errorf("accepted id %q", bad)
		}
	}
}

func TestManifestValidate(t *testing.T) {
	base := func() *Manifest {
		return &Manifest{Format: 1, ID: "20260301T100000Z-abcdef01", RepositoryID: "r", BlockSize: MinBlockSize,
			Files: []File{{Path: "chroma.sqlite3", Size: MinBlockSize + 1, Blocks: make([]Hash, 2)}}}
	}
	if err := base().validate("20260301T100000Z-abcdef01", "r"); err != nil {
		t.Fatal(err)
	}
	v2 := base()
	v2.Format, v2.Files[0].BlockSize, v2.Files[0].Blocks = 2, 4096, make([]Hash, 17)
	if err := v2.validate("20260301T100000Z-abcdef01", "r"); err != nil {
		t.Fatalf("format 2 with a file block size: %v", err)
	}
	for name, mutate := range map[string]func(*Manifest){
		"absolute path": func(m *Manifest) { m.Files[0].Path = "/etc/passwd" },
		"parent path":   func(m *Manifest) { m.Files[0].Path = "../x" },
		"unclean path":  func(m *Manifest) { m.Files[0].Path = "a/../../x" },
		"block count":   func(m *Manifest) { m.Files[0].Blocks = m.Files[0].Blocks[:1] },
		"other repo":    func(m *Manifest) { m.RepositoryID = "other" },
		"other id":      func(m *Manifest) { m.ID = "20260301T100000Z-00000000" },
		"future format": func(m *Manifest) { m.Format = ManifestFormat + 1 },
		"format 1 with a file block size": func(m *Manifest) {
			m.Files[0].BlockSize, m.Files[0].Blocks = 4096, make([]Hash, 17)
		},
		"file block size too small": func(m *Manifest) {
			m.Format, m.Files[0].BlockSize, m.Files[0].Blocks = 2, 512, make([]Hash, 129)
		},
		"file block size above the manifest's": func(m *Manifest) {
			m.Format, m.Files[0].BlockSize, m.Files[0].Blocks = 2, 2*MinBlockSize, make([]Hash, 1)
		},
		"file block count": func(m *Manifest) { m.Format, m.Files[0].BlockSize = 2, 4096 },
		"duplicate file":   func(m *Manifest) { m.Files = append(m.Files, m.Files[0]) },
		"file and folder":  func(m *Manifest) { m.Files = append(m.Files, File{Path: "chroma.sqlite3/x"}) },
	} {
		m := base()
		mutate(m)
		if err := m.validate("20260301T100000Z-abcdef01", "r"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
