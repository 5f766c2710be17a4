package template

import "github.com/corralhq/corral/plugins"

func metric(p *Plugin, name string) float64 {
	for _, m := range p.Metrics() {
		if m.Name == name {
			return m.Value
		}
	}
	return -1
}

func execSpec(argv ...string) plugins.ExecSpec { return plugins.ExecSpec{Argv: argv} }
