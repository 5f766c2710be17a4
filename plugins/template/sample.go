package template

import _ "embed"

//go:embed sample.conf
var sampleConf string

// SampleConfig returns a commented example service file for the plugin.
func SampleConfig() string { return sampleConf }
