package issuer

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/go-acme/lego/v4/acme"
)

// checkProfile makes sure, once, that the CA offers ACME_PROFILE: a typo would otherwise fail
// every order with a less obvious error. A failed check is asked again at the next order.
func (i *Issuer) checkProfile() error {
	if i.cfg.Profile == "" {
		return nil
	}
	_, err := i.profileChecked.get(func() (bool, error) {
		dir, err := i.directory()
		if err == nil {
			err = profileOffered(dir, i.cfg.Profile)
		}
		return err == nil, err
	})
	return err
}

// directory fetches the CA's ACME directory.
func (i *Issuer) directory() (acme.Directory, error) {
	var dir acme.Directory
	client := &http.Client{Transport: withDeadline{next: i.transport(), timeout: 30 * time.Second}}
	resp, err := client.Get(i.cfg.DirectoryURL)
	if err != nil {
		return dir, fmt.Errorf("acme directory: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return dir, fmt.Errorf("acme directory: %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&dir); err != nil {
		return dir, fmt.Errorf("acme directory: %w", err)
	}
	return dir, nil
}

// profileOffered says whether the directory lists profile, and if not, what it offers.
func profileOffered(dir acme.Directory, profile string) error {
	if _, ok := dir.Meta.Profiles[profile]; ok {
		return nil
	}
	offered := make([]string, 0, len(dir.Meta.Profiles))
	for p := range dir.Meta.Profiles {
		offered = append(offered, p)
	}
	sort.Strings(offered)
	return fmt.Errorf("ACME_PROFILE %q is not offered by the CA (it offers %v)", profile, offered)
}

// CAAIdentity is who the CA is to a CAA record: the issuer domains its directory lists
// (meta.caaIdentities; none: the CA checks no CAA itself, or does not say how), and this account's
// URI, for RFC 8657's accounturi. The domains are fetched once; a failure is asked again next time.
func (i *Issuer) CAAIdentity() (domains []string, accountURI string, err error) {
	domains, err = i.caaDomains.get(func() ([]string, error) {
		dir, err := i.directory()
		return dir.Meta.CaaIdentities, err
	})
	if err != nil {
		return nil, "", err
	}
	u, err := i.ensureAccount()
	if err != nil {
		return nil, "", err
	}
	return domains, u.reg.URI, nil
}
