package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// retryDir holds one empty file per name an operator wants retried now.
const retryDir = "retry-now"

// RequestRetry asks the running service to retry name now (see TakeRetryRequests). It is what
// "provisioner retry-now NAME" does inside the container, which has no shell.
func RequestRetry(root, name string) error {
	if name == "" || filepath.Base(name) != name || name == "." || name == ".." {
		return fmt.Errorf("retry-now: %q is not a name", name)
	}
	return WriteFileAtomic(filepath.Join(root, retryDir, proxyapi.FileStem(name)), nil, 0o600)
}

// TakeRetryRequests returns the names asked to be retried since the last call, and forgets them.
func (s *Store) TakeRetryRequests() []string {
	entries, err := os.ReadDir(filepath.Join(s.root, retryDir))
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || e.Name()[0] == '.' {
			continue
		}
		if os.Remove(filepath.Join(s.root, retryDir, e.Name())) == nil {
			names = append(names, proxyapi.NameFromFileStem(e.Name()))
		}
	}
	sort.Strings(names)
	return names
}
