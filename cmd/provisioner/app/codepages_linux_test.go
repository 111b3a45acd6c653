package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
)

func TestReadOnlyMappings(t *testing.T) {
	smaps := []byte(`00400000-00c00000 r-xp 00000000 08:01 42 /provisioner
Size:               8192 kB
Rss:                6000 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me
00c00000-01400000 r--p 00800000 08:01 42 /provisioner
Rss:                3000 kB
Anonymous:             0 kB
01400000-01500000 rw-p 01000000 08:01 42 /provisioner
Rss:                 900 kB
Anonymous:           400 kB
01500000-01600000 r--p 01100000 08:01 42 /provisioner
Rss:                 100 kB
Anonymous:             4 kB
01600000-01700000 r-xs 01200000 08:01 42 /provisioner
Rss:                 100 kB
Anonymous:             0 kB
7f0000000000-7f0000100000 r-xp 00000000 08:01 77 /lib/other.so
Rss:                 500 kB
Anonymous:             0 kB
7f0000200000-7f0000300000 rw-p 00000000 00:00 0
Rss:                1000 kB
Anonymous:          1000 kB
`)
	got := readOnlyMappings(smaps, "/provisioner")
	want := []mapping{{start: 0x400000, end: 0xc00000, rss: 6000 << 10}, {start: 0xc00000, end: 0x1400000, rss: 3000 << 10}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v (the code and the constants; not the data, a mapping with its own pages, a shared one, another file)", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// The test binary's own code is released for real, and what runs next reads it back unchanged.
func TestReleaseCodePagesShrinksTheResidentSet(t *testing.T) {
	before := residentCode()
	if before <= 0 {
		t.Fatalf("RssFile %d: not read", before)
	}
	released, err := releaseCodePages()
	if err != nil {
		t.Fatal(err)
	}
	after := residentCode()
	t.Logf("resident code %d KiB, released %d KiB, %d KiB after", before>>10, released>>10, after>>10)
	if released <= 0 || after >= before {
		t.Fatalf("released %d bytes; resident code %d before, %d after", released, before, after)
	}
	sum := sha256.Sum256([]byte("abc"))
	data, err := json.Marshal(map[string]string{"sum": hex.EncodeToString(sum[:])})
	if err != nil || string(data) != `{"sum":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}` {
		t.Errorf("after the release: %s, %v", data, err)
	}
}

func TestCodeHeld(t *testing.T) {
	cases := []struct {
		name     string
		inFlight int
		resident int64
		want     bool
	}{
		{"after a wave: 22 MiB of code, nothing running", 0, 22 << 20, true},
		{"idle: 2 MiB", 0, 2 << 20, false},
		{"orders running", 5, 22 << 20, false},
		{"unknown", 0, -1, false},
	}
	for _, c := range cases {
		if got := CodeHeld(c.inFlight, c.resident); got != c.want {
			t.Errorf("%s: CodeHeld(%d, %d) = %v, want %v", c.name, c.inFlight, c.resident, got, c.want)
		}
	}
}
