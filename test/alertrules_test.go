package test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// The alert rules and their promtool tests live beside the collector; promtool runs them in CI.
const (
	alertRules     = "../cmd/provisioner/status/prometheus/rules.yml"
	alertRulesTest = "../cmd/provisioner/status/prometheus/rules_test.yml"
)

var (
	metricName = regexp.MustCompile(`dfp_letsencrypt_[a-z_]+`)
	seriesLine = regexp.MustCompile(`series: '(dfp_letsencrypt_[a-z_]+)\{([^}]*)\}'`)
	labelName  = regexp.MustCompile(`([a-z_]+)="`)
)

// checkAlertRules fails t unless every metric the rules query is in families (a real scrape), and
// every series the rules' tests feed has a name and label names that the scrape has too, beside
// the job and instance labels a scrape adds.
func checkAlertRules(t *testing.T, families map[string]*dto.MetricFamily) {
	t.Helper()
	rules, err := os.ReadFile(alertRules)
	if err != nil {
		t.Fatal(err)
	}
	queried := metricName.FindAllString(string(rules), -1)
	if len(queried) == 0 {
		t.Fatalf("%s queries no dfp_letsencrypt_ metric", alertRules)
	}
	for _, name := range queried {
		if families[name] == nil {
			t.Errorf("%s queries %s, which /metrics does not export", alertRules, name)
		}
	}
	tests, err := os.ReadFile(alertRulesTest)
	if err != nil {
		t.Fatal(err)
	}
	series := seriesLine.FindAllStringSubmatch(string(tests), -1)
	if len(series) == 0 {
		t.Fatalf("%s feeds no dfp_letsencrypt_ series", alertRulesTest)
	}
	for _, s := range series {
		name, labels := s[1], s[2]
		var fed []string
		for _, l := range labelName.FindAllStringSubmatch(labels, -1) {
			if l[1] != "job" && l[1] != "instance" {
				fed = append(fed, l[1])
			}
		}
		slices.Sort(fed)
		f := families[name]
		if f == nil || len(f.Metric) == 0 {
			t.Errorf("%s feeds %s, which /metrics does not export", alertRulesTest, name)
			continue
		}
		var scraped []string
		for _, l := range f.Metric[0].Label {
			scraped = append(scraped, l.GetName())
		}
		slices.Sort(scraped)
		if !slices.Equal(fed, scraped) {
			t.Errorf("%s feeds %s with labels {%s}; /metrics gives it {%s}", alertRulesTest, name,
				strings.Join(fed, ","), strings.Join(scraped, ","))
		}
	}
}
