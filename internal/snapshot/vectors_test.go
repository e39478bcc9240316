package snapshot

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/file"
)

// The test vectors of FORMAT.md: a small encrypted repository and the values
// its derivations give, written down where a person restoring by hand reads
// them.
const (
	formatDoc     = "../../FORMAT.md"
	vectorBucket  = "testdata/format-vectors"
	vectorID      = "20260301T100000Z-3fa9c2d1"
	vectorFile    = "vector.txt"
	vectorLine    = "otelcol-chroma format vector 1.\n"
	writeVectors  = "OTELCOL_CHROMA_WRITE_FORMAT_VECTORS"
	vectorsHeader = "## Test vectors"
)

// formatSection returns the text of FORMAT.md from the line header to the
// next section.
func formatSection(t *testing.T, header string) string {
	t.Helper()
	doc, err := os.ReadFile(formatDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "\n"+header+"\n")
	if !ok {
		t.Fatalf("%s has no section %q", formatDoc, header)
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// fencedBlocks returns the contents of the ``` blocks in text whose fence
// line is "```"+lang.
func fencedBlocks(text, lang string) []string {
	var out []string
	for {
		_, rest, ok := strings.Cut(text, "\n```"+lang+"\n")
		if !ok {
			return out
		}
		body, after, _ := strings.Cut(rest, "\n```")
		out = append(out, body+"\n")
		text = after
	}
}

// formatVectors parses the "name: value" lines of FORMAT.md's test vectors.
func formatVectors(t *testing.T) map[string]string {
	t.Helper()
	blocks := fencedBlocks(formatSection(t, vectorsHeader), "")
	if len(blocks) != 1 {
		t.Fatalf("FORMAT.md's test vectors: %d fenced blocks, want 1", len(blocks))
	}
	v := make(map[string]string)
	sc := bufio.NewScanner(strings.NewReader(blocks[0]))
	for sc.Scan() {
		if name, value, ok := strings.Cut(sc.Text(), ":"); ok {
			v[name] = strings.TrimSpace(value)
		}
	}
	return v
}

// vectorKeys builds the writer and reader key files from the vectors.
func vectorKeys(t *testing.T, v map[string]string) (writer, reader Keys, readerFile string) {
	t.Helper()
	auth := "auth-key: " + v["auth-key"] + "\n"
	readerFile = v["identity"] + "\n" + auth
	w, err := ParseWriterKey([]byte(v["recipient"]+"\n"+auth), "vector writer key")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseReaderKey([]byte(readerFile), "vector reader key")
	if err != nil {
		t.Fatal(err)
	}
	return w, r, readerFile
}

func vectorPlaintext() []byte { return bytes.Repeat([]byte(vectorLine), 64) }

// TestFormatVectors checks that the code derives FORMAT.md's test vectors
// from their inputs, and restores the stored repository they describe.
func TestFormatVectors(t *testing.T) {
	v := formatVectors(t)
	writer, reader, _ := vectorKeys(t, v)
	p := vectorPlaintext()
	if len(p) != 2048 || !strings.Contains(v["block plaintext"], strings.TrimSpace(vectorLine)) {
		t.Fatalf("the block plaintext is not the one FORMAT.md describes: %q", v["block plaintext"])
	}
	h := Hash(sha256.Sum256(p))
	expect(t, "block hash", h.String(), v["block hash"])
	name := objectName(reader.authKey, h)
	expect(t, "block object name", name.String(), v["block object name"])
	if _, err := os.Stat(filepath.Join(vectorBucket, filepath.FromSlash(blockKey(name)))); err != nil {
		t.Fatalf("the stored block is not where its name says: %v", err)
	}

	b, err := file.New(vectorBucket)
	if err != nil {
		t.Fatal(err)
	}
	repo := mustOpen(t, b, reader)
	cfg := repo.config()
	expect(t, "repository id", cfg.RepositoryID, v["repository id"])
	expect(t, "block size", strings.TrimSpace(strings.Fields(v["block size"])[0]), "65536")
	expect(t, "key check (config.json)", cfg.KeyCheck, v["key check"])
	expect(t, "key check (derived)", hex.EncodeToString(mac(reader.authKey, macConfig, cfg.canonical())), v["key check"])
	expect(t, "recipients check (config.json)", cfg.RecipientsCheck, v["recipients check"])
	expect(t, "recipients check (derived)", recipientsCheck(writer), v["recipients check"])

	obj, err := os.ReadFile(filepath.Join(vectorBucket, filepath.FromSlash(manifestKey(vectorID))))
	if err != nil {
		t.Fatal(err)
	}
	hdr := len(manifestMagic) + sha256.Size
	expect(t, "manifest tag (stored)", hex.EncodeToString(obj[len(manifestMagic):hdr]), v["manifest tag"])
	expect(t, "manifest tag (derived)", hex.EncodeToString(mac(reader.authKey, macManifest, obj[hdr:])), v["manifest tag"])

	ctx := testContext(t)
	if _, err := repo.Verify(ctx, vectorID, VerifyOptions{ReadData: true}); err != nil {
		t.Fatalf("verify the vector snapshot: %v", err)
	}
	m, err := repo.Manifest(ctx, vectorID)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 1 || m.Files[0].Path != vectorFile || len(m.Files[0].Blocks) != 1 || m.Files[0].Blocks[0] != h {
		t.Fatalf("the vector manifest lists %+v, want %s with the one block %s", m.Files, vectorFile, h)
	}
}

func expect(t *testing.T, what, got, want string) {
	t.Helper()
	if want == "" || got != want {
		t.Errorf("%s: the code gives %q, FORMAT.md says %q", what, got, want)
	}
}

// TestFormatRestoreByHand runs FORMAT.md's encrypted "restore by hand"
// script, as written, on the vector repository with the real age, zstd,
// openssl, xxd, jq and sha256sum.
func TestFormatRestoreByHand(t *testing.T) {
	for _, tool := range []string{"age", "zstd", "openssl", "xxd", "jq", "sha256sum", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("REQUIRE_REAL_COMPONENTS") != "" {
				t.Fatalf("%s is not installed (make tools installs it): %v", tool, err)
			}
			t.Skipf("%s is not installed (make tools installs it)", tool)
		}
	}
	var script string
	for _, s := range fencedBlocks(formatSection(t, "## Restoring by hand"), "sh") {
		if strings.Contains(s, "age -d") && strings.Contains(s, "hexkey:") && strings.Contains(s, "set -e") {
			script = s
		}
	}
	if script == "" {
		t.Fatal(`FORMAT.md's "Restoring by hand" has no complete script for an encrypted repository`)
	}
	_, _, readerFile := vectorKeys(t, formatVectors(t))
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(vectorBucket)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "reader.key"), []byte(readerFile), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the script failed: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "restored", vectorFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, vectorPlaintext()) {
		t.Fatalf("restored by hand: %d bytes that differ from the vector block", len(got))
	}

	// A manifest altered by someone without the auth key is refused.
	mp := filepath.Join(dir, filepath.FromSlash(manifestKey(vectorID)))
	obj, err := os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	obj[len(obj)-1] ^= 1
	if err := os.WriteFile(mp, obj, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command("bash", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "fails its authentication") {
		t.Fatalf("the script accepted an altered manifest: %v\n%s", err, out)
	}
}

