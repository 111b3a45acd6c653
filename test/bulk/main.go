// Command bulk measures the service at scale, from the built binary, against in-process Pebble and
// the DFP stand-in: for each N it lists N new services in DFP, starts the service with
// RATE_LIMITS=none, and prints how fast the names were issued and served, the resident memory once
// idle, the ledger's writes, and how long a restart with N stored names takes (with the orders it
// placed: there should be none). With -lego it times lego's own CLI on a CA of its own for the same
// names, -parallel at a time, in the same run.
//
//	go run ./test/bulk                                 # N = 100 and 1000
//	go run ./test/bulk -n 100 -lego "$(command -v lego)"
//	go run ./test/bulk -n 10000 -idle 30s
//	go run ./test/bulk -n 1000 -validity 20m -soak 1h  # then RSS every 5 minutes while they renew
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
)

func main() {
	counts := flag.String("n", "100,1000", "comma-separated numbers of names")
	lego := flag.String("lego", "", "path to lego's CLI, to time it on the same names")
	legoMax := flag.Int("lego-max", 1000, "largest N the lego CLI is timed for")
	flag.IntVar(&issueMax, "issue-max", 1000, "largest N issued at Pebble; larger N are written to DATA_DIR and DFP as stored certificates, for the start and memory figures")
	parallel := flag.Int("parallel", 8, "lego CLI processes at a time")
	concurrency := flag.Int("concurrency", 32, "the service's ORDER_CONCURRENCY")
	idle := flag.Duration("idle", 20*time.Second, "how long the service idles before its memory is read")
	retryAfter := flag.Duration("retry-after", 0, "Retry-After on Pebble's challenge answers (0: none, as Let's Encrypt; lego then polls after about 5 s)")
	flag.StringVar(&buildTags, "tags", "", "build tags for the binary (allproviders: every lego DNS provider)")
	flag.StringVar(&profiles, "profiles", "", "a folder for the service's profiles: CPU while it issues, heap when idle")
	validity := flag.Duration("validity", 0, "lifetime of Pebble's certificates (0: 90 days)")
	flag.DurationVar(&soakFor, "soak", 0, "after issuing, keep the service running this long, renewing, and print its RSS every -every")
	flag.DurationVar(&soakEvery, "every", 5*time.Minute, "how often -soak prints the RSS")
	flag.Parse()
	ca := testca.Options{ChallengeRetryAfter: *retryAfter, OneRequestAtATime: true, ValiditySeconds: uint64(validity.Seconds())}
	if err := run(*counts, *lego, *legoMax, *parallel, *concurrency, *idle, ca); err != nil {
		fmt.Fprintln(os.Stderr, "bulk:", err)
		os.Exit(1)
	}
}

// profiles is the -profiles folder, "" for none.
var profiles string

// buildTags are the binary's build tags (-tags: "allproviders" links every lego DNS provider).
var buildTags string

// issueMax is the largest N issued; above it the names start stored (-issue-max).
var issueMax int

// soakFor and soakEvery are -soak and -every: how long the service keeps running after issuing,
// and how often its RSS is printed meanwhile.
var soakFor, soakEvery time.Duration

func run(counts, lego string, legoMax, parallel, concurrency int, idle time.Duration, ca testca.Options) error {
	dir, err := os.MkdirTemp("", "dfp-letsencrypt-bulk-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "provisioner")
	// Built as the Dockerfile builds the image's binary.
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-tags", buildTags, "-o", bin, "github.com/dfp-letsencrypt/provisioner/cmd/provisioner")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	for _, field := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n < 1 {
			return fmt.Errorf("-n: %q is not a positive number", field)
		}
		r, err := measure(bin, filepath.Join(dir, "n"+strconv.Itoa(n)), n, concurrency, idle, ca)
		if err != nil {
			return fmt.Errorf("N=%d: %w", n, err)
		}
		r.print()
		if lego != "" && n <= legoMax {
			took, cpu, err := timeLego(lego, filepath.Join(dir, "lego"+strconv.Itoa(n)), n, parallel, ca)
			if err != nil {
				return fmt.Errorf("lego N=%d: %w", n, err)
			}
			fmt.Printf("N=%-6d lego CLI, %d at a time: %s, %.1f names/s, %s CPU (%.1f ms per name); the service was %.1fx as fast, on %.1fx less CPU\n",
				n, parallel, took.Round(10*time.Millisecond), float64(n)/took.Seconds(), cpu.Round(10*time.Millisecond),
				float64(cpu.Milliseconds())/float64(n), took.Seconds()/r.issued.Seconds(), cpu.Seconds()/r.cpu.Seconds())
		}
	}
	return nil
}

