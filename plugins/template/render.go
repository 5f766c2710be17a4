package template

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	texttemplate "text/template"
)

// funcs are the helpers available in templates, on top of text/template's
// built-ins. None does I/O; env reads the container's environment through
// lookup (the host's, never the process's own).
func funcs(lookup func(string) (string, bool)) texttemplate.FuncMap {
	return texttemplate.FuncMap{
		// env returns an environment variable, "" when unset.
		"env": func(key string) string {
			v, _ := lookup(key)
			return v
		},
		"join":      strings.Join,
		"lower":     strings.ToLower,
		"upper":     strings.ToUpper,
		"contains":  strings.Contains,
		"hasPrefix": strings.HasPrefix,
		"hasSuffix": strings.HasSuffix,
		// tag returns a member's tag, or def when it is missing or empty.
		"tag": func(m Member, key, def string) string {
			if v := m.Tags[key]; v != "" {
				return v
			}
			return def
		},
		// default returns v, or def when v is empty.
		"default": func(def, v string) string {
			if v == "" {
				return def
			}
			return v
		},
	}
}

// parseTemplate parses the template text; name is used in error messages,
// lookup serves the env function.
func parseTemplate(name, text string, lookup func(string) (string, bool)) (*texttemplate.Template, error) {
	t, err := texttemplate.New(name).Funcs(funcs(lookup)).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parsing template: %w", err)
	}
	return t, nil
}

// loadTemplate reads and parses the template file.
func loadTemplate(path string, lookup func(string) (string, bool)) (*texttemplate.Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading template: %w", err)
	}
	return parseTemplate(path, string(b), lookup)
}

// render executes t with d.
func render(t *texttemplate.Template, d *Data) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("rendering template: %w", err)
	}
	return buf.Bytes(), nil
}