// TestWriteFormatVectors writes the vector repository (run once, with
// OTELCOL_CHROMA_WRITE_FORMAT_VECTORS=1) and prints the values for FORMAT.md.
func TestWriteFormatVectors(t *testing.T) {
	if os.Getenv(writeVectors) == "" {
		t.Skip("set " + writeVectors + "=1 to write " + vectorBucket + " anew")
	}
	v := formatVectors(t)
	writer, _, _ := vectorKeys(t, v)
	if err := os.RemoveAll(vectorBucket); err != nil {
		t.Fatal(err)
	}
	b, err := file.New(vectorBucket)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	repo := mustOpen(t, b, writer)
	cfg, err := repo.ensureConfig(ctx, MinBlockSize)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := newBlockCodec(writer, cfg.BlockSize)
	if err != nil {
		t.Fatal(err)
	}
	defer codec.close()
	p := vectorPlaintext()
	h := Hash(sha256.Sum256(p))
	obj, err := codec.encode(p)
	if err != nil {
		t.Fatal(err)
	}
	writeObject(t, b, blockKey(objectName(writer.authKey, h)), obj)
	created := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	m := &Manifest{Format: FormatVersion, ID: vectorID, RepositoryID: cfg.RepositoryID, Created: created,
		ToolVersion: "test-vectors", PersistDir: "vectors", BlockSize: cfg.BlockSize,
		Files: []File{{Path: vectorFile, Size: int64(len(p)), Mode: 0o644, ModTime: created, Blocks: []Hash{h}}}}
	sealed, err := sealManifest(m, writer)
	if err != nil {
		t.Fatal(err)
	}
	writeObject(t, b, manifestKey(vectorID), sealed)
	hdr := len(manifestMagic) + sha256.Size
	t.Logf("\nblock hash:        %s\nblock object name: %s\nrepository id:     %s\nkey check:         %s\nrecipients check:  %s\nmanifest tag:      %s",
		h, objectName(writer.authKey, h), cfg.RepositoryID, cfg.KeyCheck, cfg.RecipientsCheck, hex.EncodeToString(sealed[len(manifestMagic):hdr]))
}

