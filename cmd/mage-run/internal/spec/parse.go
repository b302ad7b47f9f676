package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"golang.org/x/sys/unix"
)

// The schemas of the four kinds of block. Attributes are not marked
// required: the parser reports a missing one itself, at the block's
// header rather than at its opening brace.
var (
	rootSchema = &hcl.BodySchema{
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "process", LabelNames: []string{"name"}},
			{Type: "pipe"},
			{Type: "log"},
		},
	}
	processSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "command"},
			{Name: "env"},
			{Name: "dir"},
			{Name: "count"},
			{Name: "stop_timeout"},
			{Name: "on_demand"},
			{Name: "after"},
			{Name: "invite"},
			{Name: "env_file"},
			{Name: "stop_signal"},
			{Name: "accept_timeout"},
			{Name: "required"},
			{Name: "announce"},
			{Name: "description"},
		},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "restart"},
			{Type: "ready"},
			{Type: "health"},
			{Type: "log"},
			{Type: "process", LabelNames: []string{"name"}},
		},
	}
	restartSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "policy"},
			{Name: "backoff"},
			{Name: "max_backoff"},
			{Name: "limit"},
			{Name: "reset_after"},
			{Name: "jitter"},
		},
	}
	pipeSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "from"},
			{Name: "to"},
		},
	}
)

// processName is what a process may be called: an endpoint splits at the
// first dot, and the name shows up in logs and graphs unquoted.
var processName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// Options says where a spec is read from and what it may refer to.
type Options struct {
	// Dir is the directory relative paths in the spec (dir, env_file,
	// and through dir, commands) are relative to. Empty means the
	// directory of the file name given to Parse.
	Dir string
	// Environ is what env.NAME refers to, as os.Environ gives it.
	Environ []string
	// ReadFile reads an env file. Nil means os.ReadFile.
	ReadFile func(path string) ([]byte, error)
}

// Parse reads a spec from src with mage-run's environment and the
// directory of filename: ParseWith with default Options.
func Parse(filename string, src []byte) (*Spec, hcl.Diagnostics) {
	return ParseWith(filename, src, Options{Environ: os.Environ()})
}

// ParseWith reads a spec from src; filename is used in positions, and
// for the spec's directory unless opts.Dir is set. It returns every
// problem it finds, sorted by position. When the diagnostics hold an
// error the spec is nil.
func ParseWith(filename string, src []byte, opts Options) (*Spec, hcl.Diagnostics) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		// Syntax errors make everything after them guesswork.
		return nil, diags
	}
	if opts.Dir == "" {
		opts.Dir = filepath.Dir(filename)
	}
	if abs, err := filepath.Abs(opts.Dir); err == nil {
		opts.Dir = abs
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	p := &parser{spec: &Spec{Dir: opts.Dir}, byName: make(map[string]*Process), opts: opts, ctx: evalContext(opts.Environ)}
	p.diags = diags
	p.root(file.Body)
	p.checkAfter()
	p.checkPipes()
	p.checkLogs()
	sortDiagnostics(p.diags)
	if p.diags.HasErrors() {
		return nil, p.diags
	}
	return p.spec, p.diags
}

// parser holds what Parse has read so far. Structural problems are found
// while decoding; those that need the whole file (pipes may name a process
// declared after them) once it is read.
type parser struct {
	spec   *Spec
	byName map[string]*Process
	diags  hcl.Diagnostics
	opts   Options
	// ctx is what expressions may use: see evalContext.
	ctx *hcl.EvalContext
}

func (p *parser) errorf(rng hcl.Range, format string, args ...any) {
	r := rng
	p.diags = append(p.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf(format, args...),
		Subject:  &r,
	})
}

func (p *parser) content(body hcl.Body, schema *hcl.BodySchema) *hcl.BodyContent {
	content, diags := body.Content(schema)
	p.diags = append(p.diags, diags...)
	return content
}

func (p *parser) root(body hcl.Body) {
	blocks := p.content(body, rootSchema).Blocks
	// The top-level log block is every process's default, wherever it is.
	p.topLog(blocks)
	for _, b := range blocks {
		switch b.Type {
		case "process":
			p.spec.Processes = append(p.spec.Processes, p.process(b, nil))
		case "pipe":
			p.spec.Pipes = append(p.spec.Pipes, p.pipe(b))
		}
	}
}

