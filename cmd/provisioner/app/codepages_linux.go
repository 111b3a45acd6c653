package app

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// residentCode is the file-backed part of the resident set (RssFile): the executable's pages, in
// a static binary; -1 when it cannot be read.
func residentCode() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "RssFile:"); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				return -1
			}
			kb, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// releaseCodePages unmaps the pages of the executable's read-only mappings (its code and constant
// data) that the process holds, so that code a wave ran once (lego, TLS, JSON, the providers'
// initialisation) stops counting in its resident set; what the idle service runs comes back at
// its next use, as a minor fault from the page cache. It is safe because these mappings are
// private, never written, and hold no page of their own (smaps' Anonymous: 0): the kernel reads
// each page back from the file, unchanged. It returns the bytes it released.
func releaseCodePages() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("code pages: %w", err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("code pages: %w", err)
	}
	var released int64
	for _, m := range readOnlyMappings(smaps, exe) {
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED); errno != 0 {
			return released, fmt.Errorf("code pages: madvise %x-%x: %w", m.start, m.end, errno)
		}
		released += m.rss
	}
	return released, nil
}

type mapping struct {
	start, end uintptr
	rss        int64 // bytes resident
}

// readOnlyMappings lists, from /proc/self/smaps, the mappings of path that are private, not
// writable and hold no anonymous page: the ones whose pages the file gives back unchanged.
func readOnlyMappings(smaps []byte, path string) []mapping {
	var out []mapping
	var cur *mapping
	eligible := false
	flush := func() {
		if cur != nil && eligible {
			out = append(out, *cur)
		}
		cur, eligible = nil, false
	}
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") { // a mapping's header: "start-end perms offset dev inode [path]"
			flush()
			if len(fields) < 6 || fields[5] != path || len(fields[1]) < 4 || fields[1][1] != '-' || fields[1][3] != 'p' {
				continue
			}
			lo, hi, ok := strings.Cut(fields[0], "-")
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			if !ok || err1 != nil || err2 != nil || end <= start {
				continue
			}
			cur, eligible = &mapping{start: uintptr(start), end: uintptr(end)}, true
			continue
		}
		if cur == nil || len(fields) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "Rss:":
			cur.rss = kb << 10
		case "Anonymous:":
			if err != nil || kb != 0 {
				eligible = false
			}
		}
	}
	flush()
	return out
}
