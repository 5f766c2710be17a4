package plugintest

import (
	"fmt"

	"github.com/corralhq/corral/services"
)

// DecodeService parses a service file that runs plugin with the engine's
// own parser, and decodes its plugin table strictly into v, as the
// supervisor does before Provision.
func DecodeService(plugin, file string, v any) error {
	svc, err := services.Parse("/etc/services.d/"+plugin+".toml", []byte(file), services.LoadOptions{Plugins: []string{plugin}})
	if err != nil {
		return err
	}
	if svc.Plugin != plugin || svc.PluginConfig == nil {
		return fmt.Errorf("service runs plugin %q, want %q", svc.Plugin, plugin)
	}
	return svc.PluginConfig.Decode(v)
}
