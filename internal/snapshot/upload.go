package snapshot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// uploader is the streaming block pipeline of a snapshot: one reader at a
// time feeds fixed-size blocks from files; workers hash each block, skip it
// when its object already exists (in the bucket, or earlier in this run),
// and otherwise compress, encrypt and store it. There are more workers than
// cores, so that stores overlap (parallelism.requests of them); hashing and
// compressing take one of the cores tokens (see reserveCore) and one of
// parallelism.blocks codecs. With more workers than codecs (a remote
// bucket), a worker copies its object out of the codec and gives the codec
// back before it stores the object. So memory is bounded whatever the data
// size and however many stores wait on the bucket: blocks+2 block buffers,
// blocks codecs, and the objects copied out (at most storeBudget bytes).
type uploader struct {
	bucket    storage.Bucket
	keys      Keys
	blockSize int
	progress  *progressReporter

	ctx    context.Context
	cancel context.CancelCauseFunc

	existing map[Hash]struct{} // object names in the bucket before the run; read-only

	mu       sync.Mutex
	claimed  map[Hash]struct{} // object names a worker took on in this run
	uploaded map[Hash]int64    // object names stored in this run -> stored bytes

	jobs      chan blockJob
	pool      chan []byte
	codecs    blockPool           // parallelism.blocks codecs (the workers' buffers stay unused)
	cores     chan struct{}       // one token per core, held while hashing or compressing
	storing   *semaphore.Weighted // bytes of the objects copied out and being stored
	copyOut   bool                // more workers than codecs: objects leave the codec to be stored
	workers   sync.WaitGroup
	closed    bool
	finishErr error
}

type blockJob struct {
	buf  []byte
	n    int
	out  *Hash
	file *fileRead
}

// fileRead is the outcome of streaming one file into the pipeline. Its
// hashes are complete once wait returns.
type fileRead struct {
	// blockSize is the size the file was cut into.
	blockSize int
	size      int64
	hashes    []*Hash
	pending   sync.WaitGroup
}

func (f *fileRead) wait() { f.pending.Wait() }

// blocks returns the block hashes; call only after wait.
func (f *fileRead) blocks() []Hash {
	out := make([]Hash, len(f.hashes))
	for i, h := range f.hashes {
		out[i] = *h
	}
	return out
}

func defaultConcurrency(n int) int {
	if n > 0 {
		return min(n, 64)
	}
	return max(2*runtime.GOMAXPROCS(0), 4)
}

var errUploaderFinished = errors.New("uploader finished")

// newUploader lists the blocks already stored and starts the workers.
func newUploader(ctx context.Context, bucket storage.Bucket, keys Keys, blockSize int, par parallelism, progress *progressReporter) (*uploader, error) {
	existing, err := listBlockNames(ctx, bucket)
	if err != nil {
		return nil, err
	}
	u := &uploader{
		bucket:    bucket,
		keys:      keys,
		blockSize: blockSize,
		progress:  progress,
		existing:  existing,
		claimed:   make(map[Hash]struct{}),
		uploaded:  make(map[Hash]int64),
		jobs:      make(chan blockJob, par.blocks),
		pool:      make(chan []byte, par.blocks+2),
		cores:     make(chan struct{}, runtime.GOMAXPROCS(0)),
		storing:   semaphore.NewWeighted(storeBudget(blockSize, par.blocks)),
		copyOut:   par.requests > par.blocks,
	}
	u.ctx, u.cancel = context.WithCancelCause(ctx)
	for range cap(u.pool) {
		u.pool <- make([]byte, blockSize)
	}
	for range cap(u.cores) {
		u.cores <- struct{}{}
	}
	if u.codecs, err = newBlockPool(keys, blockSize, par.blocks); err != nil {
		u.cancel(err)
		return nil, fmt.Errorf("start compressor: %w", err)
	}
	for range par.requests {
		u.workers.Add(1)
		go u.work()
	}
	return u, nil
}

// storeBudget bounds the bytes of the objects copied out of their codecs
// and being stored at once: as many as blocks objects of the largest size,
// and at least 8 MiB, so that stores of small objects (the database's)
// fill the requests.
func storeBudget(blockSize, blocks int) int64 {
	return max(int64(blocks)*maxObjectSize(blockSize), 8<<20)
}

// stored reports whether the block of hash h was in the bucket when the run
// started.
func (u *uploader) stored(h Hash) bool {
	_, ok := u.existing[objectName(u.keys.authKey, h)]
	return ok
}

// listBlockNames lists blocks/ once into a set of object names.
func listBlockNames(ctx context.Context, bucket storage.Bucket) (map[Hash]struct{}, error) {
	names := make(map[Hash]struct{})
	for info, err := range bucket.List(ctx, blocksPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list %s in %s: %w", blocksPrefix, bucket, err)
		}
		if n, ok := parseBlockKey(info.Key); ok {
			names[n] = struct{}{}
		}
	}
	return names, nil
}