// result is one N's figures.
type result struct {
	n                  int
	seeded             bool          // the names were written as stored certificates, not issued
	issued             time.Duration // start to every name served by the stand-in
	firstHalf, second  time.Duration // the time the first and the second half of the names took
	orders             int64         // orders Pebble saw
	cpu                time.Duration // the service's user and system time, issuing and idling
	ledgerWrites       float64
	idleRSS            int64 // bytes, after idling
	idleFileRSS        int64 // of it, file-backed (the executable's pages)
	idleMemory         string
	restart            time.Duration
	restartOrders      int64
	restartIdleRSS     int64
	restartFileRSS     int64
	restartMemory      string
	restartFirstUpload int // uploads to DFP after the restart (the stand-in kept its certificates)
}

func (r result) print() {
	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	if r.seeded {
		fmt.Printf("N=%-6d not issued (over -issue-max): started with %d stored certificates, DFP holding the same\n", r.n, r.n)
		fmt.Printf("N=%-6d start: every name loaded in %s, %d orders, %d uploads; idle RSS after it %s (%.0f KiB per name); Go's view: %s\n",
			r.n, r.restart.Round(10*time.Millisecond), r.restartOrders, r.restartFirstUpload, mib(r.restartIdleRSS),
			float64(r.restartIdleRSS)/1024/float64(r.n), r.restartMemory)
		return
	}
	fmt.Printf("N=%-6d issued and served in %s: %.1f names/s (first half %.1f/s, second half %.1f/s); %d orders, %v ledger writes; %s CPU (%.1f ms per name)\n",
		r.n, r.issued.Round(10*time.Millisecond), float64(r.n)/r.issued.Seconds(),
		float64(r.n/2)/r.firstHalf.Seconds(), float64(r.n-r.n/2)/r.second.Seconds(), r.orders, r.ledgerWrites,
		r.cpu.Round(10*time.Millisecond), float64(r.cpu.Milliseconds())/float64(r.n))
	fmt.Printf("N=%-6d idle RSS %s (%.0f KiB per name; file-backed %s); Go's view: %s\n", r.n, mib(r.idleRSS),
		float64(r.idleRSS)/1024/float64(r.n), mib(r.idleFileRSS), r.idleMemory)
	fmt.Printf("N=%-6d restart: every name loaded in %s, %d orders, %d uploads; idle RSS after it %s (%.0f KiB per name; file-backed %s); Go's view: %s\n",
		r.n, r.restart.Round(10*time.Millisecond), r.restartOrders, r.restartFirstUpload, mib(r.restartIdleRSS),
		float64(r.restartIdleRSS)/1024/float64(r.n), mib(r.restartFileRSS), r.restartMemory)
}

