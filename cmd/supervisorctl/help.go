package main

import (
	"slices"
	"strings"
)

func init() {
	commands["help"] = command{run: runHelp, help: []string{
		"help\t\tPrint a list of available actions",
		"help <action>\tPrint help for <action>",
	}}
}

// runHelp is supervisorctl's help: the command table, or one command's help.
func runHelp(c *ctl, args []string) int {
	if len(args) > 0 {
		if _, ok := commands[args[0]]; !ok {
			c.println("*** No help on " + args[0])
			return exitSuccess
		}
		c.printHelp(args[0])
		return exitSuccess
	}
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	const header = "default commands (type help <topic>):"
	c.println("")
	c.println(header)
	c.println(strings.Repeat("=", len(header)))
	for _, l := range columnize(names, 79) {
		c.println(l)
	}
	c.println("")
	return exitSuccess
}

// columnize lays words out in columns filled top to bottom, in as few rows
// as fit in width, as Python's cmd.Cmd.columnize does.
func columnize(words []string, width int) []string {
	size := len(words)
	if size == 0 {
		return []string{"<empty>"}
	}
	nrows, ncols := size, 1
	var widths []int
	for rows := 1; rows < size; rows++ {
		cols := (size + rows - 1) / rows
		ws := make([]int, 0, cols)
		total := -2
		for col := 0; col < cols; col++ {
			w := 0
			for row := 0; row < rows; row++ {
				if i := row + rows*col; i < size {
					w = max(w, len(words[i]))
				}
			}
			ws = append(ws, w)
			total += w + 2
			if total > width {
				break
			}
		}
		if total <= width {
			nrows, ncols, widths = rows, cols, ws
			break
		}
	}
	if widths == nil {
		widths = []int{0}
	}
	var lines []string
	for row := 0; row < nrows; row++ {
		var texts []string
		for col := 0; col < ncols; col++ {
			x := ""
			if i := row + nrows*col; i < size {
				x = words[i]
			}
			texts = append(texts, x)
		}
		for len(texts) > 0 && texts[len(texts)-1] == "" {
			texts = texts[:len(texts)-1]
		}
		for i := range texts {
			texts[i] += strings.Repeat(" ", max(0, widths[i]-len(texts[i])))
		}
		lines = append(lines, strings.Join(texts, "  "))
	}
	return lines
}
