package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/forecast"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

// built is the real command, compiled once per test process: linking every DNS provider's SDK
// takes seconds, and the tests that run the binary would each pay them.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// buildBinary returns the real command, compiling it on the first call.
func buildBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "provisioner-bin-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "provisioner")
		cmd := exec.Command("go", "build", "-o", built.bin, "../cmd/provisioner")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func TestBinaryBadEnvironmentStopsWithOneLine(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	cmd := exec.Command(bin)
	cmd.Env = []string{"PROXY_ADDRESS=proxy", "KEY_TYPE=dsa"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit = %v, want status 2", err)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "config: KEY_TYPE: ") {
		t.Fatalf("stderr = %q, want one line naming KEY_TYPE", stderr.String())
	}
}

// The built binary provisions a name and, on SIGTERM, stops cleanly with status 0.
func TestBinaryProvisionsAndStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	w := newWorld(t)
	w.Env["LOG_LEVEL"] = "info"
	cmd := exec.Command(bin)
	for k, v := range w.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	uploaded, drained := make(chan struct{}), make(chan struct{})
	logs := &testkit.LogBuffer{}
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(stdout)
		once := false
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			if !once && strings.Contains(sc.Text(), `"event":"`+string(event.CertificateUploaded)+`"`) {
				once = true
				close(uploaded)
			}
		}
	}()
	select {
	case <-uploaded:
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("no certificate uploaded within 90s; log:\n%s", logs.String())
	}
	// The built binary takes the swarm listener's notifications on its internal port, and its
	// pre-flight took the CA's route (the names resolve to this machine).
	polls := w.DFP.ConfigReads()
	notify(t, w, "create", "web") // logged at debug only: a flood must not grow the log
	eventuallyLogged(t, "the poll the notification asks for", 10*time.Second, logs, func() bool { return w.DFP.ConfigReads() > polls })
	if n := len(logs.Events(event.PreflightViaProxy)); n != 0 {
		t.Errorf("the pre-flight fell back to the proxy %d times; the CA's route is reachable here", n)
	}
	if out, err := health(bin, w); err != nil {
		t.Errorf("provisioner health against the running service: %v\n%s", err, out)
	}
	if _, ok := value(scrape(t, w), "dfp_letsencrypt_certificate_ready_status", map[string]string{}); !ok {
		t.Error("the binary's /metrics has no certificate_ready_status series")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		<-drained // Wait closes the pipe: every line must be read first (os/exec's rule)
		waited <- cmd.Wait()
	}()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("after SIGTERM: %v, want exit 0; log:\n%s", err, logs.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("did not exit within 60s of SIGTERM")
	}
	if len(logs.Events(event.ShutdownComplete)) != 1 {
		t.Errorf("no shutdown_complete line; log:\n%s", logs.String())
	}
	if _, err := health(bin, w); err == nil {
		t.Error("provisioner health exits 0 with the service stopped")
	}
	// status reads DATA_DIR alone, and agrees with what DFP holds.
	out, err := runWith(bin, w.Env, "status", "--json")
	if err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	var report struct {
		Names []struct {
			Name     string
			State    string
			NotAfter time.Time `json:"not_after"`
		}
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, out)
	}
	checked := 0
	for _, n := range report.Names {
		pem, ok := w.DFP.Cert(n.Name + ".pem")
		if !ok {
			continue
		}
		b, err := bundle.Parse(pem)
		if err != nil {
			t.Fatal(err)
		}
		if n.State != "valid" || !n.NotAfter.Equal(b.Leaf.NotAfter) {
			t.Errorf("status says %s %s, DFP holds a certificate until %s", n.Name, n.State, b.Leaf.NotAfter)
		}
		checked++
	}
	if checked == 0 {
		t.Errorf("status lists none of the names DFP holds:\n%s", out)
	}
	if len(w.DFP.CertNames()) == 0 {
		t.Error("the stand-in holds no certificate")
	}
}

func TestBinaryRetryNowCommand(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	dataDir := t.TempDir()
	cmd := exec.Command(bin, "retry-now", "Example.COM")
	cmd.Env = []string{"DATA_DIR=" + dataDir}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("retry-now: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "retry-now", "example.com")); err != nil {
		t.Fatalf("no request left for the service: %v", err)
	}
	for _, args := range [][]string{{"retry-now"}, {"bogus"}, {"retry-now", "../etc"}} {
		err := exec.Command(bin, args...).Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 {
			t.Errorf("%v exited %v, want a failure", args, err)
		}
	}
}

