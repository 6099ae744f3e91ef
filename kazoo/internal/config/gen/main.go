// Command gen writes kazoo/internal/config/params_gen.go from cshim/kz_params.def
// (go generate ./kazoo/internal/config; TestGeneratedKeys fails when it is stale).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kazoo-so/kazoo-go/kazoo/paramsdef"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	for { // the repository root: where go.mod is
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return fmt.Errorf("no go.mod above the working directory")
		}
		root = parent
	}
	entries, err := paramsdef.Read(root)
	if err != nil {
		return err
	}
	src, err := paramsdef.GoSource(entries)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, "kazoo/internal/config/params_gen.go"), src, 0o644)
}
