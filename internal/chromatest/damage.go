package chromatest

import (
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// DamageTable overwrites the root page of a table of the chroma.sqlite3 in
// persistDir with junk, as a disk fault or a stray write would. Chroma
// fails on such a database; PRAGMA quick_check reports it.
func DamageTable(t testing.TB, persistDir, table string) {
	t.Helper()
	path := filepath.Join(persistDir, "chroma.sqlite3")
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var root, pageSize int64
	err = db.QueryRow(`SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&root)
	if err == nil {
		err = db.QueryRow(`PRAGMA page_size`).Scan(&pageSize)
	}
	db.Close()
	if err != nil {
		t.Fatalf("find table %s in %s: %v", table, path, err)
	}
	junk := make([]byte, pageSize)
	for i := range junk {
		junk[i] = byte(i*7 + 3)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(junk, (root-1)*pageSize); err != nil {
		t.Fatal(err)
	}
}

// DamageIndex makes the index embedding_metadata_string_value of the
// chroma.sqlite3 in persistDir disagree with its table, as a stray write into
// an index page would, while every page stays well-formed: PRAGMA
// quick_check passes, integrity_check (which a restore runs) fails.
func DamageIndex(t testing.TB, persistDir string) {
	t.Helper()
	path := filepath.Join(persistDir, "chroma.sqlite3")
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`PRAGMA writable_schema = ON`,
		`UPDATE sqlite_master SET sql = 'CREATE INDEX embedding_metadata_string_value ON embedding_metadata (key, id) WHERE string_value IS NOT NULL' WHERE name = 'embedding_metadata_string_value'`,
		`PRAGMA writable_schema = OFF`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("damage an index of %s: %s: %v", path, q, err)
		}
	}
}
