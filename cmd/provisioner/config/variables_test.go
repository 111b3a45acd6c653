package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README's configuration table is Variables, row for row: a variable documented but not
// declared, declared but not documented, or documented with another default or meaning fails.
func TestREADMEConfigurationTableIsVariables(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var readme []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "## Configure":
			in = true
		case in && strings.HasPrefix(line, "## "):
			in = false
		case in && strings.HasPrefix(line, "| `"):
			readme = append(readme, line)
		}
	}
	var want []string
	for _, v := range Variables {
		want = append(want, v.Row())
	}
	for i := 0; i < max(len(readme), len(want)); i++ {
		got, exp := "(none)", "(none)"
		if i < len(readme) {
			got = readme[i]
		}
		if i < len(want) {
			exp = want[i]
		}
		if got != exp {
			t.Fatalf("README configuration row %d differs from config.Variables:\nREADME: %s\n  want: %s", i+1, got, exp)
		}
	}
}

// Load reads the variables of the table and no other (the Go runtime reads GOGC and GOMEMLIMIT;
// a DNS provider's own variables are lego's).
func TestLoadReadsExactlyTheTable(t *testing.T) {
	read := map[string]bool{}
	for _, env := range []map[string]string{
		{"PROXY_ADDRESS": "proxy"},
		{"PROXY_ADDRESS": "proxy", "STORE": "etcd", "ETCD_ENDPOINTS": "etcd:2379", "DNS_PROVIDER": "httpreq"},
	} {
		if _, err := Load(func(k string) string { read[k] = true; return env[k] }); err != nil {
			t.Fatal(err)
		}
	}
	declared := map[string]bool{"GOGC": true, "GOMEMLIMIT": true}
	for _, v := range Variables {
		for _, n := range v.Names {
			declared[n] = true
			if !read[n] && n != "GOGC" && n != "GOMEMLIMIT" {
				t.Errorf("%s is in Variables but Load never reads it", n)
			}
		}
	}
	for n := range read {
		if !declared[n] && !declared[strings.TrimSuffix(n, "_FILE")] { // NAME_FILE: a secret's file
			t.Errorf("Load reads %s, which Variables does not declare", n)
		}
	}
}
