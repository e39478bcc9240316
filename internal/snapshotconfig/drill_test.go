package snapshotconfig

import (
	"strings"
	"testing"
	"time"
)

func TestDrillSettings(t *testing.T) {
	s, err := decodeYAML(t, "extensions:\n  snapshot:\n    bucket: {url: file:///b}\n    scratch_directory: /scratch\n    drill:\n      interval: 12h\n      chroma_command: /usr/bin/chroma\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	opts := s.DrillOptions()
	if s.Drill.DrillInterval() != 12*time.Hour || opts.ChromaCommand != "/usr/bin/chroma" || opts.ScratchDir != "/scratch" {
		t.Fatalf("drill settings %+v, options %+v", s.Drill, opts)
	}
	s.Drill.ScratchDirectory = "/big"
	if got := s.DrillOptions().ScratchDir; got != "/big" {
		t.Fatalf("drill::scratch_directory is not used: %s", got)
	}

	_, err = decodeYAML(t, "extensions:\n  snapshot:\n    bucket: {url: file:///b}\n    drill: {chroma_comand: chroma}\n")
	if err == nil || !strings.Contains(err.Error(), `"drill::chroma_comand"`) || !strings.Contains(err.Error(), "chroma_command") {
		t.Fatalf("a typo in drill: %v", err)
	}
	for _, bad := range []string{"interval: 10ms", "interval: -1h", "timeout: -1s"} {
		s, err := decodeYAML(t, "extensions:\n  snapshot:\n    bucket: {url: file:///b}\n    drill: {"+bad+"}\n")
		if err == nil {
			err = s.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), `"drill::`) {
			t.Errorf("drill %s: %v", bad, err)
		}
	}
}