// Killed with SIGKILL at random moments and started again, the service never orders a name whose
// certificate it had already stored, its ledger stays readable, and every name ends up served.
func TestBinaryKilledAtRandomLosesNothing(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	w := newWorld(t)
	onlyDomains(w, "k1.test,k2.test,k3.test")
	w.Env["LOG_LEVEL"] = "info"
	ledger := filepath.Join(w.Env["DATA_DIR"], "ratelimits", store.CAKey(w.CA.DirectoryURL)+".json")
	obtained := map[string]bool{}

	// runUntil runs the binary until stop holds (or a minute passes), and says whether it held.
	runUntil := func(stop func(*testkit.LogBuffer) bool, kill bool) (*testkit.LogBuffer, bool) {
		cmd := exec.Command(bin)
		for k, v := range w.Env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		logs := &testkit.LogBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		reached := stop(logs)
		for !reached && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			reached = stop(logs)
		}
		if kill {
			_ = cmd.Process.Kill()
		} else {
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
		_ = cmd.Wait()
		return logs, reached
	}
	check := func(logs *testkit.LogBuffer) {
		for _, e := range logs.Events(event.IssuanceStarted) {
			if obtained[e["domain"].(string)] {
				t.Errorf("%s ordered again after its certificate was stored", e["domain"])
			}
		}
		for _, e := range logs.Events(event.CertificateObtained) {
			obtained[e["domain"].(string)] = true
		}
		if data, err := os.ReadFile(ledger); err == nil {
			var v map[string]any
			if err := json.Unmarshal(data, &v); err != nil {
				t.Errorf("ledger torn by SIGKILL: %v", err)
			}
		}
	}

	// Kill mid-order, right after a certificate is stored, and at arbitrary moments.
	midOrder := func(l *testkit.LogBuffer) bool { return len(l.Events(event.IssuanceStarted)) > 0 }
	stored := func(l *testkit.LogBuffer) bool { return len(l.Events(event.CertificateObtained)) > 0 }
	moments := []struct {
		what  string
		now   func(*testkit.LogBuffer) bool
		delay time.Duration // instead of now: this long after the start
	}{
		{what: "mid-order", now: midOrder},
		{what: "just after a certificate was stored", now: stored},
		{what: "after 700 ms", delay: 700 * time.Millisecond},
		{what: "after 4.5 s", delay: 4500 * time.Millisecond},
		{what: "mid-order again", now: midOrder},
	}
	for _, m := range moments {
		now := m.now
		if m.delay > 0 {
			start := time.Now()
			now = func(*testkit.LogBuffer) bool { return time.Since(start) > m.delay }
		} else if len(obtained) == 3 {
			t.Logf("not killed %s: every name is stored, so no order comes", m.what)
			continue
		}
		logs, reached := runUntil(now, true)
		if !reached {
			t.Fatalf("the moment to kill (%s) never came; log:\n%s", m.what, logs.String())
		}
		check(logs)
		t.Logf("killed %s: %d of 3 names stored so far", m.what, len(obtained))
	}
	final, _ := runUntil(func(*testkit.LogBuffer) bool { return len(w.DFP.CertNames()) == 3 }, false)
	check(final)
	if len(w.DFP.CertNames()) != 3 {
		t.Fatalf("after the kills DFP holds %v; log:\n%s", w.DFP.CertNames(), final.String())
	}
}

// startBinary starts the built command with the world's environment, logging into a buffer.
func startBinary(t *testing.T, bin string, w *World) (*exec.Cmd, *testkit.LogBuffer) {
	t.Helper()
	cmd := exec.Command(bin)
	for k, v := range w.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs := &testkit.LogBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, logs
}

