package services

import (
	"errors"
	"reflect"
)

// PluginConfig is a plugin's own table in a service file (the table named
// after the plugin, e.g. [serf]), kept undecoded until the plugin's value is
// known.
type PluginConfig struct {
	// File is the service file the table came from.
	File string
	// Table is the table's name (the plugin's name).
	Table string

	data    map[string]any // the table; nil when the file has none
	lines   keyLines
	service string
}

// Decode decodes the table strictly into v, a non-nil pointer (usually to
// the plugin's struct, whose fields are matched by `toml:"name"` tag, else
// by field name ignoring case). Keys the file leaves out keep v's values, so
// defaults set before Decode survive. An unknown key or a wrong type is an
// *Error naming the file, line and key path, such as "serf.join".
// time.Duration fields take strings like "10s"; encoding.TextUnmarshaler
// fields take strings.
func (c *PluginConfig) Decode(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("decoding plugin settings: need a non-nil pointer")
	}
	if c == nil || c.data == nil {
		return nil
	}
	d := decoder{file: c.File, lines: c.lines, service: c.service}
	return d.decode([]string{c.Table}, c.data, rv.Elem())
}
