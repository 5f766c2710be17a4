// Package plugins is corral's plugin API, the only corral package a plugin
// imports (as CoreDNS's plugin package is for its plugins): the Plugin
// lifecycle and its optional interfaces, the Host the engine offers each
// instance, the event Bus with its Membership topic, ExecSpec and
// ExitStatus for running commands through the engine's reaper, Metric,
// and the registry (Register, Lookup, Names).
//
// Each built-in plugin lives in a folder below this one and registers
// itself from init; plugins/all imports the built-in set. The engine
// (package supervisor) drives plugins through this API and no plugin
// imports the engine or another plugin: they talk through the bus.
//
// Every plugin package follows one shape:
//
//	const Name = "serf"                // the name service files use: plugin = "serf"
//	type Config struct { ... }         // the plugin's [serf] table, decoded strictly
//	//go:embed sample.conf
//	var Sample string                  // an example service file, every key explained
//	func init() { plugins.Register(Name, func() plugins.Plugin { return New() }) }
//
// and its README's "Syntax" section is sample.conf, checked by a test.
package plugins
