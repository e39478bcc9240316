package snapshot

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
)

const authKeyPrefix = "auth-key:"

// Keys are what a process holds to use an encrypted repository. The zero
// Keys means "no encryption": it opens unencrypted repositories only.
//
// A writer key (LoadWriterKey) holds the age recipients and the auth key: it
// can take snapshots but decrypt nothing. A reader key (LoadReaderKey) holds
// the age identity and the auth key: it can list, verify and restore.
type Keys struct {
	recipients   []age.Recipient
	recipientIDs []string
	identities   []age.Identity
	authKey      []byte
	source       string
}

// Encrypted reports whether k holds key material (so it opens only
// encrypted repositories).
func (k Keys) Encrypted() bool { return len(k.authKey) > 0 }

// CanWrite reports whether k can take snapshots of an encrypted repository.
func (k Keys) CanWrite() bool { return k.Encrypted() && len(k.recipients) > 0 }

// CanRead reports whether k can decrypt manifests and blocks.
func (k Keys) CanRead() bool { return k.Encrypted() && len(k.identities) > 0 }

// Source names where the key came from (a file path), for error messages.
func (k Keys) Source() string {
	if k.source == "" {
		return "the given key"
	}
	return k.source
}

// GenerateKeys creates a new key pair for an encrypted repository and
// returns the contents of the writer key file (age recipient + auth key: put
// it where snapshots are taken) and the reader key file (age identity + auth
// key: keep it offline; it is needed to restore).
func GenerateKeys() (writer, reader []byte, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, nil, fmt.Errorf("generate age identity: %w", err)
	}
	auth := make([]byte, 32)
	if _, err := rand.Read(auth); err != nil {
		return nil, nil, fmt.Errorf("generate auth key: %w", err)
	}
	created := time.Now().UTC().Format(time.RFC3339)
	authLine := authKeyPrefix + " " + hex.EncodeToString(auth) + "\n"

	var w bytes.Buffer
	fmt.Fprintf(&w, "# otelcol-chroma WRITER key, created %s.\n", created)
	w.WriteString("# Give this file to the process that takes snapshots. It encrypts and\n")
	w.WriteString("# signs snapshots but cannot decrypt them. The matching READER key is\n")
	w.WriteString("# needed to restore; keep that one offline.\n")
	w.WriteString(id.Recipient().String() + "\n")
	w.WriteString(authLine)

	var r bytes.Buffer
	fmt.Fprintf(&r, "# otelcol-chroma READER key, created %s.\n", created)
	r.WriteString("# Needed to list, verify and restore snapshots. Keep it offline, with a\n")
	r.WriteString("# copy somewhere safe: without it, encrypted snapshots cannot be restored.\n")
	r.WriteString("# The AGE-SECRET-KEY line is a standard age identity (age -d -i).\n")
	fmt.Fprintf(&r, "# public key: %s\n", id.Recipient().String())
	r.WriteString(id.String() + "\n")
	r.WriteString(authLine)
	return w.Bytes(), r.Bytes(), nil
}

// LoadWriterKey reads a writer key file.
func LoadWriterKey(path string) (Keys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Keys{}, fmt.Errorf("read writer key: %w", err)
	}
	return ParseWriterKey(data, path)
}

// LoadReaderKey reads a reader key file.
func LoadReaderKey(path string) (Keys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Keys{}, fmt.Errorf("read reader key: %w", err)
	}
	return ParseReaderKey(data, path)
}

// ParseWriterKey parses the contents of a writer key file; source names it
// in errors.
func ParseWriterKey(data []byte, source string) (Keys, error) {
	k, err := parseKeyFile(data, source)
	if err != nil {
		return Keys{}, err
	}
	if len(k.identities) > 0 {
		return Keys{}, fmt.Errorf("%s holds a reader key (AGE-SECRET-KEY); snapshots are taken with the writer key (age1... recipient), so the reader key can stay offline", k.Source())
	}
	if len(k.recipients) == 0 {
		return Keys{}, fmt.Errorf("%s holds no age recipient (age1...); is it a writer key?", k.Source())
	}
	return k, nil
}

// ParseReaderKey parses the contents of a reader key file; source names it
// in errors.
func ParseReaderKey(data []byte, source string) (Keys, error) {
	k, err := parseKeyFile(data, source)
	if err != nil {
		return Keys{}, err
	}
	if len(k.identities) == 0 {
		if len(k.recipients) > 0 {
			return Keys{}, fmt.Errorf("%s is a writer key; listing details, verifying and restoring need the reader key (the file with the AGE-SECRET-KEY line)", k.Source())
		}
		return Keys{}, fmt.Errorf("%s holds no age identity (AGE-SECRET-KEY-...); is it a reader key?", k.Source())
	}
	return k, nil
}

func parseKeyFile(data []byte, source string) (Keys, error) {
	k := Keys{source: source}
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, authKeyPrefix):
			if k.authKey != nil {
				return Keys{}, fmt.Errorf("%s line %d: a second auth-key line", k.Source(), n)
			}
			b, err := hex.DecodeString(strings.TrimSpace(strings.TrimPrefix(line, authKeyPrefix)))
			if err != nil || len(b) != 32 {
				return Keys{}, fmt.Errorf("%s line %d: auth-key must be 64 hex characters", k.Source(), n)
			}
			k.authKey = b
		case strings.HasPrefix(line, "AGE-SECRET-KEY-"):
			ids, err := age.ParseIdentities(strings.NewReader(line))
			if err != nil {
				// age's error never includes the key itself.
				return Keys{}, fmt.Errorf("%s line %d: %v", k.Source(), n, err)
			}
			k.identities = append(k.identities, ids...)
		case strings.HasPrefix(line, "age1"):
			recs, err := age.ParseRecipients(strings.NewReader(line))
			if err != nil {
				return Keys{}, fmt.Errorf("%s line %d: %v", k.Source(), n, err)
			}
			k.recipients = append(k.recipients, recs...)
			k.recipientIDs = append(k.recipientIDs, line)
		default:
			return Keys{}, fmt.Errorf("%s line %d: not an age key, an auth-key line or a # comment", k.Source(), n)
		}
	}
	if err := sc.Err(); err != nil {
		return Keys{}, fmt.Errorf("read %s: %w", k.Source(), err)
	}
	if k.authKey == nil {
		return Keys{}, fmt.Errorf("%s has no auth-key line; it is not an otelcol-chroma key file", k.Source())
	}
	sort.Strings(k.recipientIDs)
	return k, nil
}
