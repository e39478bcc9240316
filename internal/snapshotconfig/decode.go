package snapshotconfig // import "github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// ErrUnknownKey marks a settings block that holds a key the settings do not
// have: a typo that must not silently turn a feature (encryption) off.
var ErrUnknownKey = errors.New("unknown key")

var _ confmap.Unmarshaler = (*Settings)(nil)

// Unmarshal decodes the snapshot settings strictly: a key they do not have,
// at any depth, is an error naming it and the keys allowed there. The
// collector calls it for a component whose Config is Settings, and the
// snapshot subcommands call it through FromCollectorConfig, so both reject
// the same typos.
func (s *Settings) Unmarshal(conf *confmap.Conf) error {
	var errs []error
	seen := make(map[string]bool)
	for _, key := range conf.AllKeys() {
		bad, allowed := unknownKey(reflect.TypeFor[Settings](), strings.Split(key, confmap.KeyDelimiter))
		if bad == "" || seen[bad] {
			continue
		}
		seen[bad] = true
		errs = append(errs, fmt.Errorf("%w %q: allowed here: %s", ErrUnknownKey, bad, strings.Join(allowed, ", ")))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Strict as well (no WithIgnoreUnused): a backstop for any key the
	// walk above cannot see, such as an empty map.
	if err := conf.Unmarshal(s); err != nil {
		return err
	}
	return CheckEncryptionBlock(conf, s.Encryption)
}

// withoutKey says what having no key means, wherever a key is optional.
const withoutKey = "without a key, snapshots are stored unencrypted and status records are read unverified"

// CheckEncryptionBlock refuses an encryption block that names no key file,
// or a key file setting that is present but empty: an unset environment
// variable (${env:WRITER_KEY_FILE}) must not silently mean "no encryption".
// conf holds the block as `encryption`, decoded into enc; every component
// with an `encryption:` block calls it from its Unmarshal.
func CheckEncryptionBlock(conf *confmap.Conf, enc EncryptionSettings) error {
	var errs []error
	for key, value := range map[string]string{
		"encryption::writer_key_file": enc.WriterKeyFile,
		"encryption::reader_key_file": enc.ReaderKeyFile,
	} {
		if conf.IsSet(key) && strings.TrimSpace(value) == "" {
			errs = append(errs, fmt.Errorf("%q is empty (an unset environment variable?): name the key file, or remove the key (%s)", key, withoutKey))
		}
	}
	if len(errs) == 0 && conf.IsSet("encryption") && enc == (EncryptionSettings{}) {
		errs = append(errs, fmt.Errorf(`"encryption" names no key file: set writer_key_file (and reader_key_file where you restore), or remove the block (%s)`, withoutKey))
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// unknownKey walks path through t's mapstructure tags. It returns the
// first prefix of path that names no field ("" when every segment does) and
// the keys allowed at that level.
func unknownKey(t reflect.Type, path []string) (bad string, allowed []string) {
	for i, seg := range path {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return "", nil // a value, not a block: mapstructure checks its type
		}
		fields := structKeys(t)
		ft, ok := fields[seg]
		if !ok {
			return strings.Join(path[:i+1], confmap.KeyDelimiter), slices.Sorted(maps.Keys(fields))
		}
		t = ft
	}
	return "", nil
}

// structKeys maps the mapstructure keys of t's fields (squashed fields
// flattened in) to their types.
func structKeys(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type)
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		switch {
		case opts == "squash" && f.Type.Kind() == reflect.Struct:
			maps.Copy(out, structKeys(f.Type))
		case name != "" && name != "-" && f.IsExported():
			out[name] = f.Type
		}
	}
	return out
}
