package store

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
)

// retryDir holds one empty file per name an operator wants retried now.
const retryDir = "retry-now"

// RequestRetry asks the running service to retry name now (see TakeRetryRequests). It is what
// "provisioner retry-now NAME" does inside the container, which has no shell.
func RequestRetry(root, name string) error { return OpenKV(Files{Root: root}, "").RequestRetry(name) }

// RequestRetry asks the running service, wherever it keeps its state, to retry name now.
func (s *Store) RequestRetry(name string) error {
	if name == "" || filepath.Base(name) != name || name == "." || name == ".." {
		return fmt.Errorf("retry-now: %q is not a name", name)
	}
	return s.kv.Put(retryDir+"/"+dnsname.FileStem(name), nil)
}

// TakeRetryRequests returns the names asked to be retried since the last call, and forgets them.
func (s *Store) TakeRetryRequests() []string {
	keys, err := s.kv.List(retryDir + "/")
	if err != nil {
		return nil
	}
	var names []string
	for _, k := range keys {
		stem := strings.TrimPrefix(k, retryDir+"/")
		if strings.Contains(stem, "/") || strings.HasPrefix(stem, ".") {
			continue
		}
		if s.kv.Delete(k) == nil {
			names = append(names, dnsname.FromFileStem(stem))
		}
	}
	sort.Strings(names)
	return names
}
