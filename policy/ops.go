package policy

import "fmt"

// op is a comparison operator of numeric, duration and count conditions.
type op uint8

const (
	opLT op = iota
	opLE
	opGT
	opGE
	opEQ
	opNE
)

var opNames = [...]string{"<", "<=", ">", ">=", "==", "!="}

func (o op) String() string { return opNames[o] }

func parseOp(s string) (op, error) {
	for i, n := range opNames {
		if s == n {
			return op(i), nil
		}
	}
	if s == "" {
		return 0, errorf("missing comparison operator (one of < <= > >= == !=)")
	}
	return 0, errorf("bad operator %q (one of < <= > >= == !=)", s)
}

func cmpOrdered[T ~int | ~int64 | ~float64](o op, a, b T) bool {
	switch o {
	case opLT:
		return a < b
	case opLE:
		return a <= b
	case opGT:
		return a > b
	case opGE:
		return a >= b
	case opEQ:
		return a == b
	default:
		return a != b
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