func measure(bin, dir string, n, concurrency int, idle time.Duration, ca testca.Options) (result, error) {
	r := result{n: n}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return r, err
	}
	w, err := test.NewWorld(dir, ca)
	if err != nil {
		return r, err
	}
	defer w.Close()
	w.DFP.Restart(false)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("n%d.bulk.test", i)
		q := url.Values{"serviceName": {fmt.Sprintf("svc%d", i)}, "serviceDomain": {names[i]}, "port": {"80"}}
		if err := get(w.DFP.URL() + "/v1/docker-flow-proxy/reconfigure?" + q.Encode()); err != nil {
			return r, err
		}
	}
	if n > issueMax {
		r.seeded = true
		if err := w.Seed(names); err != nil {
			return r, err
		}
	}
	w.Env["RATE_LIMITS"] = "none"
	// The default interval, as people run it: the test world's second would poll DFP's whole
	// config and sample the proxy every second, churn that no idle service sees.
	w.Env["DISCOVERY_INTERVAL"] = "30s"
	w.Env["ORDER_CONCURRENCY"] = strconv.Itoa(concurrency)
	w.Env["MAX_NAMES"] = strconv.Itoa(n + 100)
	w.Env["LOG_LEVEL"] = "info"
	w.Env["PPROF"] = strconv.FormatBool(profiles != "")
	for _, k := range []string{"GOGC", "GOMEMLIMIT", "GODEBUG"} { // the Go runtime's settings, to compare
		if v, ok := os.LookupEnv(k); ok {
			w.Env[k] = v
		}
	}

	if !r.seeded {
		if err := issue(bin, w, &r, idle); err != nil {
			return r, err
		}
	}

	uploads := len(w.DFP.Uploads())
	p, err := start(bin, w.Env)
	if err != nil {
		return r, err
	}
	defer p.stop()
	for p.count(event.CertificateLoaded) < n {
		if err := p.alive(); err != nil {
			return r, err
		}
		if time.Since(p.began) > time.Minute {
			return r, fmt.Errorf("restart: %d of %d names loaded after a minute", p.count(event.CertificateLoaded), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.restart = time.Since(p.began)
	time.Sleep(idle)
	r.restartOrders = w.CA.Orders() - r.orders
	r.restartFirstUpload = len(w.DFP.Uploads()) - uploads
	if r.restartIdleRSS, err = p.rss(); err != nil {
		return r, err
	}
	if r.restartFileRSS, err = p.fileRSS(); err != nil {
		return r, err
	}
	if err := profile(w, fmt.Sprintf("heap-%d-restarted.pprof", n), "heap?gc=1"); err != nil {
		return r, err
	}
	if r.restartMemory, err = goMemory(w.Env["METRICS_ADDR"]); err != nil {
		return r, err
	}
	if ok, _ := metric(w.Env["METRICS_ADDR"], `dfp_letsencrypt_reconciliations_total{result="ok"}`); ok < 1 {
		return r, fmt.Errorf("restart: DFP's list was never compared with the store")
	}
	return r, nil
}

// issue runs the service on an empty DATA_DIR until DFP serves every name, then lets it idle.
func issue(bin string, w *test.World, r *result, idle time.Duration) error {
	n := r.n
	p, err := start(bin, w.Env)
	if err != nil {
		return err
	}
	cpuProfile := make(chan error, 1)
	go func() { cpuProfile <- profile(w, fmt.Sprintf("cpu-%d.pprof", n), "profile?seconds=8") }()
	half := time.Duration(0)
	for served := 0; served < n; served = len(w.DFP.CertNames()) {
		if half == 0 && served >= n/2 {
			half = time.Since(p.began)
		}
		if err := p.alive(); err != nil {
			return err
		}
		if time.Since(p.began) > time.Duration(n)*time.Second+time.Minute {
			p.stop()
			return fmt.Errorf("only %d of %d names served after %s", served, n, time.Since(p.began))
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.issued = time.Since(p.began)
	if half == 0 {
		half = r.issued
	}
	r.firstHalf, r.second = half, r.issued-half
	r.orders = w.CA.Orders()
	if err := <-cpuProfile; err != nil {
		return err
	}
	time.Sleep(idle)
	r.idleRSS, err = p.rss()
	if err != nil {
		return err
	}
	if r.idleFileRSS, err = p.fileRSS(); err != nil {
		return err
	}
	if err := soak(p, w, n, r.idleRSS); err != nil {
		return err
	}
	if err := profile(w, fmt.Sprintf("heap-%d.pprof", n), "heap?gc=1"); err != nil {
		return err
	}
	if r.ledgerWrites, err = metric(w.Env["METRICS_ADDR"], "dfp_letsencrypt_ledger_writes_total"); err != nil {
		return err
	}
	if r.idleMemory, err = goMemory(w.Env["METRICS_ADDR"]); err != nil {
		return err
	}
	if err := p.stop(); err != nil {
		return err
	}
	r.cpu = p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()
	return nil
}

// soak keeps the service running for -soak, printing every -every its RSS at that moment (a wave
// of renewals may be running) and at the next idle moment (no order for quietFor) against the idle
// figure after issuing, with the orders Pebble saw: memory that grows with renewals shows in the
// idle column, which compares like with like.
func soak(p *process, w *test.World, n int, start int64) error {
	pct := func(rss int64) float64 { return 100 * float64(rss-start) / float64(start) }
	for began := time.Now(); time.Since(began) < soakFor; {
		time.Sleep(min(soakEvery, soakFor-time.Since(began)))
		if err := p.alive(); err != nil {
			return err
		}
		now, err := p.rss()
		if err != nil {
			return err
		}
		waited, quiet := waitQuiet(w)
		idle, err := p.rss()
		if err != nil {
			return err
		}
		then := fmt.Sprintf("idle %s later", waited.Round(time.Second))
		if !quiet {
			then = fmt.Sprintf("never idle (renewing throughout); %s later", waited.Round(time.Second))
		}
		fmt.Printf("N=%-6d soak %s: RSS %.1f MiB (%+.1f%% of idle after issuing); %s: %.1f MiB (%+.1f%%); %d orders so far\n", n,
			time.Since(began).Round(time.Minute), float64(now)/(1<<20), pct(now), then, float64(idle)/(1<<20), pct(idle), w.CA.Orders())
	}
	return nil
}

// quietFor is how long no order must come for the service to count as idle: its release of a
// wave's memory comes within 5 s of the wave's end. Renewing 1,000 names on 20-minute certificates
// orders about once a second, and is never idle.
const quietFor = 10 * time.Second

// waitQuiet waits, at most a minute, until Pebble has seen no new order for quietFor, and returns
// how long it waited and whether it came.
func waitQuiet(w *test.World) (time.Duration, bool) {
	began := time.Now()
	last, since := w.CA.Orders(), time.Now()
	for time.Since(since) < quietFor {
		if time.Since(began) > time.Minute {
			return time.Since(began), false
		}
		time.Sleep(time.Second)
		if o := w.CA.Orders(); o != last {
			last, since = o, time.Now()
		}
	}
	return time.Since(began), true
}

// profile saves one of the service's profiles in the -profiles folder, if there is one.
func profile(w *test.World, file, which string) error {
	if profiles == "" {
		return nil
	}
	var resp *http.Response
	var err error
	for try := 0; ; try++ { // the first is asked for as the service starts
		if resp, err = http.Get("http://" + w.Env["METRICS_ADDR"] + "/debug/pprof/" + which); err == nil {
			break
		}
		if try == 50 {
			return fmt.Errorf("profile %s: %w", which, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: %s", which, resp.Status)
	}
	if err := os.MkdirAll(profiles, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(profiles, file))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("profile %s: %w", which, err)
	}
	return f.Close()
}

// process is the service's binary, running, with the names its log mentioned per event.
type process struct {
	cmd    *exec.Cmd
	began  time.Time
	exited chan struct{}
	err    error

	mu     sync.Mutex
	events map[event.Name]map[string]bool
}

func start(bin string, env map[string]string) (*process, error) {
	p := &process{cmd: exec.Command(bin), exited: make(chan struct{}), events: map[event.Name]map[string]bool{}}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.cmd.Stderr = os.Stderr
	p.began = time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		lines := bufio.NewScanner(out)
		lines.Buffer(make([]byte, 64<<10), 1<<20)
		for lines.Scan() {
			var line struct {
				Event  event.Name `json:"event"`
				Domain string     `json:"domain"`
			}
			if json.Unmarshal(lines.Bytes(), &line) != nil {
				continue
			}
			p.mu.Lock()
			if p.events[line.Event] == nil {
				p.events[line.Event] = map[string]bool{}
			}
			p.events[line.Event][line.Domain] = true
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		<-read // os/exec: read everything before Wait closes the pipe
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// count is how many distinct names the log mentioned with the event.
func (p *process) count(e event.Name) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events[e])
}

func (p *process) alive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("the service exited: %v", p.err)
	default:
		return nil
	}
}

// stop sends SIGTERM and waits for the exit.
func (p *process) stop() error {
	if p.alive() != nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("the service did not stop within 30s of SIGTERM")
	}
}

// rss reads the process's resident set size from /proc.
func (p *process) rss() (int64, error) { return p.status("VmRSS:") }

// fileRSS is the part of the RSS that is file-backed: the executable's own pages, mostly.
func (p *process) fileRSS() (int64, error) { return p.status("RssFile:") }

// status reads one kB figure of /proc/<pid>/status.
func (p *process) status(key string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("reading the service's RSS: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s %q: %w", key, rest, err)
			}
			return kib * 1024, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, p.cmd.Process.Pid)
}

