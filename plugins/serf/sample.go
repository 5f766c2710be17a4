package serf

import _ "embed"

// Sample is an example service file running the plugin, with every setting
// explained; the README's Syntax section shows it, and a test decodes it.
//
//go:embed sample.conf
var Sample string