func (p *parser) process(b *hcl.Block, parent *Process) *Process {
	proc := &Process{
		Name:          b.Labels[0],
		Count:         DefaultCount,
		StopTimeout:   DefaultStopTimeout,
		StopSignal:    DefaultStopSignal,
		AcceptTimeout: DefaultAcceptTimeout,
		Invite:        true,
		Dir:           p.spec.Dir,
		Parent:        parent,
		DeclRange:     b.DefRange,
	}
	p.declare(proc, b.LabelRanges[0])
	content := p.content(b.Body, processSchema)
	p.processAttributes(proc, content.Attributes)
	var restart, log *hcl.Block
	for _, child := range content.Blocks {
		switch child.Type {
		case "restart":
			// A second block is checked too, for its own mistakes.
			r := p.restart(child)
			if restart != nil {
				p.errorf(child.DefRange, "process %q has a second restart block; the first is at line %d", proc.Name, restart.DefRange.Start.Line)
				continue
			}
			restart, proc.Restart = child, r
			if proc.OnDemand {
				p.errorf(child.DefRange, "process %q is on_demand and has a restart block: mage-run never restarts an on-demand process; its parent launches a new one", proc.Name)
			}
		case "ready", "health":
			pr := p.probe(proc, child)
			target := &proc.Ready
			if child.Type == "health" {
				target = &proc.Health
			}
			if *target != nil {
				p.errorf(child.DefRange, "process %q has a second %s block; the first is at line %d", proc.Name, child.Type, (*target).DeclRange.Start.Line)
				continue
			}
			if pr != nil {
				*target = pr
			}
		case "log":
			if l := p.processLog(proc, child, log); log == nil {
				log, proc.Log = child, l
			}
		case "process":
			proc.Children = append(proc.Children, p.process(child, proc))
		}
	}
	if log == nil {
		proc.Log = p.spec.Log
	}
	p.checkProbes(proc)
	return proc
}

// declare checks a process's name and records it.
func (p *parser) declare(proc *Process, rng hcl.Range) {
	if !processName.MatchString(proc.Name) {
		p.errorf(rng, "process name %q must start with a letter or '_' and hold only letters, digits, '_' and '-'", proc.Name)
		return
	}
	if first, dup := p.byName[proc.Name]; dup {
		p.errorf(rng, "duplicate process name %q: first declared at line %d (names are unique across the whole spec)", proc.Name, first.DeclRange.Start.Line)
		return
	}
	p.byName[proc.Name] = proc
}

func (p *parser) processAttributes(proc *Process, attrs hcl.Attributes) {
	if a, ok := attrs["command"]; !ok {
		p.errorf(proc.DeclRange, "process %q has no command", proc.Name)
	} else if p.decode(a, &proc.Command) {
		switch {
		case len(proc.Command) == 0:
			p.errorf(a.Expr.Range(), "command of process %q is empty: it needs at least the program", proc.Name)
		case proc.Command[0] == "":
			p.errorf(a.Expr.Range(), "command of process %q names an empty program", proc.Name)
		}
	}
	if a, ok := attrs["env_file"]; ok {
		p.envFiles(proc, a)
	}
	if a, ok := attrs["env"]; ok {
		var env map[string]string
		if p.decode(a, &env) {
			if proc.Env == nil {
				proc.Env = make(map[string]string, len(env))
			}
			// env wins over env_file.
			for k, v := range env {
				proc.Env[k] = v
			}
		}
	}
	if a, ok := attrs["dir"]; ok {
		var dir string
		if p.decode(a, &dir) {
			proc.Dir = p.path(dir)
		}
	}
	if a, ok := attrs["stop_signal"]; ok {
		p.signal(a, &proc.StopSignal)
	}
	if a, ok := attrs["accept_timeout"]; ok && p.duration(a, &proc.AcceptTimeout) {
		proc.AcceptTimeoutRange = a.Expr.Range()
	}
	if a, ok := attrs["count"]; ok && p.decode(a, &proc.Count) && proc.Count < 1 {
		p.errorf(a.Expr.Range(), "count must be at least 1, not %d", proc.Count)
	}
	if a, ok := attrs["stop_timeout"]; ok {
		p.duration(a, &proc.StopTimeout)
	}
	if a, ok := attrs["after"]; ok {
		p.after(proc, a)
	}
	if a, ok := attrs["announce"]; ok {
		p.announce(proc, a)
	}
	if a, ok := attrs["required"]; ok {
		p.decode(a, &proc.Required)
	}
	if a, ok := attrs["description"]; ok {
		p.description(proc, a)
	}
	if a, ok := attrs["invite"]; ok && p.decode(a, &proc.Invite) && !proc.Invite && proc.AcceptTimeoutRange != (hcl.Range{}) {
		p.errorf(proc.AcceptTimeoutRange, "process %q has accept_timeout but invite = false: it never accepts an invitation", proc.Name)
	}
	if a, ok := attrs["on_demand"]; ok && p.decode(a, &proc.OnDemand) && proc.OnDemand {
		switch {
		case !proc.Invite:
			p.errorf(a.Expr.Range(), "process %q is on_demand and has invite = false: a launched process finds its pipe to its parent in its invitation", proc.Name)
		case proc.Parent != nil && !proc.Parent.Invite:
			p.errorf(a.Expr.Range(), "process %q is on_demand inside %q, which has invite = false and so cannot call Supervisor.Launch", proc.Name, proc.Parent.Name)
		case proc.Parent == nil:
			p.errorf(a.Expr.Range(), "process %q is on_demand but not nested: only its parent process can launch it", proc.Name)
		case proc.Count > 1:
			p.errorf(a.Expr.Range(), "process %q is on_demand and has count = %d: its parent launches instances one at a time", proc.Name, proc.Count)
		}
	}
}

