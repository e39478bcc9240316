// Command chromagen builds a Chroma-shaped persist directory of a requested
// size for snapshot benchmarks, or rewrites a share of an existing one.
//
// Generate (starting from a copy of a real persist directory):
//
//	go run ./scripts/chromagen -dir /tmp/persist -size 2GiB -seed 1
//
// adds -collections collections of dimension -dim to chroma.sqlite3: one
// VECTOR and one METADATA segment each, embeddings_queue rows (float32
// vectors and metadata JSON), embeddings and embedding_metadata rows, and
// max_seq_id rows, until the database holds about -sqlite-share of the
// target size. The rest goes into each new vector segment's hnswlib files
// (header.bin, data_level0.bin, length.bin, link_lists.bin), laid out as
// hnswlib lays them out, with random unit vectors: as incompressible as
// real embeddings.
//
// Mutate:
//
//	go run ./scripts/chromagen -dir /tmp/persist -mutate 1 -seed 1
//
// rewrites about 1% of the directory's 1 MiB-aligned blocks: vectors inside
// data_level0.bin files, and embeddings_queue vectors through SQL UPDATEs so
// chroma.sqlite3 stays a valid database. It prints the number of bytes in
// the 1 MiB blocks that changed. The same seed on identical input gives
// identical output.
package main

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	_ "github.com/mattn/go-sqlite3"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

const (
	blockSize = 1 << 20
	dbName    = "chroma.sqlite3"

	// hnswlib parameters matching Chroma's defaults (max_neighbors 16).
	hnswM      = 16
	hnswM0     = 2 * hnswM
	headerSize = 100

	// elements per generation batch (each with its own seeded stream).
	genBatch = 1024
)

type options struct {
	dir         string
	src         string
	size        int64
	seed        uint64
	mutate      float64
	collections int
	dim         int
	sqliteShare float64
}

func main() {
	var o options
	var size string
	flag.StringVar(&o.dir, "dir", "", "persist directory to create (or, with -mutate, to change)")
	flag.StringVar(&o.src, "src", "testdata/chroma-demo", "real Chroma persist directory to start from")
	flag.StringVar(&size, "size", "512MiB", "target size of the persist directory (e.g. 512MiB, 2GiB)")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of every random choice and value")
	flag.Float64Var(&o.mutate, "mutate", 0, "rewrite about this percentage of the 1 MiB blocks of -dir, print the bytes in changed blocks")
	flag.IntVar(&o.collections, "collections", 2, "collections to add")
	flag.IntVar(&o.dim, "dim", 384, "embedding dimension of the added collections")
	flag.Float64Var(&o.sqliteShare, "sqlite-share", 0.20, "share of the target size held by chroma.sqlite3")
	flag.StringVar(&vectorKind, "vectors", "unit", "vector content: unit (normalized Gaussian floats, like sentence embeddings; zstd saves ~8%) or random (random bits: incompressible)")
	flag.Parse()
	if o.dir == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: chromagen -dir DIR [-size 2GiB] [-seed N] | chromagen -dir DIR -mutate PERCENT [-seed N]")
		os.Exit(2)
	}
	if vectorKind != "unit" && vectorKind != "random" {
		fmt.Fprintln(os.Stderr, "chromagen: -vectors must be unit or random")
		os.Exit(2)
	}
	var err error
	if o.mutate > 0 {
		err = mutate(context.Background(), o)
	} else {
		o.size, err = parseSize(size)
		if err == nil {
			err = generate(context.Background(), o)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chromagen:", err)
		os.Exit(1)
	}
}

func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
		{"B", 1},
	}
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number with an optional unit (KiB, MiB, GiB)", s)
	}
	return int64(v * mult), nil
}

// ---------------------------------------------------------------- generate

type collection struct {
	id, name, vecSeg, metaSeg string
	lastSeq                   int64
}

