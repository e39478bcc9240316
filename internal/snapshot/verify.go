package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// maxProblems bounds how many problems a verify reports.
const maxProblems = 20

// VerifyOptions configure a verify.
type VerifyOptions struct {
	// ReadData downloads, decrypts, decompresses and hashes every block;
	// without it, verify checks that every block object exists.
	ReadData bool
	// Concurrency is the number of blocks held and checked at once with
	// ReadData (see RestoreOptions.Concurrency).
	Concurrency int
	Progress    Progress
}

// VerifyResult describes a verify. Problems lists what is wrong (at most
// 20), each naming the object and a file that needs it.
type VerifyResult struct {
	ID    string
	Files int
	// Blocks counts the snapshot's distinct blocks; Bytes its logical size.
	Blocks   int
	Bytes    int64
	ReadData bool
	Problems []string
	// Skipped says why each snapshot newer than "latest" was passed over
	// (its manifest is damaged).
	Skipped []string
}

// Verify checks snapshot id ("latest" for the newest): that its manifest
// authenticates and parses, and that every block it lists exists (or, with
// ReadData, decodes to the hash the manifest lists). It returns an error
// (wrapping ErrCorrupt or ErrMissing) when anything is wrong, together with
// a result listing the problems.
func (r *Repository) Verify(ctx context.Context, id string, opts VerifyOptions) (*VerifyResult, error) {
	cfg, err := r.requireReader("verify")
	if err != nil {
		return nil, err
	}
	m, skipped, err := r.loadManifest(ctx, cfg, "verify", id)
	if err != nil {
		return nil, err
	}
	id = m.ID
	res := &VerifyResult{ID: id, Files: len(m.Files), ReadData: opts.ReadData}
	for _, s := range skipped {
		res.Skipped = append(res.Skipped, s.Error())
	}
	uses := make(map[Hash][]blockUse)
	var order []Hash
	for i, f := range m.Files {
		res.Bytes += f.Size
		for j, h := range f.Blocks {
			if _, ok := uses[h]; !ok {
				order = append(order, h)
			}
			uses[h] = append(uses[h], blockUse{file: i, index: j, n: blockLen(f.Size, m.fileBlockSize(f), j)})
		}
	}
	res.Blocks = len(order)
	progress := newProgress(opts.Progress)
	progress.phase(PhaseVerify)

	var mu sync.Mutex
	var firstErr error
	report := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
		if len(res.Problems) < maxProblems {
			res.Problems = append(res.Problems, err.Error())
		}
	}
	if opts.ReadData {
		progress.addTotal(res.Bytes)
		r.verifyData(ctx, m, order, uses, r.parallelismFor(opts.Concurrency), progress, report)
	} else {
		progress.addTotal(int64(len(order)))
		existing, err := listBlockNames(ctx, r.bucket)
		if err != nil {
			return nil, fmt.Errorf("verify %s: %w", id, err)
		}
		for _, h := range order {
			if _, ok := existing[objectName(r.keys.authKey, h)]; !ok {
				u := uses[h][0]
				report(fmt.Errorf("%w: block %d of %s: object %s does not exist", ErrMissing, u.index, m.Files[u.file].Path, blockKey(objectName(r.keys.authKey, h))))
			}
			progress.add(1)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("verify %s: %w", id, err)
	}
	if firstErr == nil && m.SourceDamaged() {
		report(fmt.Errorf("every block is intact, but %w; a restore refuses it unless told not to check (--no-check)", m.sourceDamagedErr()))
		return res, fmt.Errorf("snapshot %s in %s: %w", id, r.bucket, firstErr)
	}
	if errors.Is(firstErr, ErrMissing) && r.removedMeanwhile(ctx, id) {
		return res, fmt.Errorf("snapshot %s in %s %s: %w; verify another one (snapshot list)", id, r.bucket, removedMeanwhileReason, firstErr)
	}
	if firstErr != nil {
		more := ""
		if len(res.Problems) > 1 {
			more = fmt.Sprintf(" (and more: %s)", strings.Join(res.Problems[1:], "; "))
		}
		return res, fmt.Errorf("snapshot %s in %s is damaged: %w%s; it would not restore: take a new snapshot, and restore from another one if needed", id, r.bucket, firstErr, more)
	}
	return res, nil
}

func (r *Repository) verifyData(ctx context.Context, m *Manifest, order []Hash, uses map[Hash][]blockUse, par parallelism, progress *progressReporter, report func(error)) {
	r.forEachBlock(ctx, m.BlockSize, order, par, func(pool blockPool, h Hash) {
		u := uses[h][0]
		key := blockKey(objectName(r.keys.authKey, h))
		where := fmt.Sprintf("block %d of %s (object %s)", u.index, m.Files[u.file].Path, key)
		w, err := r.fetchBlock(ctx, pool, key, m.BlockSize)
		if err == nil {
			_, err = w.codec.decode(w.buf.Bytes(), h, u.n)
			pool.put(w)
		}
		if err != nil && ctx.Err() == nil {
			report(fmt.Errorf("%s: %w", where, err))
		}
		progress.add(int64(u.n) * int64(len(uses[h])))
	}, report)
}
