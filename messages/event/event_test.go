package event

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const root = "../.."

// declared is every Name constant in this package, by identifier.
func declared(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "event.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, id := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					t.Fatalf("%s is not a string literal", id.Name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out[id.Name] = v
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no event names found in event.go")
	}
	return out
}

// readmeEvents is every name in the first column of the README's "Logs" table.
func readmeEvents(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n## Logs")
	if start < 0 {
		t.Fatal(`README has no "## Logs" section`)
	}
	section := text[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	names := map[string]bool{}
	tick := regexp.MustCompile("`([a-z0-9_]+)`")
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || !strings.HasPrefix(line, "| `") {
			continue
		}
		for _, m := range tick.FindAllStringSubmatch(cells[1], -1) {
			names[m[1]] = true
		}
	}
	return names
}

// sources parses every non-test Go file of the module outside this package.
func sources(t *testing.T) map[string]*ast.File {
	t.Helper()
	out := map[string]*ast.File{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		out[path] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEveryEventIsInTheREADMEAndEveryREADMEEventExists(t *testing.T) {
	readme := readmeEvents(t)
	values := map[string]bool{}
	for _, v := range declared(t) {
		values[v] = true
		if !readme[v] {
			t.Errorf("event %q is emitted but missing from the README's Logs table", v)
		}
	}
	for v := range readme {
		if !values[v] {
			t.Errorf("the README lists event %q, which the code does not declare", v)
		}
	}
}

// TestEveryDeclaredEventIsEmittedAndNoneIsALiteral keeps the names typed: a log call names its
// event through this package, and no name is declared that nothing emits.
func TestEveryDeclaredEventIsEmittedAndNoneIsALiteral(t *testing.T) {
	used := map[string]bool{}
	var literals []string
	for path, f := range sources(t) {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && id.Name == "event" {
					used[n.Sel.Name] = true
				}
			case *ast.CallExpr:
				for i := 0; i+1 < len(n.Args); i++ {
					key, ok := n.Args[i].(*ast.BasicLit)
					if !ok || key.Value != `"event"` {
						continue
					}
					if lit, ok := n.Args[i+1].(*ast.BasicLit); ok {
						literals = append(literals, path+": "+lit.Value)
					}
				}
			}
			return true
		})
	}
	sort.Strings(literals)
	for _, l := range literals {
		t.Errorf("event name written as a literal, not through package event: %s", l)
	}
	for id, v := range declared(t) {
		if !used[id] {
			t.Errorf("event.%s (%q) is declared but never emitted", id, v)
		}
	}
}