// description decodes a process's description: one line of text, for
// the view, where a line break or an escape sequence would break the
// table.
func (p *parser) description(proc *Process, a *hcl.Attribute) {
	var d string
	if !p.decode(a, &d) {
		return
	}
	if i := strings.IndexFunc(d, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(d[i:])
		p.errorf(a.Expr.Range(), "description of process %q holds the control character %q: it must be one line of text", proc.Name, r)
		return
	}
	proc.Description = strings.TrimSpace(d)
}

func (p *parser) restart(b *hcl.Block) Restart {
	r := Restart{Policy: RestartOnFailure, Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff, Limit: DefaultRestartLimit,
		ResetAfter: DefaultResetAfter, Jitter: DefaultJitter}
	attrs := p.content(b.Body, restartSchema).Attributes
	if a, ok := attrs["policy"]; ok {
		var s string
		if p.decode(a, &s) {
			policy, ok := parsePolicy(s)
			if !ok {
				p.errorf(a.Expr.Range(), "unknown restart policy %q: want never, on-failure or always", s)
			}
			r.Policy = policy
		}
	}
	if a, ok := attrs["limit"]; ok && p.decode(a, &r.Limit) && r.Limit < 0 {
		p.errorf(a.Expr.Range(), "restart limit must not be negative (0 means no limit), not %d", r.Limit)
	}
	if a, ok := attrs["reset_after"]; ok {
		var s string
		if p.decode(a, &s) {
			if s == "never" {
				r.ResetAfter = 0
			} else {
				p.duration(a, &r.ResetAfter)
			}
		}
	}
	if a, ok := attrs["jitter"]; ok && p.decode(a, &r.Jitter) && (r.Jitter < 0 || r.Jitter > 1) {
		p.errorf(a.Expr.Range(), "jitter must be from 0 to 1 (the random fraction of each delay), not %v", r.Jitter)
	}
	backoff, hasBackoff := attrs["backoff"]
	if hasBackoff {
		hasBackoff = p.duration(backoff, &r.Backoff)
	}
	maxBackoff, hasMax := attrs["max_backoff"]
	if hasMax {
		hasMax = p.duration(maxBackoff, &r.MaxBackoff)
	}
	switch {
	case hasBackoff && hasMax && r.Backoff > r.MaxBackoff:
		p.errorf(backoff.Expr.Range(), "backoff %v is longer than max_backoff %v", r.Backoff, r.MaxBackoff)
	case r.Backoff > r.MaxBackoff:
		// A long first delay with the default cap: the cap rises to it.
		r.MaxBackoff = r.Backoff
	}
	if r.Policy == RestartNever {
		r.Limit, r.ResetAfter, r.Jitter = 0, 0, 0
	}
	return r
}

func (p *parser) pipe(b *hcl.Block) *Pipe {
	pipe := &Pipe{DeclRange: b.DefRange}
	attrs := p.content(b.Body, pipeSchema).Attributes
	pipe.From, pipe.FromRange = p.endpoint(b, attrs, "from")
	pipe.To, pipe.ToRange = p.endpoint(b, attrs, "to")
	return pipe
}

// endpoint reads the from or to attribute of a pipe. Whether the process
// exists is checked later, by checkPipes.
func (p *parser) endpoint(b *hcl.Block, attrs hcl.Attributes, name string) (Endpoint, hcl.Range) {
	a, ok := attrs[name]
	if !ok {
		p.errorf(b.DefRange, "pipe has no %q endpoint", name)
		return Endpoint{}, b.DefRange
	}
	var s string
	if !p.decode(a, &s) {
		return Endpoint{}, a.Expr.Range()
	}
	e, ok := parseEndpoint(s)
	if !ok {
		p.errorf(a.Expr.Range(), "pipe endpoint %q must be of the form process.attachment", s)
	}
	return e, a.Expr.Range()
}