// metric reads one unlabelled sample from the service's /metrics.
func metric(addr, name string) (float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	return 0, fmt.Errorf("%s not in /metrics (%v)", name, lines.Err())
}

// goMemory says where the Go runtime's memory is, from its collector's series.
func goMemory(addr string) (string, error) {
	goroutines, err := metric(addr, "go_goroutines")
	if err != nil {
		return "", err
	}
	parts := []string{fmt.Sprintf("%.0f goroutines", goroutines)}
	for _, m := range []struct{ name, label string }{
		{"go_memstats_heap_inuse_bytes", "heap in use"},
		{"go_memstats_heap_idle_bytes", "heap free"},
		{"go_memstats_heap_released_bytes", "of it returned"},
		{"go_memstats_stack_inuse_bytes", "stacks"},
		{"go_memstats_sys_bytes", "all from the OS"},
	} {
		v, err := metric(addr, m.name)
		if err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("%s %.1f MiB", m.label, v/(1<<20)))
	}
	return strings.Join(parts, ", "), nil
}

func get(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}

// timeLego issues n names with lego's CLI, parallel processes at a time, from one account: the
// first name registers it alone, as a script would, then the rest run side by side. Its challenges
// are answered from a webroot by a plain file server.
func timeLego(bin, dir string, n, parallel int, opts testca.Options) (took, cpu time.Duration, err error) {
	webroot := filepath.Join(dir, "webroot")
	if err := os.MkdirAll(webroot, 0o700); err != nil {
		return 0, 0, err
	}
	files := &http.Server{Handler: http.FileServer(http.Dir(webroot)), ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	go func() { _ = files.Serve(ln) }()
	defer files.Close()
	opts.ChallengePort, _ = testca.Port(ln.Addr().String())
	ca, err := testca.Start(opts)
	if err != nil {
		return 0, 0, err
	}
	defer ca.Close()
	roots := filepath.Join(dir, "pebble-tls.pem")
	if err := os.WriteFile(roots, ca.TLSRootPEM, 0o600); err != nil {
		return 0, 0, err
	}
	var cpuMu sync.Mutex
	issue := func(ctx context.Context, name string) error {
		cmd := exec.CommandContext(ctx, bin, "--server", ca.DirectoryURL, "--email", "ops@example.test", "--accept-tos",
			"--path", filepath.Join(dir, "lego"), "--http", "--http.webroot", webroot, "--domains", name, "run")
		cmd.Env = append(os.Environ(), "LEGO_CA_CERTIFICATES="+roots)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("lego %s: %v\n%s", name, err, out)
		}
		cpuMu.Lock()
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		cpuMu.Unlock()
		return nil
	}
	begin := time.Now()
	if err := issue(context.Background(), "l0.bulk.test"); err != nil {
		return 0, 0, err
	}
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(parallel)
	for i := 1; i < n; i++ {
		name := fmt.Sprintf("l%d.bulk.test", i)
		g.Go(func() error { return issue(ctx, name) })
	}
	if err := g.Wait(); err != nil {
		return 0, 0, err
	}
	return time.Since(begin), cpu, nil
}