func generate(ctx context.Context, o options) error {
	if o.collections < 1 || o.dim < 1 || o.sqliteShare <= 0 || o.sqliteShare >= 1 {
		return errors.New("-collections and -dim must be positive, -sqlite-share in (0, 1)")
	}
	if err := requireEmpty(o.dir); err != nil {
		return err
	}
	if err := chromatest.CopyDir(o.src, o.dir); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(o.seed, 0x63686d61))
	dbPath := filepath.Join(o.dir, dbName)
	colls, err := growDatabase(ctx, dbPath, o, rng)
	if err != nil {
		return err
	}
	used, err := treeSize(o.dir)
	if err != nil {
		return err
	}
	rest := o.size - used
	if rest < int64(o.collections)*blockSize {
		rest = int64(o.collections) * blockSize
	}
	for i, c := range colls {
		share := rest / int64(len(colls))
		if i == len(colls)-1 {
			share = rest - share*int64(len(colls)-1)
		}
		if err := writeHNSW(filepath.Join(o.dir, c.vecSeg), o, uint64(i), share); err != nil {
			return err
		}
	}
	total, err := treeSize(o.dir)
	if err != nil {
		return err
	}
	fi, err := os.Stat(dbPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "chromagen: %s: %d bytes (%.1f MiB), chroma.sqlite3 %.1f MiB, %d collections added\n",
		o.dir, total, float64(total)/(1<<20), float64(fi.Size())/(1<<20), len(colls))
	return nil
}

func requireEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

func treeSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

func openRW(path string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("_busy_timeout", "5000")
	q.Set("_synchronous", "OFF")
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: abs}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`PRAGMA cache_size = -65536`); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func uuid(rng *rand.Rand) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rng.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rng.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

var words = strings.Fields("restore embedding alert query latency cluster shard replica backup index policy snapshot bucket vector segment collection tenant metric trace retention")

var langs = []string{"en", "de", "fr", "es", "it", "nl"}

