package snapshot

import (
	"bytes"
	"os"
	"os/exec"
	"testing"

	"github.com/klauspost/compress/huff0"
	"github.com/klauspost/compress/zstd"
)

// Frames of Huffman-coded literals decode with the zstd package and the
// reference zstd command, for every kind of block.
func TestLiteralsFrame(t *testing.T) {
	rng := newRand()
	exps := func(n int) []byte { // skewed bytes, like float exponents
		b := make([]byte, n)
		for i := range b {
			b[i] = 0x3a + byte(rng.IntN(4)) + 0x80*byte(rng.IntN(2))
		}
		return b
	}
	cases := map[string][]byte{
		"empty": nil, "one byte": {7}, "small": exps(100), "1 KiB": exps(1 << 10),
		"block": exps(zstdMaxBlock), "block+1": exps(zstdMaxBlock + 1), "two blocks and a bit": exps(2*zstdMaxBlock + 4096),
		"random": randomBytes(rng, 200<<10), "constant": bytes.Repeat([]byte{0x3c}, 200<<10),
		"mixed": append(bytes.Repeat([]byte{0}, zstdMaxBlock), append(randomBytes(rng, zstdMaxBlock), exps(zstdMaxBlock)...)...),
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var s huff0.Scratch
	cli, cliErr := exec.LookPath("zstd")
	if cliErr != nil && os.Getenv("REQUIRE_REAL_COMPONENTS") != "" {
		t.Fatalf("zstd is not installed (make tools installs it): %v", cliErr)
	}
	for name, src := range cases {
		frame := literalsFrame(nil, src, &s)
		got, err := dec.DecodeAll(frame, nil)
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("%s: zstd package: %v (%d bytes back for %d)", name, err, len(got), len(src))
		}
		if cli != "" {
			cmd := exec.Command(cli, "-dc")
			cmd.Stdin = bytes.NewReader(frame)
			out, err := cmd.Output()
			if err != nil || !bytes.Equal(out, src) {
				t.Fatalf("%s: zstd command: %v (%d bytes back for %d)", name, err, len(out), len(src))
			}
		}
	}
	if f := literalsFrame(nil, cases["two blocks and a bit"], &s); len(f) > len(cases["two blocks and a bit"])*2/5 {
		t.Errorf("skewed bytes: %d of %d bytes, want at most 2/5 (3 bits of 8 and the tables)", len(f), len(cases["two blocks and a bit"]))
	}
}
