// Package migrate moves DATA_DIR into etcd ("provisioner migrate --to etcd"): what happens to each
// key is decided by planKey, and nothing newer in etcd is overwritten.
package migrate

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"reflect"
	"strings"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store/etcdkv"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
)

// What a migration does with one key.
const (
	migrateCopy    = "copied"   // not in etcd yet
	migrateSame    = "same"     // already there, byte for byte
	migrateReplace = "replaced" // the file's certificate is newer than etcd's (and its state follows it)
	migrateMerge   = "merged"   // a ledger: etcd's and the file's bookings, both kept
	migrateKeep    = "kept"     // etcd's value stays: newer, or what the replicas already run on
	migrateSkip    = "skipped"  // the lock and temporary files, which are not state
)

// planKey decides what moving src (from DATA_DIR) to etcd does with key, where etcd has dst
// (inDst). bundleTaken says the name's bundle was copied or replaced, which its state follows.
// Nothing newer in etcd is overwritten, and no limit either side books is lifted.
func planKey(key string, src, dst []byte, inDst, bundleTaken bool) (action, reason string) {
	base := path.Base(key)
	switch {
	case strings.HasPrefix(base, "."):
		return migrateSkip, "the lock or a temporary file"
	case !inDst:
		return migrateCopy, ""
	case bytes.Equal(src, dst):
		return migrateSame, ""
	case strings.HasPrefix(key, "certificates/") && base == "bundle.pem":
		mine, err := leafNotBefore(src)
		if err != nil {
			return migrateKeep, "the file's certificate is unreadable: " + err.Error()
		}
		theirs, err := leafNotBefore(dst)
		if err == nil && !mine.After(theirs) {
			return migrateKeep, "etcd's certificate is as new or newer"
		}
		return migrateReplace, "the file's certificate is newer"
	case strings.HasPrefix(key, "certificates/") && base == "state.json" && bundleTaken:
		return migrateReplace, "follows its certificate"
	case strings.HasPrefix(key, "ratelimits/") && strings.HasSuffix(key, ".json"):
		return migrateMerge, "both ledgers' bookings kept"
	case strings.HasPrefix(key, "accounts/"):
		return migrateKeep, "etcd already has this CA's account"
	}
	return migrateKeep, "etcd's is what the replicas wrote since"
}

// leafNotBefore is when the bundle's first certificate (the leaf) was issued.
func leafNotBefore(bundle []byte) (time.Time, error) {
	block, _ := pem.Decode(bundle)
	if block == nil || block.Type != "CERTIFICATE" {
		return time.Time{}, errors.New("no certificate first")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return time.Time{}, err
	}
	return leaf.NotBefore, nil
}

// mergeLedgers is etcd's ledger with the file's bookings added; same says nothing was added.
func mergeLedgers(src, dst []byte) (merged []byte, same bool, err error) {
	var mine, theirs ratelimiter.Ledger
	if err := json.Unmarshal(src, &mine); err != nil {
		return nil, false, fmt.Errorf("the file's ledger: %w", err)
	}
	if err := json.Unmarshal(dst, &theirs); err != nil {
		return nil, false, fmt.Errorf("etcd's ledger: %w", err)
	}
	both := ratelimiter.MergeLedgers(theirs, mine)
	if reflect.DeepEqual(both, ratelimiter.MergeLedgers(theirs, ratelimiter.Ledger{})) {
		return nil, true, nil
	}
	merged, err = json.Marshal(both)
	return merged, false, err
}

// Run moves DATA_DIR into etcd ("provisioner migrate --to etcd"), printing what it did with
// each key that was not already there. It refuses while a replica leads: stop the service (or
// scale it to 0) first. Run again, it changes nothing; every write is conditional on etcd's value
// being the one it decided on.
func Run(ctx context.Context, cfg config.Config, out io.Writer) error {
	if _, err := os.Stat(cfg.DataDir); err != nil {
		return fmt.Errorf("DATA_DIR %s: %w", cfg.DataDir, err)
	}
	client, err := etcdkv.Dial(cfg.Etcd.Endpoints, cfg.Etcd.TLS, cfg.Etcd.Username, cfg.Etcd.Password)
	if err != nil {
		return err
	}
	defer client.Close()
	askCtx, cancel := context.WithTimeout(ctx, etcdkv.Timeout)
	leader, err := etcdkv.Leader(askCtx, client, cfg.Etcd.Prefix)
	cancel()
	if err != nil {
		return err
	}
	if leader != "" {
		return fmt.Errorf("a replica leads (%s): stop the service, or scale it to 0, before migrating", leader)
	}
	src := store.Files{Root: cfg.DataDir}
	dst := &etcdkv.KV{Client: client, Prefix: cfg.Etcd.Prefix, Timeout: etcdkv.Timeout}
	keys, err := src.List("")
	if err != nil {
		return err
	}
	counts := map[string]int{}
	taken := map[string]bool{} // name directories whose bundle was copied or replaced
	for _, key := range keys {
		value, err := src.Get(key)
		if err != nil {
			return err
		}
		current, version, err := dst.GetVersion(key)
		inDst := err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		action, reason := planKey(key, value, current, inDst, taken[path.Dir(key)])
		if action == migrateMerge {
			merged, same, err := mergeLedgers(value, current)
			switch {
			case err != nil:
				action, reason = migrateKeep, err.Error()
			case same:
				action = migrateSame
			default:
				value = merged
			}
		}
		switch action {
		case migrateCopy, migrateReplace, migrateMerge:
			if _, err := dst.PutIfVersion(key, value, version); err != nil {
				return fmt.Errorf("%s: %w (nothing after it was migrated; run again)", key, err)
			}
			if path.Base(key) == "bundle.pem" {
				taken[path.Dir(key)] = true
			}
		}
		counts[action]++
		if action != migrateSame {
			fmt.Fprintf(out, "%-8s %s%s\n", action, key, strings.TrimSuffix(" ("+reason+")", " ()"))
		}
	}
	fmt.Fprintf(out, "DATA_DIR %s -> etcd %s: %d copied, %d replaced, %d merged, %d already there, %d kept as etcd has them, %d skipped\n",
		cfg.DataDir, cfg.Etcd.Prefix, counts[migrateCopy], counts[migrateReplace], counts[migrateMerge], counts[migrateSame], counts[migrateKeep], counts[migrateSkip])
	return nil
}
