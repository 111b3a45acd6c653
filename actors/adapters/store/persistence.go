package store

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// anonymousVolume is the source of a Docker volume without a name: the image's VOLUME line makes
// one when the operator mounts nothing, and a replaced Swarm task gets a new, empty one.
var anonymousVolume = regexp.MustCompile(`/volumes/[0-9a-f]{64}/_data$`)

// PersistenceProblem says what is wrong with dir as persistent storage, or "" when it is on a
// named volume or bind mount (or when it cannot tell: no false alarms).
func PersistenceProblem(dir string) string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	return persistenceProblem(dir, f)
}

// persistenceProblem reads mountinfo (proc(5)) for the mount dir lives on.
func persistenceProblem(dir string, mountinfo io.Reader) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	}
	best, root := "", ""
	sc := bufio.NewScanner(mountinfo)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := fields[4]
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best, root = mp, fields[3]
		}
	}
	switch {
	case best == "" || best == "/":
		return "is not a mounted volume"
	case anonymousVolume.MatchString(root):
		return "is an anonymous volume"
	}
	return ""
}