func eventuallyLogged(t *testing.T, what string, timeout time.Duration, logs *testkit.LogBuffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; log:\n%s", timeout, what, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two processes on one DATA_DIR (a start-first update, a second replica): the second stands by,
// orders and writes nothing, and takes over within seconds when the holder is SIGKILLed. The CA
// sees no duplicate order and one account registration.
func TestBinaryTwoInstancesOnOneDataDir(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	w := newWorld(t)
	onlyDomains(w, "one.test,two.test")
	w.Env["LOG_LEVEL"] = "info"

	first, firstLogs := startBinary(t, bin, w)
	eventuallyLogged(t, "the first instance started", 30*time.Second, firstLogs, func() bool {
		return len(firstLogs.Events(event.ServiceStarted)) == 1
	})
	standbyOps, err := FreeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	firstOps := w.Env["METRICS_ADDR"]
	w.Env["METRICS_ADDR"] = standbyOps // in its own container it would have its own port
	_, secondLogs := startBinary(t, bin, w)
	eventuallyLogged(t, "the second instance standing by", 30*time.Second, secondLogs, func() bool {
		return len(secondLogs.Events(event.Standby)) == 1
	})
	eventuallyLogged(t, "the standby's health endpoint", 10*time.Second, secondLogs, func() bool {
		code, _ := check(t, w, "/healthz")
		return code == http.StatusOK
	})
	if code, body := check(t, w, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("standby /readyz = %d %v, want 503", code, body)
	}
	w.Env["METRICS_ADDR"] = firstOps
	if code, _ := check(t, w, "/readyz"); code != http.StatusOK {
		t.Errorf("holder /readyz = %d, want 200", code)
	}
	standby := secondLogs.Events(event.Standby)[0]
	if holder, _ := standby["holder"].(string); !strings.Contains(holder, fmt.Sprintf("pid %d ", first.Process.Pid)) {
		t.Errorf("standby names holder %q, want the first instance's pid %d", holder, first.Process.Pid)
	}
	eventuallyLogged(t, "both names uploaded by the first instance", 60*time.Second, firstLogs, func() bool {
		return len(w.DFP.CertNames()) == 2
	})
	if n := len(secondLogs.Events(event.IssuanceStarted)) + len(secondLogs.Events(event.ServiceStarted)); n != 0 {
		t.Fatalf("the standby did work while the first held DATA_DIR; log:\n%s", secondLogs.String())
	}

	_ = first.Process.Kill()
	killed := time.Now()
	eventuallyLogged(t, "the standby taking over", 30*time.Second, secondLogs, func() bool {
		return len(secondLogs.Events(event.ServiceStarted)) == 1
	})
	t.Logf("the standby took over %s after the holder's SIGKILL", time.Since(killed).Round(100*time.Millisecond))
	eventuallyLogged(t, "the standby's certificates loaded", 30*time.Second, secondLogs, func() bool {
		return len(secondLogs.Events(event.CertificateLoaded)) == 2
	})
	if n := w.CA.Orders(); n != 2 {
		t.Errorf("the CA received %d orders for 2 names", n)
	}
	registered := len(firstLogs.Events(event.AccountRegistered)) + len(secondLogs.Events(event.AccountRegistered))
	if registered != 1 || len(secondLogs.Events(event.LockAcquired)) != 1 {
		t.Errorf("account_registered %d times (want 1), lock_acquired %d times (want 1)", registered, len(secondLogs.Events(event.LockAcquired)))
	}
}

// health runs "provisioner health" with the world's environment.
func health(bin string, w *World) ([]byte, error) {
	cmd := exec.Command(bin, "health")
	cmd.Env = []string{"METRICS_ADDR=" + w.Env["METRICS_ADDR"]}
	return cmd.CombinedOutput()
}

// runWith runs the command with env and arguments, and returns its combined output.
func runWith(bin string, env map[string]string, args ...string) ([]byte, error) {
	cmd := exec.Command(bin, args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd.CombinedOutput()
}

// status on a DATA_DIR that is missing says so in one line; on an empty one it prints a table.
func TestBinaryStatusOnEmptyAndMissingDataDir(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	missing := filepath.Join(t.TempDir(), "nothing-here")
	out, err := runWith(bin, map[string]string{"DATA_DIR": missing}, "status")
	if err == nil || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 || !strings.Contains(string(out), "DATA_DIR") {
		t.Errorf("status on a missing DATA_DIR: %v, %q; want exit 1 and one line naming DATA_DIR", err, out)
	}
	out, err = runWith(bin, map[string]string{"DATA_DIR": t.TempDir()}, "status")
	if err != nil || !strings.Contains(string(out), "0 names") {
		t.Errorf("status on an empty DATA_DIR: %v\n%s", err, out)
	}
}

// plan on an empty DATA_DIR with what-if names: the JSON plan has them all; a bad flag exits 2
// with the reason.
func TestBinaryPlanCommand(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	env := map[string]string{"DATA_DIR": t.TempDir(), "STAGING": "false"}
	out, err := runWith(bin, env, "plan", "--days", "30", "--add", "60@example.com", "--json")
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	var report forecast.Report
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, out)
	}
	if len(report.Days) != 30 || len(report.Pending) != 60 || report.Totals.New != 60 || report.Totals.Deferred != 15 || report.Profile != "classic" {
		t.Errorf("plan of 60 new names under one domain: %d days, %d pending, totals %+v, profile %q; want 30, 60, 15 deferred, classic",
			len(report.Days), len(report.Pending), report.Totals, report.Profile)
	}
	out, err = runWith(bin, env, "plan", "--days", "0")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "--days 0") {
		t.Errorf("plan --days 0: %v, %q; want exit 2 naming --days", err, out)
	}
}
