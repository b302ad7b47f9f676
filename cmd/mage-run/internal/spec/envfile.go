package spec

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// maxEnvFile bounds an env file: it is read whole, before anything runs.
const maxEnvFile = 1 << 20

// envName is what a variable in an env file may be called.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// EnvFileError is a problem on one line of an env file.
type EnvFileError struct {
	File string
	Line int
	Msg  string
}

func (e *EnvFileError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// parseEnvFile reads the dotenv format: one KEY=VALUE a line, blank lines
// and lines starting with # ignored, an optional "export " before KEY.
// A value may be in double quotes (with \n, \t, \", \\ and \$ escapes) or
// single quotes (taken as it is); an unquoted value is trimmed and ends at
// " #". Nothing is interpolated. name is the file's name, for errors.
func parseEnvFile(name string, src []byte) (map[string]string, error) {
	if len(src) > maxEnvFile {
		return nil, &EnvFileError{File: name, Line: 1, Msg: fmt.Sprintf("file is larger than %d bytes", maxEnvFile)}
	}
	env := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 4096), maxEnvFile)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, err := parseEnvLine(line)
		if err != nil {
			return nil, &EnvFileError{File: name, Line: n, Msg: err.Error()}
		}
		env[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("spec: env file %s: %w", name, err)
	}
	return env, nil
}

func parseEnvLine(line string) (string, string, error) {
	line = strings.TrimPrefix(line, "export ")
	key, value, ok := strings.Cut(line, "=")
	if !ok {
		return "", "", fmt.Errorf("%q is not KEY=VALUE", line)
	}
	key = strings.TrimSpace(key)
	if !envName.MatchString(key) {
		return "", "", fmt.Errorf("%q is not a variable name: want letters, digits and '_', not starting with a digit", key)
	}
	value = strings.TrimSpace(value)
	switch {
	case strings.HasPrefix(value, `"`):
		v, rest, err := doubleQuoted(value[1:])
		if err != nil {
			return "", "", fmt.Errorf("value of %s: %w", key, err)
		}
		if err := onlyComment(rest); err != nil {
			return "", "", fmt.Errorf("value of %s: %w", key, err)
		}
		return key, v, nil
	case strings.HasPrefix(value, "'"):
		v, rest, ok := strings.Cut(value[1:], "'")
		if !ok {
			return "", "", fmt.Errorf("value of %s: no closing '", key)
		}
		if err := onlyComment(rest); err != nil {
			return "", "", fmt.Errorf("value of %s: %w", key, err)
		}
		return key, v, nil
	}
	if i := strings.Index(value, " #"); i >= 0 {
		value = strings.TrimSpace(value[:i])
	}
	return key, value, nil
}

// doubleQuoted reads a double-quoted value after its opening quote and
// returns it with what follows the closing quote.
func doubleQuoted(s string) (string, string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 == len(s) {
				return "", "", fmt.Errorf("no closing \"")
			}
			i++
			switch e := s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '"', '\\', '$':
				b.WriteByte(e)
			default:
				return "", "", fmt.Errorf("unknown escape \\%c: want \\n, \\t, \\\", \\\\ or \\$", e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("no closing \"")
}

// onlyComment checks that what follows a quoted value is blank or a
// comment.
func onlyComment(rest string) error {
	rest = strings.TrimSpace(rest)
	if rest == "" || strings.HasPrefix(rest, "#") {
		return nil
	}
	return fmt.Errorf("%q after the closing quote", rest)
}
