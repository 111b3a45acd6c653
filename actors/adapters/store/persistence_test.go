package store

import (
	"strings"
	"testing"
)

const mountinfo = `22 1 0:21 / / rw,relatime - overlay overlay rw
30 22 8:1 /var/lib/docker/volumes/letsencrypt/_data /etc/letsencrypt rw,relatime - ext4 /dev/sda1 rw
31 22 8:1 /var/lib/docker/volumes/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/_data /data/anon rw - ext4 /dev/sda1 rw
32 22 8:1 /srv/certs /data/bind rw - ext4 /dev/sda1 rw
`

func TestPersistenceProblem(t *testing.T) {
	cases := map[string]string{
		"/etc/letsencrypt":      "",
		"/etc/letsencrypt/live": "",
		"/data/bind":            "",
		"/data/anon":            "is an anonymous volume",
		"/tmp/data":             "is not a mounted volume",
		"/etc/letsencrypt2":     "is not a mounted volume",
	}
	for dir, want := range cases {
		if got := persistenceProblem(dir, strings.NewReader(mountinfo)); got != want {
			t.Errorf("%s: %q, want %q", dir, got, want)
		}
	}
}