// TestFormatRestoreByHandFormat2 runs both of FORMAT.md's "restore by hand"
// scripts, as written but for the snapshot id, on snapshots of manifest
// format 2: chroma.sqlite3 in its own block size and HNSW vectors in
// byte-plane blocks.
func TestFormatRestoreByHandFormat2(t *testing.T) {
	for _, tool := range []string{"age", "zstd", "openssl", "xxd", "jq", "sha256sum", "bash", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("REQUIRE_REAL_COMPONENTS") != "" {
				t.Fatalf("%s is not installed (make tools installs it): %v", tool, err)
			}
			t.Skipf("%s is not installed (make tools installs it)", tool)
		}
	}
	fx := newFixture(t, fixtureOpts{collections: 1, records: 3000, hnswBytes: 1<<20 + 4096 + 2})
	data := filepath.Join(fx.dir, fx.colls[0].vecSeg, "data_level0.bin")
	fx.overwrite(t, data, 0, floatVectors(newRand(), 1<<20+4096+2))
	writer, reader, readerFile := vectorKeys(t, formatVectors(t))
	scripts := fencedBlocks(formatSection(t, "## Restoring by hand"), "sh")
	for _, enc := range []bool{false, true} {
		var script string
		for _, s := range scripts {
			if strings.Contains(s, "age -d") == enc && strings.Contains(s, "planes ") {
				script = s
			}
		}
		if script == "" {
			t.Fatalf("FORMAT.md's \"Restoring by hand\" has no script for encrypted=%v that decodes byte planes", enc)
		}
		b := newBucket(t)
		dir := b.Root()
		keys, readKeys := Keys{}, Keys{}
		if enc {
			keys, readKeys = writer, reader
		}
		m, err := mustOpen(t, b, keys).Snapshot(testContext(t), SnapshotOptions{PersistDir: fx.dir, ScratchDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if m.Format != 2 || m.Files[0].BlockSize != DatabaseBlockSize || !usesCodec(t, b, readKeys, m, codecPlanes) {
			t.Fatalf("the snapshot does not use format 2's features (format %d, database block size %d)", m.Format, m.Files[0].BlockSize)
		}
		if err := os.WriteFile(filepath.Join(dir, "reader.key"), []byte(readerFile), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "-c", strings.Replace(script, vectorID, m.ID, 1))
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("encrypted=%v: the script failed: %v\n%s", enc, err, out)
		}
		for _, f := range m.Files {
			want, _ := os.ReadFile(filepath.Join(fx.dir, f.Path))
			got, err := os.ReadFile(filepath.Join(dir, "restored", f.Path))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("encrypted=%v: %s restored by hand differs (%v)", enc, f.Path, err)
			}
		}
	}
}

// usesCodec reports whether any block of m is stored with codec.
func usesCodec(t *testing.T, b *file.Bucket, reader Keys, m *Manifest, codec byte) bool {
	t.Helper()
	for _, f := range m.Files {
		for _, h := range f.Blocks {
			obj := readObject(t, b, blockKey(objectName(reader.authKey, h)))
			if reader.Encrypted() {
				var err error
				if obj, err = ageOpen(obj, reader, len(obj)); err != nil {
					t.Fatal(err)
				}
			}
			if len(obj) > 0 && obj[0] == codec {
				return true
			}
		}
	}
	return false
}
