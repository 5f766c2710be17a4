package execline

import (
	"fmt"
	"path/filepath"
)

// Kind says how corral runs a lexed script.
type Kind int

const (
	// Empty: no words (an empty or comment-only file); it succeeds at once,
	// as s6-rc's runner exits 0 on an empty argv.
	Empty Kind = iota
	// Direct: a plain argv that corral execs itself, as s6-rc does.
	Direct
	// Execlineb: the script needs execline's own semantics (blocks,
	// variable substitution, execline's programs) and is handed to
	// `execlineb -Pc`.
	Execlineb
)

// String names k.
func (k Kind) String() string {
	switch k {
	case Empty:
		return "empty"
	case Direct:
		return "direct"
	case Execlineb:
		return "execlineb"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Script is one lexed command file or command line.
type Script struct {
	// Text is the script as written.
	Text string
	// Argv is what the lexer made of it.
	Argv []string
	// Kind says how it runs.
	Kind Kind
	// Reason says why it needs execlineb (Kind Execlineb), or why it
	// probably does (Maybe).
	Reason string
	// Maybe is set on a Direct script that names one of execline's
	// substituting programs after its first word (a chain such as
	// `fdmove -c 2 1 importas ...`): execlineb runs it when installed,
	// else it runs directly.
	Maybe bool
}

// substituting are execline's programs that rewrite the words after them
// (variables, globs, positionals): their chain only works under execline.
var substituting = map[string]bool{
	"importas": true, "define": true, "multidefine": true, "multisubstitute": true,
	"backtick": true, "withstdinas": true, "elglob": true, "elgetpositionals": true,
	"elgetopt": true, "forx": true, "forbacktickx": true, "forstdin": true,
	"getpid": true, "getcwd": true, "dollarat": true, "shift": true, "homeof": true,
}

// Programs are the names of execline's programs (Debian installs them in
// /usr/lib/execline/bin, which only execlineb puts on the PATH).
var Programs = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range []string{
		"background", "case", "cd", "eltest", "emptyenv", "envfile", "exec", "execline-cd",
		"execline-umask", "execlineb", "exit", "export", "fdblock", "fdclose", "fdmove",
		"fdreserve", "fdswap", "foreground", "heredoc", "if", "ifelse", "ifte",
		"ifthenelse", "loopwhilex", "pipeline", "piperw", "posix-cd", "posix-umask",
		"redirfd", "runblock", "trap", "tryexec", "umask", "unexport", "wait",
	} {
		m[n] = true
	}
	for n := range substituting {
		m[n] = true
	}
	return m
}()

// Parse lexes text and decides how it runs. provided reports the programs
// corral itself provides (its applets, such as cd and fdmove): a script
// starting with one of them runs directly even though execline has a
// program of that name.
func Parse(text string, provided func(name string) bool) (Script, error) {
	argv, blocks, err := Lex(text)
	if err != nil {
		return Script{}, err
	}
	s := Script{Text: text, Argv: argv, Kind: Direct}
	switch {
	case len(argv) == 0:
		s.Kind = Empty
	case blocks:
		s.Kind, s.Reason = Execlineb, "it has { } blocks"
	case Programs[filepath.Base(argv[0])] && (provided == nil || !provided(filepath.Base(argv[0]))):
		s.Kind, s.Reason = Execlineb, fmt.Sprintf("it calls execline's %s", filepath.Base(argv[0]))
	default:
		for _, w := range argv[1:] {
			if substituting[w] {
				s.Maybe, s.Reason = true, fmt.Sprintf("it chains into execline's %s", w)
				break
			}
		}
	}
	return s, nil
}

// Command returns the argv that runs s: nil for an empty script, Argv for a
// direct one, and `execlineb -Pc TEXT` when it needs execline (or Maybe
// does and execlineb is known). execlineb is the path of execlineb, or ""
// when it is not installed; then a script that needs it is an error.
func (s Script) Command(execlineb string) ([]string, error) {
	switch {
	case s.Kind == Empty:
		return nil, nil
	case s.Kind == Execlineb && execlineb == "":
		return nil, fmt.Errorf("needs execlineb (%s), which is not installed (Debian package execline)", s.Reason)
	case s.Kind == Execlineb, s.Maybe && execlineb != "":
		return []string{execlineb, "-Pc", s.Text}, nil
	}
	return s.Argv, nil
}