// readFile streams r into the pipeline in blocks of blockSize (at most the
// uploader's). It returns once every block is queued; call wait on the
// result for the hashes.
func (u *uploader) readFile(r io.Reader, blockSize int) (*fileRead, error) {
	blockSize = min(blockSize, u.blockSize)
	fr := &fileRead{blockSize: blockSize}
	for {
		var buf []byte
		select {
		case buf = <-u.pool:
		case <-u.ctx.Done():
			return nil, context.Cause(u.ctx)
		}
		n, err := io.ReadFull(r, buf[:blockSize])
		if n > 0 {
			h := new(Hash)
			fr.hashes = append(fr.hashes, h)
			fr.size += int64(n)
			fr.pending.Add(1)
			select {
			case u.jobs <- blockJob{buf: buf, n: n, out: h, file: fr}:
			case <-u.ctx.Done():
				fr.pending.Done()
				u.pool <- buf
				return nil, context.Cause(u.ctx)
			}
		} else {
			u.pool <- buf
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fr, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (u *uploader) work() {
	defer u.workers.Done()
	for job := range u.jobs {
		if u.ctx.Err() != nil {
			u.release(job)
			continue
		}
		if err := u.store(job); err != nil {
			u.cancel(err)
		}
	}
}

// release gives a job's block buffer back once its hash is known.
func (u *uploader) release(job blockJob) {
	job.file.pending.Done()
	u.pool <- job.buf
}

// store codes the job's block, releases it, and stores its object when the
// bucket does not have it yet.
func (u *uploader) store(job blockJob) error {
	obj, name, done, err := u.code(job)
	defer done()
	if err != nil || obj == nil {
		return err
	}
	key := blockKey(name)
	if err := u.bucket.Write(u.ctx, key, bytes.NewReader(obj), int64(len(obj))); err != nil {
		if cause := context.Cause(u.ctx); cause != nil {
			return cause
		}
		return fmt.Errorf("store block %s in %s: %w%s", key, u.bucket, err, storageHint(err))
	}
	u.mu.Lock()
	u.uploaded[name] = int64(len(obj))
	u.mu.Unlock()
	return nil
}

// code hashes and encodes the job's block with one of the codecs; obj is
// nil when there is nothing to store. done gives back what obj holds on
// to: the block and its codec, or with copyOut (the codec codes the next
// block while obj waits on a remote bucket) obj's share of the store
// budget.
func (u *uploader) code(job blockJob) (obj []byte, name Hash, done func(), err error) {
	done = func() {}
	w, err := u.codecs.get(u.ctx)
	if err != nil {
		u.release(job)
		return nil, name, done, err
	}
	obj, name, err = u.hashAndEncode(w.codec, job)
	u.progress.add(int64(job.n))
	if err != nil || obj == nil || !u.copyOut {
		return obj, name, func() { u.release(job); u.codecs.put(w) }, err
	}
	u.release(job)
	defer u.codecs.put(w)
	n := int64(len(obj))
	if err := u.storing.Acquire(u.ctx, n); err != nil {
		return nil, name, done, context.Cause(u.ctx)
	}
	return bytes.Clone(obj), name, func() { u.storing.Release(n) }, nil
}

// hashAndEncode hashes the job's block and, unless its object exists or
// another worker took it on, encodes it; obj is nil when there is nothing
// to store. It holds a core token throughout.
func (u *uploader) hashAndEncode(codec *blockCodec, job blockJob) (obj []byte, name Hash, err error) {
	select {
	case <-u.cores:
		defer func() { u.cores <- struct{}{} }()
	case <-u.ctx.Done():
		return nil, name, context.Cause(u.ctx)
	}
	data := job.buf[:job.n]
	*job.out = sha256.Sum256(data)
	name = objectName(u.keys.authKey, *job.out)
	if _, ok := u.existing[name]; ok {
		return nil, name, nil
	}
	u.mu.Lock()
	_, dup := u.claimed[name]
	u.claimed[name] = struct{}{}
	u.mu.Unlock()
	if dup {
		return nil, name, nil
	}
	if obj, err = codec.encode(data); err != nil {
		return nil, name, fmt.Errorf("encode block %s: %w", blockKey(name), err)
	}
	return obj, name, nil
}

// reserveCore takes one core's token from the workers for as long as work
// that Go's scheduler does not count runs: SQLite's check, in C, gives up
// its goroutine's processor, and the workers would otherwise take that
// core too and slow the check, which is the capture's longest step. With
// a single core nothing is reserved. Call the returned release when the
// work ends.
func (u *uploader) reserveCore(ctx context.Context) (release func()) {
	if cap(u.cores) < 2 {
		return func() {}
	}
	select {
	case <-u.cores:
		return func() { u.cores <- struct{}{} }
	case <-ctx.Done():
		return func() {}
	}
}

// finish waits for every queued block and returns the first error. After
// finish, every block a successful run read is stored.
func (u *uploader) finish() error {
	if u.closed {
		return u.finishErr
	}
	u.closed = true
	close(u.jobs)
	u.workers.Wait()
	u.codecs.close()
	u.finishErr = context.Cause(u.ctx)
	u.cancel(errUploaderFinished)
	return u.finishErr
}

// abort stops the workers after a failure elsewhere.
func (u *uploader) abort(err error) {
	u.cancel(err)
	u.finish()
}

// tally counts, over the distinct blocks of a snapshot, those this run
// stored (and their stored bytes) and those that were already present.
func (u *uploader) tally(files []File) (newBlocks, reused int, added int64) {
	seen := make(map[Hash]struct{})
	for _, f := range files {
		for _, h := range f.Blocks {
			name := objectName(u.keys.authKey, h)
			if _, ok := seen[name]; ok {
				continue
			}
			seen[name] = struct{}{}
			if n, ok := u.uploaded[name]; ok {
				newBlocks++
				added += n
			} else {
				reused++
			}
		}
	}
	return newBlocks, reused, added
}
