package expr

import "fmt"

// nunjucksTypeError refuses a value that the Nunjucks filter would fail on with a JavaScript TypeError
// (a string method called on a number, an array method on a string, a member of null), so a template that
// Backstage cannot render does not render here either. v is the filter's input after norm.
func nunjucksTypeError(name string, v any, args []any) error {
	stringLike := func() bool {
		switch v.(type) {
		case string, safeString:
			return true
		}
		return false
	}
	normalized := isNullish(v) || v == false // Nunjucks' normalize(value, "") turns these into ""
	_, isArray := v.([]any)
	need := ""
	switch name {
	case "capitalize", "lower", "upper", "title", "striptags", "indent":
		if !normalized && !stringLike() {
			need = "a string"
		}
	case "truncate": // an array no longer than the length passes through unchanged
		if a, ok := v.([]any); ok && float64(len(a)) <= truncateLength(args) {
			break
		}
		if !normalized && !stringLike() {
			need = "a string"
		}
	case "wordcount":
		if f, ok := num(v); !normalized && !stringLike() && !(ok && f == 0) {
			need = "a string"
		}
	case "urlize", "trim":
		if !stringLike() {
			need = "a string"
		}
	case "nl2br":
		if !isNullish(v) && !stringLike() {
			need = "a string"
		}
	case "join", "sum":
		if !isArray && !truthy(arg(args, 1)) { // with an attribute, Nunjucks maps over it first
			need = "an array"
		}
	case "selectattr", "rejectattr":
		if !isArray {
			need = "an array"
		}
	case "slice":
		if !isArray && !stringLike() {
			need = "an array or a string"
		}
	case "first", "last", "batch", "string":
		if isNullish(v) {
			need = "a value"
		}
	}
	if need == "" {
		return nil
	}
	return fmt.Errorf("needs %s, got %s (Nunjucks fails on it with a TypeError, and so does Backstage)", need, typeName(v))
}

// nunjucksTestTypeError refuses what a Nunjucks test fails on: lower and upper call the value's
// toLowerCase/toUpperCase, iterable reads a member of it.
func nunjucksTestTypeError(name string, v any) error {
	switch name {
	case "lower", "upper":
		switch v.(type) {
		case string, safeString:
			return nil
		}
		return fmt.Errorf("needs a string, got %s (Nunjucks fails on it with a TypeError, and so does Backstage)", typeName(v))
	case "iterable":
		if isNullish(v) {
			return fmt.Errorf("needs a value, got %s (Nunjucks fails on it with a TypeError, and so does Backstage)", typeName(v))
		}
	}
	return nil
}
