package snapshotconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
)

func decodeYAML(t *testing.T, yaml string) (Settings, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s, found, err := FromCollectorConfig(context.Background(), []string{"file:" + path}, []confmap.ProviderFactory{envprovider.NewFactory(), fileprovider.NewFactory()}, "")
	if err == nil && !found {
		t.Fatal("no snapshot settings found")
	}
	return s, err
}

func TestUnknownKeysAreRejected(t *testing.T) {
	tests := []struct {
		name, block string
		wants       []string
	}{
		{"top level", "encrypton:\n      writer_key_file: /w.key", []string{`"encrypton"`, "encryption", "bucket"}},
		{"in encryption", "encryption:\n      writer_key: /w.key", []string{`"encryption::writer_key"`, "writer_key_file", "reader_key_file"}},
		{"in bucket", "bucket:\n      url: file:///b\n      acces_key_id: x", []string{`"bucket::acces_key_id"`, "access_key_id"}},
		{"below a value", "bucket:\n      url:\n        path: /b", []string{"url", "expected type"}},
		{"empty block", "encrypton: {}", []string{"encrypton"}},
		{"two at once", "encrypton: {}\n    instanse: x", []string{"encrypton", "instanse"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeYAML(t, "extensions:\n  snapshot:\n    persist_directory: /data\n    "+tt.block+"\n")
			if err == nil {
				t.Fatal("decoded without error")
			}
			for _, w := range append(tt.wants, "extensions::snapshot") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %s: %v", w, err)
				}
			}
		})
	}
}

// An encryption setting that is present but empty (an unset environment
// variable) must not silently give unencrypted snapshots.
func TestEmptyEncryptionIsRejected(t *testing.T) {
	t.Setenv("UNSET_WRITER_KEY", "")
	for name, tt := range map[string]struct{ block, want string }{
		"empty writer key":       {"encryption:\n      writer_key_file: ${env:UNSET_WRITER_KEY}", `"encryption::writer_key_file" is empty`},
		"empty reader key":       {"encryption:\n      reader_key_file: \"\"", `"encryption::reader_key_file" is empty`},
		"empty block":            {"encryption: {}", `"encryption" names no key file`},
		"block without settings": {"encryption:", `"encryption" names no key file`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeYAML(t, "extensions:\n  snapshot:\n    persist_directory: /data\n    "+tt.block+"\n")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("decode: %v, want an error saying %s", err, tt.want)
			}
		})
	}
}

func TestUnknownKeyIsClassified(t *testing.T) {
	_, err := decodeYAML(t, "extensions:\n  snapshot/prod:\n    encryption:\n      writer_key: /w.key\n")
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("error %v does not wrap ErrUnknownKey", err)
	}
}

func TestKnownKeysDecode(t *testing.T) {
	s, err := decodeYAML(t, `
extensions:
  snapshot:
    persist_directory: /data
    instance: prod
    bucket:
      url: s3://b/p
      access_key_id: id
      secret_access_key: secret
      session_token: token
      azure_account_key: azkey
    encryption:
      writer_key_file: /w.key
      reader_key_file: /r.key
    scratch_directory: /tmp
    concurrency: 3
`)
	if err != nil {
		t.Fatal(err)
	}
	if s.Encryption.WriterKeyFile != "/w.key" || s.Encryption.ReaderKeyFile != "/r.key" || s.Bucket.SessionToken != "token" || s.Bucket.AzureAccountKey != "azkey" ||
		s.Concurrency != 3 || s.Instance != "prod" || s.ScratchDirectory != "/tmp" || s.Bucket.URL != "s3://b/p" {
		t.Fatalf("decoded %+v", s)
	}
}

// A component whose Config is Settings is decoded by the collector with
// Conf.Unmarshal, which must reach the same strict decoder.
func TestCollectorDecodingIsStrict(t *testing.T) {
	conf := confmap.NewFromStringMap(map[string]any{
		"bucket":     map[string]any{"url": "file:///b"},
		"encryption": map[string]any{"writer_key": "/w.key"},
	})
	var cfg Settings
	err := conf.Unmarshal(&cfg)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "encryption::writer_key") {
		t.Fatalf("Conf.Unmarshal: %v, want the unknown key named", err)
	}
}

// A component Config that embeds Settings (squashed) is decoded through the
// same strict function.
func TestEmbeddedSettingsDecodeStrictly(t *testing.T) {
	type componentConfig struct {
		Settings `mapstructure:",squash"`
	}
	conf := confmap.NewFromStringMap(map[string]any{
		"persist_directory": "/data",
		"encrypton":         map[string]any{"writer_key_file": "/w.key"},
	})
	var cfg componentConfig
	if err := conf.Unmarshal(&cfg); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"encrypton"`) {
		t.Fatalf("Conf.Unmarshal: %v, want the unknown key named", err)
	}
	good := confmap.NewFromStringMap(map[string]any{"persist_directory": "/data", "bucket": map[string]any{"url": "file:///b"}})
	if err := good.Unmarshal(&cfg); err != nil || cfg.PersistDirectory != "/data" || cfg.Bucket.URL != "file:///b" {
		t.Fatalf("Conf.Unmarshal of known keys: %+v, %v", cfg, err)
	}
}
