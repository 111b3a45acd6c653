package actors

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/dfp-letsencrypt/provisioner/"

// floor says where a package of the module stands: the domain at the bottom, the adapters above
// it, the actors above those, the command on top. An import may only point to the same floor or
// lower; -1 is a package outside this rule (the tests' own packages).
func floor(pkg string) int {
	switch {
	case pkg == "messages" || strings.HasPrefix(pkg, "messages/"):
		return 0
	case pkg == "proxyapi", pkg == "webroot", strings.HasPrefix(pkg, "actors/adapters/"), pkg == "actors/async":
		return 1
	case strings.HasPrefix(pkg, "actors/"):
		return 2
	case strings.HasPrefix(pkg, "cmd/"):
		return 3
	}
	return -1
}

func TestNoImportRunsBackUp(t *testing.T) {
	root := ".."
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "test" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		from := filepath.ToSlash(rel)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			target, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			to, ours := strings.CutPrefix(target, module)
			if !ours {
				continue
			}
			checked++
			if floor(from) < 0 || floor(to) < 0 || floor(to) > floor(from) {
				t.Errorf("%s imports %s: %s is on floor %d, %s on floor %d (domain 0, adapters 1, actors 2, cmd 3; production code never imports test/)",
					path, to, from, floor(from), to, floor(to))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d imports of the module checked; the walk missed the tree", checked)
	}
}
