package services

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// decoder decodes parsed TOML values (as produced by toml.Decode into a
// map[string]any) strictly into Go values: an unknown key or a value of the
// wrong type is an *Error naming the file, line and key.
type decoder struct {
	file    string
	lines   keyLines
	service string
}

// errorf returns an *Error at path.
func (d *decoder) errorf(path []string, format string, args ...any) *Error {
	return &Error{
		File:    d.file,
		Line:    d.lines.line(linePath(path)),
		Key:     keyString(path),
		Service: d.service,
		Err:     fmt.Errorf(format, args...),
	}
}

// wrap returns err as an *Error at path.
func (d *decoder) wrap(path []string, err error) *Error {
	return &Error{File: d.file, Line: d.lines.line(linePath(path)), Key: keyString(path), Service: d.service, Err: err}
}

// keyString writes a path as "a.b[2].c".
func keyString(path []string) string {
	var b strings.Builder
	for i, p := range path {
		if i > 0 && !strings.HasPrefix(p, "[") {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// linePath drops array indices from path, for line lookups.
func linePath(path []string) []string {
	out := make([]string, 0, len(path))
	for _, p := range path {
		if !strings.HasPrefix(p, "[") {
			out = append(out, p)
		}
	}
	return out
}

// child returns path extended by k, without aliasing path.
func child(path []string, k string) []string {
	return append(append(make([]string, 0, len(path)+1), path...), k)
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	timeType        = reflect.TypeFor[time.Time]()
	textType        = reflect.TypeFor[encoding.TextUnmarshaler]()
	unmarshalerType = reflect.TypeFor[tomlUnmarshaler]()
)

// tomlType names the TOML type of a decoded value, with the value when short.
func tomlType(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("string %q", v)
	case int64:
		return fmt.Sprintf("integer %d", v)
	case float64:
		return fmt.Sprintf("float %v", v)
	case bool:
		return fmt.Sprintf("boolean %v", v)
	case time.Time:
		return "datetime"
	case []any, []map[string]any:
		return "array"
	case map[string]any:
		return "table"
	}
	return fmt.Sprintf("%T", v)
}

// sortedKeys returns m's keys in the order they appear in the file (then by name).
func (d *decoder) sortedKeys(path []string, m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	lp := linePath(path)
	sort.Slice(keys, func(i, j int) bool {
		li, lj := d.lines.line(child(lp, keys[i])), d.lines.line(child(lp, keys[j]))
		if li != lj {
			return li < lj
		}
		return keys[i] < keys[j]
	})
	return keys
}

// tomlUnmarshaler is BurntSushi/toml's Unmarshaler: a type that decodes
// itself from the TOML value (string, int64, []any, map[string]any...).
type tomlUnmarshaler interface {
	UnmarshalTOML(data any) error
}

// decode stores data into rv (settable), strictly.
func (d *decoder) decode(path []string, data any, rv reflect.Value) error {
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			rv.Set(reflect.New(rv.Type().Elem()))
		}
		return d.decode(path, data, rv.Elem())
	}
	t := rv.Type()
	switch {
	case t == durationType:
		s, ok := data.(string)
		if !ok {
			return d.errorf(path, "expected a duration string such as \"10s\", got %s", tomlType(data))
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return d.errorf(path, "bad duration %q: use a number with a unit, such as \"10s\", \"1m30s\" or \"500ms\"", s)
		}
		rv.SetInt(int64(v))
		return nil
	case t == timeType:
		v, ok := data.(time.Time)
		if !ok {
			return d.errorf(path, "expected a datetime, got %s", tomlType(data))
		}
		rv.Set(reflect.ValueOf(v))
		return nil
	case reflect.PointerTo(t).Implements(unmarshalerType):
		if err := rv.Addr().Interface().(tomlUnmarshaler).UnmarshalTOML(data); err != nil {
			return d.wrap(path, err)
		}
		return nil
	case reflect.PointerTo(t).Implements(textType):
		s, ok := data.(string)
		if !ok {
			return d.errorf(path, "expected a string, got %s", tomlType(data))
		}
		if err := rv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return d.wrap(path, err)
		}
		return nil
	}
	switch rv.Kind() {
	case reflect.Interface:
		if rv.NumMethod() != 0 {
			return d.errorf(path, "cannot decode into %s", t)
		}
		rv.Set(reflect.ValueOf(data))
		return nil
	case reflect.Struct:
		m, ok := data.(map[string]any)
		if !ok {
			return d.errorf(path, "expected a table, got %s", tomlType(data))
		}
		return d.decodeStruct(path, m, rv)
	case reflect.Map:
		m, ok := data.(map[string]any)
		if !ok {
			return d.errorf(path, "expected a table, got %s", tomlType(data))
		}
		if t.Key().Kind() != reflect.String {
			return d.errorf(path, "cannot decode into %s", t)
		}
		if rv.IsNil() {
			rv.Set(reflect.MakeMapWithSize(t, len(m)))
		}
		for _, k := range d.sortedKeys(path, m) {
			ev := reflect.New(t.Elem()).Elem()
			if err := d.decode(child(path, k), m[k], ev); err != nil {
				return err
			}
			rv.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
		}
		return nil
	case reflect.Slice:
		var items []any
		switch v := data.(type) {
		case []any:
			items = v
		case []map[string]any:
			for _, m := range v {
				items = append(items, m)
			}
		default:
			want := "an array"
			if t.Elem().Kind() == reflect.String {
				want = "an array of strings"
			}
			return d.errorf(path, "expected %s, got %s", want, tomlType(data))
		}
		s := reflect.MakeSlice(t, len(items), len(items))
		for i, it := range items {
			if err := d.decode(child(path, fmt.Sprintf("[%d]", i)), it, s.Index(i)); err != nil {
				return err
			}
		}
		rv.Set(s)
		return nil
	case reflect.String:
		s, ok := data.(string)
		if !ok {
			return d.errorf(path, "expected a string, got %s", tomlType(data))
		}
		rv.SetString(s)
		return nil
	case reflect.Bool:
		b, ok := data.(bool)
		if !ok {
			return d.errorf(path, "expected a boolean (true or false), got %s", tomlType(data))
		}
		rv.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := data.(int64)
		if !ok {
			return d.errorf(path, "expected an integer, got %s", tomlType(data))
		}
		if rv.OverflowInt(n) {
			return d.errorf(path, "integer %d is out of range", n)
		}
		rv.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := data.(int64)
		if !ok {
			return d.errorf(path, "expected an integer, got %s", tomlType(data))
		}
		if n < 0 || rv.OverflowUint(uint64(n)) {
			return d.errorf(path, "integer %d is out of range", n)
		}
		rv.SetUint(uint64(n))
		return nil
	case reflect.Float32, reflect.Float64:
		switch n := data.(type) {
		case float64:
			rv.SetFloat(n)
		case int64:
			rv.SetFloat(float64(n))
		default:
			return d.errorf(path, "expected a number, got %s", tomlType(data))
		}
		return nil
	}
	return d.errorf(path, "cannot decode into %s", t)
}

