package plugins

import (
	"errors"
	"fmt"
	"strings"
)

// Command is a command as corral's files write it: an array of strings
// (argv), or a string run by /bin/sh -c. It decodes from a plugin's table
// (and from a service file's `command`) through UnmarshalTOML.
type Command []string

// UnmarshalTOML sets c from a TOML string or array of strings.
func (c *Command) UnmarshalTOML(v any) error {
	argv, err := ParseCommand(v)
	if err != nil {
		return err
	}
	*c = argv
	return nil
}

// ParseCommand turns a decoded TOML value into argv: a string s becomes
// {"/bin/sh", "-c", s}; an array must hold strings, the first not empty.
func ParseCommand(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, errors.New("empty command")
		}
		return []string{"/bin/sh", "-c", v}, nil
	case []string:
		if len(v) == 0 || v[0] == "" {
			return nil, errors.New("empty command")
		}
		return append([]string(nil), v...), nil
	case []any:
		argv := make([]string, 0, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, &ElementError{Index: i, Err: fmt.Errorf("expected a string, got %s", describe(x))}
			}
			argv = append(argv, s)
		}
		return ParseCommand(argv)
	}
	return nil, fmt.Errorf("expected an array of strings (argv) or a string (run by /bin/sh -c), got %s", describe(v))
}

// describe names a decoded TOML value's type for an error message.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "nothing"
	case int64, int:
		return fmt.Sprintf("integer %v", v)
	case float64:
		return fmt.Sprintf("float %v", v)
	case bool:
		return fmt.Sprintf("boolean %v", v)
	case []any, []map[string]any:
		return "array"
	case map[string]any:
		return "table"
	}
	return fmt.Sprintf("%T", v)
}

// ElementError is a bad element of a command array.
type ElementError struct {
	// Index is the element's position, from 0.
	Index int
	// Err says what is wrong with it.
	Err error
}

func (e *ElementError) Error() string { return fmt.Sprintf("[%d]: %v", e.Index, e.Err) }

// Unwrap returns Err.
func (e *ElementError) Unwrap() error { return e.Err }
