package main

import (
	"errors"
	"flag"
	"fmt"
	gotoken "go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mage-ipc/mage/magen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // a bad input file, or a file that could not be written
	exitUsage = 2
)

// run is magen's main, minus the process: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("magen", flag.ContinueOnError)
	flags.SetOutput(stderr)
	outDir := flags.String("out", "", "write generated files into `DIR` instead of beside each input")
	pkg := flags.String("package", "", "Go package `NAME` of the generated files")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: magen [-out DIR] [-package NAME] FILE.magen...")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if flags.NArg() == 0 {
		flags.Usage()
		return exitUsage
	}
	if *pkg != "" && (!gotoken.IsIdentifier(*pkg) || *pkg == "_") {
		fmt.Fprintf(stderr, "magen: -package %q is not a valid Go package name\n", *pkg)
		return exitUsage
	}
	if *outDir != "" {
		if info, err := os.Stat(*outDir); err != nil || !info.IsDir() {
			if err == nil {
				err = errors.New("not a directory")
			}
			fmt.Fprintf(stderr, "magen: -out %s: %v\n", *outDir, unwrapPath(err))
			return exitUsage
		}
	}
	opts := magen.Options{Package: *pkg, Command: commandLine(args), Version: magenVersion()}
	outputs, err := generate(dedup(flags.Args()), *outDir, opts)
	if err != nil {
		magen.PrintError(stderr, err)
		return exitError
	}
	for _, o := range outputs {
		if err := writeFile(o.path, o.data); err != nil {
			fmt.Fprintf(stderr, "magen: %v\n", err)
			return exitError
		}
	}
	_ = stdout // magen prints nothing on success
	return exitOK
}

// dedup drops inputs that name a file named before, so that
// `magen a.magen ./a.magen` generates a.magen once.
func dedup(inputs []string) []string {
	seen := map[string]bool{}
	out := inputs[:0:0]
	for _, in := range inputs {
		key := absPath(in)
		if !seen[key] {
			seen[key] = true
			out = append(out, in)
		}
	}
	return out
}

// absPath is the absolute form of name, which names one file however it
// was spelt.
func absPath(name string) string {
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return filepath.Clean(name)
}

// unwrapPath drops the *fs.PathError around err, whose path the caller
// already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

type output struct {
	path string
	data []byte
}

// generate loads and checks every input, then generates each; it writes
// nothing.
// opts.Package is the -package flag; each file's package is chosen from it.
func generate(inputs []string, outDir string, opts magen.Options) ([]output, error) {
	files, err := magen.Load(inputs...)
	if err != nil {
		return nil, err
	}
	var errs magen.ErrorList
	var outputs []output
	seen := map[string]string{}
	for i, f := range files {
		path := outputPath(inputs[i], outDir)
		if prev, ok := seen[absPath(path)]; ok {
			errs.Add(magen.Position{Filename: inputs[i]}, fmt.Sprintf("output %s would also be written for %s", path, prev))
			continue
		}
		seen[absPath(path)] = inputs[i]
		name := packageName(f, opts.Package, filepath.Dir(path))
		if name == "" {
			errs.Add(magen.Position{Filename: inputs[i]}, fmt.Sprintf(
				"no Go package name: the file has no package statement and the name of directory %s is not a Go identifier; add a package statement or pass -package", filepath.Dir(path)))
			continue
		}
		fileOpts := opts
		fileOpts.Package = name
		data, err := magen.Generate(f, fileOpts)
		if err != nil {
			// Positioned at the file, the package prefix would say
			// "magen:" twice.
			errs.Add(magen.Position{Filename: inputs[i]}, strings.TrimPrefix(err.Error(), "magen: "))
			continue
		}
		outputs = append(outputs, output{path: path, data: data})
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return outputs, nil
}

// outputPath is FILE.magen.go beside the input, or in outDir.
func outputPath(input, outDir string) string {
	name := filepath.Base(input) + ".go"
	if outDir == "" {
		return filepath.Join(filepath.Dir(input), name)
	}
	return filepath.Join(outDir, name)
}

// packageName chooses the Go package of one output file written into dir,
// or returns "" when nothing names one.
func packageName(f *magen.File, flagPkg, dir string) string {
	if flagPkg != "" {
		return flagPkg
	}
	if name := f.GoPackage(); name != "" {
		return name
	}
	if env := os.Getenv("GOPACKAGE"); env != "" && sameDir(dir, ".") {
		return env
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	return sanitize(filepath.Base(abs))
}

func sameDir(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// sanitize turns a directory name into a Go package name, or "".
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r == '_', r >= '0' && r <= '9' && b.Len() > 0:
			b.WriteRune(r)
		case r == '-' || r == '.':
			if b.Len() > 0 {
				b.WriteByte('_')
			}
		}
	}
	name := b.String()
	if !gotoken.IsIdentifier(name) {
		return ""
	}
	return name
}

// writeFile replaces path with data atomically, so that a reader never
// sees half a file.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".magen-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
