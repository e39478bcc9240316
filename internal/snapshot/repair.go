package snapshot

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// RepairResult describes a config.json rebuilt by RepairConfig.
type RepairResult struct {
	RepositoryID string
	BlockSize    int
	Encrypted    bool
	// Manifests counts the manifests that were read and agree; Damaged
	// lists the ones that could not be read, with why (they were skipped).
	Manifests int
	Damaged   []string
}

// RepairConfig rebuilds the config.json of a repository that lost it (see
// ErrConfigMissing) from its manifests, so its snapshots list and restore
// again. Every manifest repeats the repository id and block size; they must
// all agree, else nothing is written. An unencrypted repository needs no
// key. An encrypted one needs the reader key, to authenticate and decrypt
// the manifests, and the writer key, whose recipients and auth key the new
// config.json records; both must belong to the repository. RepairConfig
// refuses a bucket that still has its config.json, and writes it with a
// create-if-absent write.
func RepairConfig(ctx context.Context, bucket storage.Bucket, writer, reader Keys) (*RepairResult, error) {
	if err := checkRepairKeys(writer, reader); err != nil {
		return nil, err
	}
	r := &Repository{bucket: bucket, keys: reader}
	if _, err := r.readConfig(ctx); !errors.Is(err, storage.ErrNotExist) {
		if err == nil {
			return nil, fmt.Errorf("%s in %s exists: there is nothing to repair", configKey, bucket)
		}
		return nil, err
	}
	found, res, err := r.readAllManifests(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := newRepoConfig(writer, res.RepositoryID, found.oldest, res.BlockSize)
	if err != nil {
		return nil, err
	}
	if err := r.checkKeys(cfg); err != nil {
		return nil, fmt.Errorf("repair %s: the reader key does not fit the writer key: %w", configKey, err)
	}
	data, err := cfg.marshal()
	if err != nil {
		return nil, err
	}
	if err := bucket.CreateIfAbsent(ctx, configKey, bytes.NewReader(data), int64(len(data))); err != nil {
		return nil, fmt.Errorf("write %s in %s: %w%s", configKey, bucket, err, storageHint(err))
	}
	return res, nil
}

func checkRepairKeys(writer, reader Keys) error {
	switch {
	case !writer.Encrypted() && !reader.Encrypted():
		return nil
	case !writer.CanWrite() || !reader.CanRead():
		return fmt.Errorf("%w: rebuilding an encrypted repository's %s needs both keys: the reader key to read the manifests and the writer key for the recipients", ErrKeyRequired, configKey)
	case !bytes.Equal(writer.authKey, reader.authKey):
		return fmt.Errorf("%w: %s and %s hold different auth keys: they are not one key pair", ErrWrongKey, writer.Source(), reader.Source())
	}
	return nil
}

// repoParams are what every manifest of one repository repeats.
type repoParams struct {
	id        string
	blockSize int
}

// manifestFacts group the readable manifests by the parameters they repeat.
type manifestFacts struct {
	oldest  time.Time
	byGroup map[repoParams][]string // manifest ids, newest first
}

// readAllManifests reads every manifest with r.keys and requires one
// repository id and block size among those that read.
func (r *Repository) readAllManifests(ctx context.Context) (*manifestFacts, *RepairResult, error) {
	objs, err := r.listManifestObjects(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(objs) == 0 {
		return nil, nil, fmt.Errorf("%s holds no manifests under %s: there is nothing to rebuild %s from; check the bucket URL and prefix. If the snapshots are gone for good, only blocks are left: delete %s (or use a new prefix) to start a new repository", r.bucket, snapshotsPrefix, configKey, blocksPrefix)
	}
	res := &RepairResult{Encrypted: r.keys.Encrypted()}
	facts := &manifestFacts{byGroup: make(map[repoParams][]string)}
	var firstErr error
	for _, o := range objs {
		m, err := r.readManifestAs(ctx, o.id, r.keys.Encrypted(), "")
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			res.Damaged = append(res.Damaged, err.Error())
			continue
		}
		p := repoParams{m.RepositoryID, m.BlockSize}
		facts.byGroup[p] = append(facts.byGroup[p], m.ID)
		res.RepositoryID, res.BlockSize = p.id, p.blockSize
		if res.Manifests++; facts.oldest.IsZero() || m.Created.Before(facts.oldest) {
			facts.oldest = m.Created
		}
	}
	if res.Manifests == 0 {
		return nil, nil, fmt.Errorf("none of the %d manifests in %s could be read (with an encrypted repository, pass its writer and reader keys; without encryption, none): %w", len(objs), r.bucket, firstErr)
	}
	if err := facts.disagreement(); err != nil {
		return nil, nil, fmt.Errorf("the manifests in %s disagree, so %s cannot be rebuilt from them: %w", r.bucket, configKey, err)
	}
	return facts, res, nil
}

// disagreement describes manifests from more than one repository, or with
// more than one block size.
func (f *manifestFacts) disagreement() error {
	if len(f.byGroup) <= 1 {
		return nil
	}
	var groups []string
	for p, ids := range f.byGroup {
		groups = append(groups, fmt.Sprintf("repository %s with block size %d (%d manifests, newest %s)", p.id, p.blockSize, len(ids), ids[0]))
	}
	slices.Sort(groups)
	return fmt.Errorf("%s; keep one repository per bucket prefix: move the other manifests away first", strings.Join(groups, "; "))
}
