package services

// PluginConfig is a plugin's own table in a service file (the table named
// after the plugin, e.g. [serf]), kept undecoded until the plugin's value is
// known. (Stub: the decoding work replaces this file.)
type PluginConfig struct {
	// File is the service file the table came from.
	File string
	// Table is the table's name.
	Table string
}

// Decode decodes the table strictly into v: an unknown key or a wrong type is
// an error naming file, line and key.
func (c *PluginConfig) Decode(v any) error { return nil }
