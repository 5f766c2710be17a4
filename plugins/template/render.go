package template

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	texttemplate "text/template"
)

// funcs are the helpers available in templates, on top of text/template's
// built-ins. None does I/O.
func funcs() texttemplate.FuncMap {
	return texttemplate.FuncMap{
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

// parseTemplate parses the template text; name is used in error messages.
func parseTemplate(name, text string) (*texttemplate.Template, error) {
	t, err := texttemplate.New(name).Funcs(funcs()).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parsing template: %w", err)
	}
	return t, nil
}

// loadTemplate reads and parses the template file.
func loadTemplate(path string) (*texttemplate.Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading template: %w", err)
	}
	return parseTemplate(path, string(b))
}

// render executes t with d.
func render(t *texttemplate.Template, d *Data) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("rendering template: %w", err)
	}
	return buf.Bytes(), nil
}

// environ returns the process environment as a map.
func environ() map[string]string {
	env := os.Environ()
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