func parseEndpoint(s string) (Endpoint, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			e := Endpoint{Process: s[:i], Attachment: s[i+1:]}
			if e.Process == "" || e.Attachment == "" {
				return Endpoint{}, false
			}
			return e, true
		}
	}
	return Endpoint{}, false
}

// decode evaluates an attribute, which may use what evalContext offers,
// into target and reports whether it could.
func (p *parser) decode(a *hcl.Attribute, target any) bool {
	if !p.checkEnvRefs(a) {
		return false
	}
	diags := gohcl.DecodeExpression(a.Expr, p.ctx, target)
	if !diags.HasErrors() {
		return true
	}
	// The first problem is the one to fix: a reference to a variable is
	// followed by a complaint that its value is unknown.
	d := *diags[0]
	if d.Summary == "Unsuitable value type" {
		// gohcl's wording is "Unsuitable value type: Unsuitable value:
		// list of string required, but have string"; name the attribute.
		d.Summary = a.Name + ": " + strings.TrimPrefix(d.Detail, "Unsuitable value: ")
		d.Detail = ""
	}
	p.diags = append(p.diags, &d)
	return false
}

// durationOrZero decodes a Go duration that may be "0s".
func (p *parser) durationOrZero(a *hcl.Attribute, target *time.Duration) bool {
	var s string
	if !p.decode(a, &s) {
		return false
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		p.errorf(a.Expr.Range(), "%s: %q is not a duration such as \"0s\", \"500ms\" or \"5s\"", a.Name, s)
		return false
	}
	*target = d
	return true
}

// duration decodes a positive Go duration such as "1m30s".
func (p *parser) duration(a *hcl.Attribute, target *time.Duration) bool {
	var s string
	if !p.decode(a, &s) {
		return false
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		p.errorf(a.Expr.Range(), "%s: %q is not a positive duration such as \"500ms\", \"5s\" or \"1m30s\"", a.Name, s)
		return false
	}
	*target = d
	return true
}

// checkEnvRefs reports each env.NAME in a's expression that names no
// variable of mage-run's environment, in words HCL's own message lacks.
func (p *parser) checkEnvRefs(a *hcl.Attribute) bool {
	env := p.ctx.Variables["env"]
	ok := true
	for _, tr := range a.Expr.Variables() {
		if tr.RootName() != "env" || len(tr) < 2 {
			continue
		}
		step, isAttr := tr[1].(hcl.TraverseAttr)
		if !isAttr || env.Type().HasAttribute(step.Name) {
			continue
		}
		p.errorf(tr.SourceRange(), "%s: env.%s: mage-run's environment has no variable %s (lookup(env, %q, \"default\") allows an unset one)", a.Name, step.Name, step.Name, step.Name)
		ok = false
	}
	return ok
}

// path makes a path from the spec absolute: relative to the spec's
// directory.
func (p *parser) path(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(p.spec.Dir, name)
}

// envFiles reads the env_file attribute, one file or a list, into the
// process's environment: later files win over earlier ones.
func (p *parser) envFiles(proc *Process, a *hcl.Attribute) {
	var names []string
	var one string
	if diags := gohcl.DecodeExpression(a.Expr, p.ctx, &one); !diags.HasErrors() {
		names = []string{one}
	} else if !p.decode(a, &names) {
		return
	}
	for _, name := range names {
		if name == "" {
			p.errorf(a.Expr.Range(), "env_file: empty file name")
			continue
		}
		src, err := p.opts.ReadFile(p.path(name))
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			p.errorf(a.Expr.Range(), "env_file: cannot read %s: %v", name, err)
			continue
		}
		env, err := parseEnvFile(name, src)
		if err != nil {
			p.errorf(a.Expr.Range(), "env_file: %v", err)
			continue
		}
		if proc.Env == nil {
			proc.Env = make(map[string]string, len(env))
		}
		for k, v := range env {
			proc.Env[k] = v
		}
	}
}

// signal decodes a signal name such as "TERM" or "SIGHUP".
func (p *parser) signal(a *hcl.Attribute, target *syscall.Signal) bool {
	var s string
	if !p.decode(a, &s) {
		return false
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		p.errorf(a.Expr.Range(), "%s: %q is not a signal: want a name such as \"TERM\", \"INT\", \"HUP\" or \"QUIT\"", a.Name, s)
		return false
	}
	*target = sig
	return true
}

func sortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		default:
			return a.Start.Byte < b.Start.Byte
		}
	})
}
