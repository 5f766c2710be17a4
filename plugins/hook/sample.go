package hook

import _ "embed"

// SampleConfig is an example service file running the plugin, with every
// setting explained.
//
//go:embed sample.conf
var SampleConfig string