// field is a struct field a TOML key maps to.
type field struct {
	name   string
	index  []int
	tagged bool // named by a `toml` tag: matched exactly, else case-insensitively
}

// structFields lists the keys of struct type t: the `toml` tag's name
// (matched exactly), or the field name (matched case-insensitively); anonymous struct fields are flattened; `toml:"-"` is skipped.
func structFields(t reflect.Type, index []int) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		idx := append(append([]int{}, index...), i)
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, structFields(f.Type, idx)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		name := tag
		if name == "" {
			name = f.Name
		}
		out = append(out, field{name: name, index: idx, tagged: tag != ""})
	}
	return out
}

// decodeStruct decodes table m into struct rv.
func (d *decoder) decodeStruct(path []string, m map[string]any, rv reflect.Value) error {
	fields := structFields(rv.Type(), nil)
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	for _, k := range d.sortedKeys(path, m) {
		var fd *field
		for i := range fields {
			if fields[i].name == k {
				fd = &fields[i]
				break
			}
		}
		if fd == nil {
			for i := range fields {
				if !fields[i].tagged && strings.EqualFold(fields[i].name, k) {
					fd = &fields[i]
					break
				}
			}
		}
		if fd == nil {
			return d.errorf(child(path, k), "unknown key%s", didYouMean(k, names))
		}
		fv, err := fieldByIndex(rv, fd.index)
		if err != nil {
			return d.wrap(child(path, k), err)
		}
		if err := d.decode(child(path, k), m[k], fv); err != nil {
			return err
		}
	}
	return nil
}

// fieldByIndex is reflect.Value.FieldByIndex that allocates nil embedded pointers.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, errors.New("cannot set embedded pointer")
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}
