// Command providercost measures what linking one lego DNS provider costs the process in memory:
// for each provider it builds a program that links the provider's package and nothing else of
// the service, runs it, and prints its resident memory after the packages' initialisation (and a
// collection), against the same program without a provider. Package initialisation is what
// touches a provider's pages; code that never runs stays on disk.
//
//	go run ./test/providercost                         # the candidates for the default build
//	go run ./test/providercost -p cloudflare,route53  # chosen ones
//	go run ./test/providercost -p all                 # every provider at once (lego's dns package)
//	go run ./test/providercost -p default             # the default build's providers together
//	go run ./test/providercost -p cloudflare+route53  # several together
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/dnsproviders"
)

// candidates are the providers weighed for the default build.
const candidates = "cloudflare,route53,digitalocean,hetzner,ovh,gandiv5,godaddy,namecheap,linode,duckdns,porkbun,gcloud,azuredns,desec,inwx,ionos,namesilo,vultr,dnsimple,netcup,transip,rfc2136,httpreq,exec"

const program = `package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
%s
)

func main() {
	runtime.GC()
	debug.FreeOSMemory()
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		for _, key := range []string{"VmRSS:", "RssAnon:", "RssFile:"} {
			if strings.HasPrefix(line, key) {
				fmt.Println(strings.Join(strings.Fields(line), " "))
			}
		}
	}
}
`

func main() {
	providers := flag.String("p", candidates, "comma-separated lego provider codes, or all")
	flag.Parse()
	if err := run(strings.Split(*providers, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "providercost:", err)
		os.Exit(1)
	}
}

func run(codes []string) error {
	// The programs are built inside the module, so they resolve lego at the version it requires.
	dir, err := os.MkdirTemp(".", "providercost-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	base, err := measure(dir, nil)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "provider\tVmRSS kB\tRssAnon kB\tRssFile kB\tadds kB\tbinary MB\t")
	fmt.Fprintf(tw, "(none)\t%d\t%d\t%d\t\t%.1f\t\n", base.rss, base.anon, base.file, base.binaryMB)
	for _, code := range codes {
		m, err := measure(dir, packages(strings.TrimSpace(code)))
		if err != nil {
			fmt.Fprintf(tw, "%s\t%v\t\t\t\t\t\n", code, err)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.1f\t\n", code, m.rss, m.anon, m.file, m.rss-base.rss, m.binaryMB)
	}
	return tw.Flush()
}

type memory struct {
	rss, anon, file int
	binaryMB        float64
}

// packages are the packages a -p entry links: one provider, several joined by +, every provider
// (all), or the default build's (default).
func packages(entry string) []string {
	switch entry {
	case "all":
		return []string{"github.com/go-acme/lego/v4/providers/dns"}
	case "default":
		entry = strings.Join(dnsproviders.Default, "+")
	}
	var out []string
	for _, code := range strings.Split(entry, "+") {
		out = append(out, "github.com/go-acme/lego/v4/providers/dns/"+code)
	}
	return out
}

// measure builds and runs the program linking pkgs (none for the baseline), and reads what it
// prints.
func measure(dir string, pkgs []string) (memory, error) {
	imports := ""
	for _, pkg := range pkgs {
		imports += fmt.Sprintf("\t_ %q\n", pkg)
	}
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte(fmt.Sprintf(program, imports)), 0o600); err != nil {
		return memory{}, err
	}
	bin := filepath.Join(dir, "probe")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, src)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return memory{}, fmt.Errorf("go build: %v: %s", err, bytes.TrimSpace(out))
	}
	info, err := os.Stat(bin)
	if err != nil {
		return memory{}, err
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		return memory{}, err
	}
	m := memory{binaryMB: float64(info.Size()) / 1e6}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var key string
		var kb int
		if _, err := fmt.Sscanf(line, "%s %d kB", &key, &kb); err != nil {
			return memory{}, fmt.Errorf("reading %q: %w", line, err)
		}
		switch key {
		case "VmRSS:":
			m.rss = kb
		case "RssAnon:":
			m.anon = kb
		case "RssFile:":
			m.file = kb
		}
	}
	return m, nil
}