// growDatabase adds the collections and their rows until the database file
// reaches its share of the target size.
func growDatabase(ctx context.Context, dbPath string, o options, rng *rand.Rand) ([]*collection, error) {
	db, err := openRW(dbPath)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return nil, fmt.Errorf("%s: %w", dbPath, err)
	}
	var databaseID, config string
	if err := db.QueryRowContext(ctx, `SELECT database_id, COALESCE(config_json_str, '') FROM collections ORDER BY rowid LIMIT 1`).Scan(&databaseID, &config); err != nil {
		return nil, fmt.Errorf("%s: read a collection: %w", dbPath, err)
	}
	var seq, rowID int64
	if err := db.QueryRowContext(ctx, `SELECT MAX(COALESCE((SELECT MAX(seq_id) FROM embeddings_queue), 0), COALESCE((SELECT MAX(seq_id) FROM max_seq_id), 0))`).Scan(&seq); err != nil {
		return nil, fmt.Errorf("%s: %w", dbPath, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM embeddings`).Scan(&rowID); err != nil {
		return nil, fmt.Errorf("%s: %w", dbPath, err)
	}
	var colls []*collection
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	for i := range o.collections {
		c := &collection{id: uuid(rng), name: fmt.Sprintf("bench-%02d", i), vecSeg: uuid(rng), metaSeg: uuid(rng)}
		colls = append(colls, c)
		if _, err := tx.ExecContext(ctx, `INSERT INTO collections (id, name, dimension, database_id, config_json_str) VALUES (?, ?, ?, ?, ?)`,
			c.id, c.name, o.dim, databaseID, nullIfEmpty(config)); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("add collection: %w", err)
		}
		for _, s := range [][3]string{
			{c.vecSeg, "urn:chroma:segment/vector/hnsw-local-persisted", "VECTOR"},
			{c.metaSeg, "urn:chroma:segment/metadata/sqlite", "METADATA"},
		} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO segments (id, type, scope, collection) VALUES (?, ?, ?, ?)`, s[0], s[1], s[2], c.id); err != nil {
				tx.Rollback()
				return nil, fmt.Errorf("add segment: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}

	target := int64(float64(o.size) * o.sqliteShare)
	vec := make([]float32, o.dim)
	blob := make([]byte, 4*o.dim)
	const batch = 2000
	created := "2026-01-01 00:00:00"
	for b := 0; ; b++ {
		fi, err := os.Stat(dbPath)
		if err != nil {
			return nil, err
		}
		if fi.Size() >= target {
			break
		}
		c := colls[b%len(colls)]
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		qIns, err1 := tx.PrepareContext(ctx, `INSERT INTO embeddings_queue (seq_id, created_at, operation, topic, id, vector, encoding, metadata) VALUES (?, ?, 0, ?, ?, ?, 'FLOAT32', ?)`)
		eIns, err2 := tx.PrepareContext(ctx, `INSERT INTO embeddings (id, segment_id, embedding_id, seq_id, created_at) VALUES (?, ?, ?, ?, ?)`)
		mIns, err3 := tx.PrepareContext(ctx, `INSERT INTO embedding_metadata (id, key, string_value, int_value, float_value, bool_value) VALUES (?, ?, ?, ?, ?, ?)`)
		if err := errors.Join(err1, err2, err3); err != nil {
			tx.Rollback()
			return nil, err
		}
		topic := "persistent://default/default/" + c.id
		for range batch {
			seq++
			rowID++
			n := rowID
			eid := fmt.Sprintf("%s-%08d", c.name, n)
			fillVector(rng, vec, blob)
			doc := document(rng, n)
			lang := langs[rng.IntN(len(langs))]
			year := 2010 + rng.IntN(16)
			published := rng.IntN(2) == 1
			score := math.Round(rng.Float64()*1000) / 10
			meta := fmt.Sprintf(`{"chroma:document":%q,"lang":%q,"year":%d,"published":%t,"score":%g}`, doc, lang, year, published, score)
			if _, err := qIns.ExecContext(ctx, seq, created, topic, eid, blob, meta); err != nil {
				tx.Rollback()
				return nil, fmt.Errorf("insert log row: %w", err)
			}
			if _, err := eIns.ExecContext(ctx, n, c.metaSeg, eid, seq, created); err != nil {
				tx.Rollback()
				return nil, fmt.Errorf("insert record: %w", err)
			}
			pub := 0
			if published {
				pub = 1
			}
			for _, m := range []struct {
				key string
				s   any
				i   any
				f   any
				b   any
			}{
				{"chroma:document", doc, nil, nil, nil},
				{"lang", lang, nil, nil, nil},
				{"year", nil, year, nil, nil},
				{"published", nil, nil, nil, pub},
				{"score", nil, nil, score, nil},
			} {
				if _, err := mIns.ExecContext(ctx, n, m.key, m.s, m.i, m.f, m.b); err != nil {
					tx.Rollback()
					return nil, fmt.Errorf("insert metadata: %w", err)
				}
			}
			c.lastSeq = seq
		}
		qIns.Close()
		eIns.Close()
		mIns.Close()
		if err := tx.Commit(); err != nil {
			return nil, err
		}
	}
	// Both segments have applied everything logged for their collection.
	for _, c := range colls {
		for _, s := range []string{c.vecSeg, c.metaSeg} {
			if _, err := db.ExecContext(ctx, `INSERT OR REPLACE INTO max_seq_id (segment_id, seq_id) VALUES (?, ?)`, s, c.lastSeq); err != nil {
				return nil, fmt.Errorf("set max_seq_id: %w", err)
			}
		}
	}
	return colls, db.Close()
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func document(rng *rand.Rand, n int64) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Record %d:", n)
	for range 8 + rng.IntN(8) {
		sb.WriteByte(' ')
		sb.WriteString(words[rng.IntN(len(words))])
	}
	sb.WriteByte('.')
	return sb.String()
}

// vectorKind selects what fillVector writes (-vectors).
var vectorKind = "unit"

// fillVector writes one random vector into dst (4 bytes per dimension),
// using vec (len(dst)/4 floats) as scratch.
func fillVector(rng *rand.Rand, vec []float32, dst []byte) {
	if vectorKind == "random" {
		for i := 0; i+8 <= len(dst); i += 8 {
			binary.LittleEndian.PutUint64(dst[i:], rng.Uint64())
		}
		if r := len(dst) % 8; r != 0 {
			var tail [8]byte
			binary.LittleEndian.PutUint64(tail[:], rng.Uint64())
			copy(dst[len(dst)-r:], tail[:r])
		}
		return
	}
	randomUnit(rng, vec)
	putFloats(dst, vec)
}

// randomUnit fills v with a random unit vector (normalized Gaussian), as
// sentence embeddings are.
func randomUnit(rng *rand.Rand, v []float32) {
	var sum float64
	for i := range v {
		x := rng.NormFloat64()
		v[i] = float32(x)
		sum += x * x
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
}

func putFloats(dst []byte, v []float32) {
	for i, f := range v {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(f))
	}
}

// hnswLayout is the per-element layout of data_level0.bin.
type hnswLayout struct {
	elemSize, offsetData, labelOffset int64
	dim                               int
}

func layoutFor(dim int) hnswLayout {
	offsetData := int64(4 + 4*hnswM0)
	return hnswLayout{
		dim:         dim,
		offsetData:  offsetData,
		labelOffset: offsetData + int64(4*dim),
		elemSize:    offsetData + int64(4*dim) + 8,
	}
}

// writeHNSW writes an hnswlib index of about size bytes into dir.
func writeHNSW(dir string, o options, coll uint64, size int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lay := layoutFor(o.dim)
	// Per element: level-0 data, a length.bin entry, and on average
	// 1/(M-1) upper-level link lists of 4+4M bytes each.
	perElem := float64(lay.elemSize) + 4 + float64(4+4*hnswM)/float64(hnswM-1)
	n := int64(float64(size-headerSize) / perElem)
	if n < 1 {
		n = 1
	}
	mult := 1 / math.Log(hnswM)

	// Upper levels first: they decide the entry point and max level.
	rng := rand.New(rand.NewPCG(o.seed^0x6c696e6b73, coll))
	levels := make([]uint8, n)
	maxLevel, enter := 0, int64(0)
	for i := range levels {
		l := int(-math.Log(1-rng.Float64()) * mult)
		l = min(l, 15)
		levels[i] = uint8(l)
		if l > maxLevel {
			maxLevel, enter = l, int64(i)
		}
	}
	var hdr [headerSize]byte
	le := binary.LittleEndian
	le.PutUint32(hdr[0:], 1) // persistence version
	le.PutUint64(hdr[4:], 0) // offsetLevel0
	le.PutUint64(hdr[12:], uint64(n))
	le.PutUint64(hdr[20:], uint64(n))
	le.PutUint64(hdr[28:], uint64(lay.elemSize))
	le.PutUint64(hdr[36:], uint64(lay.labelOffset))
	le.PutUint64(hdr[44:], uint64(lay.offsetData))
	le.PutUint32(hdr[52:], uint32(maxLevel))
	le.PutUint32(hdr[56:], uint32(enter))
	le.PutUint64(hdr[60:], hnswM)
	le.PutUint64(hdr[68:], hnswM0)
	le.PutUint64(hdr[76:], hnswM)
	le.PutUint64(hdr[84:], math.Float64bits(mult))
	le.PutUint64(hdr[92:], 100)
	if err := os.WriteFile(filepath.Join(dir, "header.bin"), hdr[:], 0o644); err != nil {
		return err
	}
	if err := writeLinks(dir, rng, levels); err != nil {
		return err
	}
	return writeLevel0(filepath.Join(dir, "data_level0.bin"), o.seed, coll, n, lay)
}

func writeLinks(dir string, rng *rand.Rand, levels []uint8) error {
	n := int64(len(levels))
	lengths := make([]byte, 4*n)
	lf, err := os.Create(filepath.Join(dir, "link_lists.bin"))
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<20)
	per := 4 + 4*hnswM
	for i, l := range levels {
		binary.LittleEndian.PutUint32(lengths[4*i:], uint32(int(l)*per))
		for range int(l) {
			buf = binary.LittleEndian.AppendUint32(buf, hnswM)
			for range hnswM {
				buf = binary.LittleEndian.AppendUint32(buf, uint32(rng.Int64N(n)))
			}
		}
		if len(buf) > cap(buf)-per*16 {
			if _, err := lf.Write(buf); err != nil {
				lf.Close()
				return err
			}
			buf = buf[:0]
		}
	}
	if _, err := lf.Write(buf); err != nil {
		lf.Close()
		return err
	}
	if err := lf.Close(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "length.bin"), lengths, 0o644)
}

// writeLevel0 writes n elements in batches; each batch has its own random
// stream so batches are written in parallel and the output is still fixed
// by the seed.
func writeLevel0(path string, seed, coll uint64, n int64, lay hnswLayout) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	batches := (n + genBatch - 1) / genBatch
	next := make(chan int64)
	errs := make(chan error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, genBatch*lay.elemSize)
			vec := make([]float32, lay.dim)
			for b := range next {
				rng := rand.New(rand.NewPCG(seed^0x6c6576656c30, coll<<40|uint64(b)))
				first := b * genBatch
				count := min(int64(genBatch), n-first)
				out := buf[:count*lay.elemSize]
				for e := range count {
					el := out[e*lay.elemSize : (e+1)*lay.elemSize]
					binary.LittleEndian.PutUint32(el, hnswM0)
					for j := range hnswM0 {
						binary.LittleEndian.PutUint32(el[4+4*j:], uint32(rng.Int64N(n)))
					}
					fillVector(rng, vec, el[lay.offsetData:lay.labelOffset])
					binary.LittleEndian.PutUint64(el[lay.labelOffset:], uint64(first+e))
				}
				if _, err := f.WriteAt(out, first*lay.elemSize); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var werr error
feed:
	for b := range batches {
		select {
		case next <- b:
		case werr = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	for e := range errs {
		werr = errors.Join(werr, e)
	}
	return errors.Join(werr, f.Close())
}

// ------------------------------------------------------------------ mutate

type blockMap struct {
	seed   maphash.Seed
	hashes map[string][]uint64 // relative path -> hash per 1 MiB block
	sizes  map[string]int64
}

func hashFile(seed maphash.Seed, path string) ([]uint64, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	buf := make([]byte, blockSize)
	var out []uint64
	var size int64
	for {
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			out = append(out, maphash.Bytes(seed, buf[:n]))
			size += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return out, size, nil
		}
		if err != nil {
			return nil, 0, err
		}
	}
}

func hashTree(seed maphash.Seed, dir string) (*blockMap, error) {
	bm := &blockMap{seed: seed, hashes: map[string][]uint64{}, sizes: map[string]int64{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		h, n, err := hashFile(seed, p)
		if err != nil {
			return err
		}
		bm.hashes[rel], bm.sizes[rel] = h, n
		return nil
	})
	return bm, err
}

// changed returns the number of blocks and the bytes in blocks of after
// that differ from before.
func changed(before, after *blockMap) (blocks int, bytes int64) {
	for rel, hs := range after.hashes {
		old := before.hashes[rel]
		for i, h := range hs {
			if i < len(old) && old[i] == h {
				continue
			}
			blocks++
			bytes += min(int64(blockSize), after.sizes[rel]-int64(i)*blockSize)
		}
	}
	return blocks, bytes
}

func (b *blockMap) count(match func(rel string) bool) int {
	n := 0
	for rel, hs := range b.hashes {
		if match(rel) {
			n += len(hs)
		}
	}
	return n
}

type level0File struct {
	rel    string
	size   int64
	lay    hnswLayout
	blocks int
}

func mutate(ctx context.Context, o options) error {
	if o.mutate > 100 {
		return errors.New("-mutate takes a percentage in (0, 100]")
	}
	seed := maphash.MakeSeed()
	before, err := hashTree(seed, o.dir)
	if err != nil {
		return err
	}
	level0, err := findLevel0(o.dir, before)
	if err != nil {
		return err
	}
	total := before.count(func(string) bool { return true })
	dbBlocks := len(before.hashes[dbName])
	hnswBlocks := 0
	for _, f := range level0 {
		hnswBlocks += f.blocks
	}
	want := max(1, int(math.Round(float64(total)*o.mutate/100)))
	wantDB := int(math.Round(float64(want) * float64(dbBlocks) / float64(dbBlocks+hnswBlocks)))
	wantHNSW := min(want-wantDB, hnswBlocks)
	rng := rand.New(rand.NewPCG(o.seed, 0x6d757461))

	if err := mutateLevel0(o.dir, rng, level0, wantHNSW); err != nil {
		return err
	}
	gotDB, err := mutateDatabase(ctx, o.dir, rng, seed, before.hashes[dbName], wantDB)
	if err != nil {
		return err
	}
	after, err := hashTree(seed, o.dir)
	if err != nil {
		return err
	}
	blocks, bytes := changed(before, after)
	fmt.Fprintf(os.Stderr, "chromagen: changed %d of %d blocks (%.2f%%): %d in %s, %d in data_level0.bin files; %d bytes\n",
		blocks, total, 100*float64(blocks)/float64(total), gotDB, dbName, wantHNSW, bytes)
	fmt.Println(bytes)
	return nil
}

// findLevel0 lists the data_level0.bin files whose header.bin describes
// their element layout.
func findLevel0(dir string, bm *blockMap) ([]level0File, error) {
	var out []level0File
	for rel, size := range bm.sizes {
		if filepath.Base(rel) != "data_level0.bin" || size == 0 {
			continue
		}
		hdr, err := os.ReadFile(filepath.Join(dir, filepath.Dir(rel), "header.bin"))
		if err != nil || len(hdr) < headerSize {
			continue
		}
		le := binary.LittleEndian
		elemSize := int64(le.Uint64(hdr[28:]))
		labelOffset := int64(le.Uint64(hdr[36:]))
		offsetData := int64(le.Uint64(hdr[44:]))
		if elemSize <= 0 || offsetData <= 0 || labelOffset <= offsetData || labelOffset > elemSize {
			continue
		}
		lay := hnswLayout{elemSize: elemSize, offsetData: offsetData, labelOffset: labelOffset, dim: int((labelOffset - offsetData) / 4)}
		out = append(out, level0File{rel: rel, size: size, lay: lay, blocks: len(bm.hashes[rel])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}

// mutateLevel0 rewrites one element's vector in each of want distinct
// blocks of the data_level0.bin files, as an update of that record does.
func mutateLevel0(dir string, rng *rand.Rand, files []level0File, want int) error {
	var total int
	for _, f := range files {
		total += f.blocks
	}
	if want <= 0 || total == 0 {
		return nil
	}
	picked := map[int]bool{}
	var order []int
	for len(order) < want {
		b := rng.IntN(total)
		if !picked[b] {
			picked[b] = true
			order = append(order, b)
		}
	}
	sort.Ints(order)
	handles := map[string]*os.File{}
	defer func() {
		for _, h := range handles {
			h.Close()
		}
	}()
	for _, g := range order {
		fi := 0
		for g >= files[fi].blocks {
			g -= files[fi].blocks
			fi++
		}
		f := files[fi]
		h := handles[f.rel]
		if h == nil {
			var err error
			h, err = os.OpenFile(filepath.Join(dir, f.rel), os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			handles[f.rel] = h
		}
		start := int64(g) * blockSize
		end := min(start+blockSize, f.size)
		// An element whose vector lies inside the block, else any bytes.
		firstElem := (start - f.lay.offsetData + f.lay.elemSize - 1) / f.lay.elemSize
		lastElem := int64(-1)
		if end >= f.lay.labelOffset {
			lastElem = (end - f.lay.labelOffset) / f.lay.elemSize
		}
		if firstElem <= lastElem && firstElem >= 0 {
			e := firstElem + rng.Int64N(lastElem-firstElem+1)
			buf := make([]byte, 4*f.lay.dim)
			fillVector(rng, make([]float32, f.lay.dim), buf)
			if _, err := h.WriteAt(buf, e*f.lay.elemSize+f.lay.offsetData); err != nil {
				return err
			}
		} else {
			buf := make([]byte, min(4096, end-start))
			for i := range buf {
				buf[i] = byte(rng.Uint32())
			}
			if _, err := h.WriteAt(buf, start+rng.Int64N(end-start-int64(len(buf))+1)); err != nil {
				return err
			}
		}
	}
	for rel, h := range handles {
		delete(handles, rel)
		if err := h.Close(); err != nil {
			return err
		}
	}
	return nil
}

// mutateDatabase updates vectors of embeddings_queue rows until about want
// blocks of chroma.sqlite3 changed; it returns the number that did.
func mutateDatabase(ctx context.Context, dir string, rng *rand.Rand, seed maphash.Seed, before []uint64, want int) (int, error) {
	if want <= 0 {
		return 0, nil
	}
	path := filepath.Join(dir, dbName)
	db, err := openRW(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT seq_id, length(vector) FROM embeddings_queue WHERE length(vector) > 0 ORDER BY seq_id`)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	type row struct{ seq, n int64 }
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.seq, &r.n); err != nil {
			rows.Close()
			return 0, err
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(all) == 0 {
		return 0, fmt.Errorf("%s: no embeddings_queue rows with vectors", path)
	}
	used := map[int]bool{}
	got := 0
	for round := 0; round < 20 && got < want && len(used) < len(all); round++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		for k := 0; k < want-got && len(used) < len(all); {
			i := rng.IntN(len(all))
			if used[i] {
				continue
			}
			used[i] = true
			k++
			blob := make([]byte, all[i].n)
			fillVector(rng, make([]float32, all[i].n/4), blob)
			if _, err := tx.ExecContext(ctx, `UPDATE embeddings_queue SET vector = ? WHERE seq_id = ?`, blob, all[i].seq); err != nil {
				tx.Rollback()
				return 0, fmt.Errorf("update log row: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
		now, _, err := hashFile(seed, path)
		if err != nil {
			return 0, err
		}
		got = 0
		for i, h := range now {
			if i >= len(before) || before[i] != h {
				got++
			}
		}
	}
	return got, db.Close()
}
