package actions

import (
	"context"
	"fmt"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/jsonata"
)

func jsonataAs() map[string]any {
	return map[string]any{"type": "string", "enum": []any{"string", "object"}, "default": "string",
		"title": `Desired Result Type. Permitted values are: "string" (default) and "object"`}
}

// evalJSONata evaluates an expression input against data (in a child process: see package jsonata). The
// result is put in order (objects' keys sorted: the library keeps no order).
func evalJSONata(ctx context.Context, ac *scaffold.ActionContext, data any) (any, bool, error) {
	plain, err := toJSONable(data)
	if err != nil {
		return nil, false, err
	}
	res, defined, err := jsonata.Eval(ctx, ac.String("expression", ""), plain)
	if err != nil {
		return nil, false, fmt.Errorf("JSONata failed to evaluate the expression: %w", err)
	}
	if expr.HasSecret(ac.SecretInput("data")) || expr.HasSecret(ac.SecretInput("expression")) {
		ac.AddSecret(expr.Literals(expr.NewSecret(res))...)
	}
	return ordered(res), defined, nil
}

// toJSONable turns Maps into Go maps for the library (which reads only those).
func toJSONable(v any) (any, error) { return expr.Unordered(v), nil }

// RoadieJSONata is roadiehq:utils:jsonata.
func RoadieJSONata() scaffold.Action {
	return &action{
		id:          "roadiehq:utils:jsonata",
		description: "Allows performing JSONata operations and transformations on input objects and produces the output result as a step output.",
		input: object(map[string]any{
			"data":       map[string]any{"title": "Input data to be transformed"},
			"expression": str("JSONata expression to perform on the input"),
		}, "data", "expression"),
		output: object(map[string]any{"result": map[string]any{"title": "Output result from JSONata"}}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			res, defined, err := evalJSONata(ctx, ac, ac.Input["data"])
			if err != nil {
				return err
			}
			if defined {
				ac.Output("result", res)
			}
			return nil
		},
	}
}

// RoadieJSONataJSON is roadiehq:utils:jsonata:json:transform.
func RoadieJSONataJSON() scaffold.Action {
	return &action{
		id:          "roadiehq:utils:jsonata:json:transform",
		description: "Allows performing JSONata operations and transformations on a JSON file in the workspace. The result can be read from the `result` step output.",
		input: object(map[string]any{
			"path":       str("Input path to read json file"),
			"expression": str("JSONata expression to perform on the input"),
			"replacer":   strs("Replacer array"),
			"space":      str("Space character"),
			"as":         jsonataAs(),
		}, "path", "expression"),
		output: object(map[string]any{"result": anyOf("Output result from JSONata", "string", "object")}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			rel, raw, err := readInput(ac, "path")
			if err != nil {
				return err
			}
			data, err := expr.DecodeJSON(raw)
			if err != nil {
				return fmt.Errorf("input.path: %s is not JSON: %w", rel, err)
			}
			res, defined, err := evalJSONata(ctx, ac, data)
			if err != nil {
				return err
			}
			if outputObject(ac, res, defined) {
				return nil
			}
			if !defined {
				return nil // JSON.stringify(undefined) is undefined
			}
			s, err := jsonStringify(res, ac.Strings("replacer"), ac.Input["space"])
			if err != nil {
				return err
			}
			ac.Output("result", s)
			return nil
		},
	}
}

// RoadieJSONataYAML is roadiehq:utils:jsonata:yaml:transform.
func RoadieJSONataYAML() scaffold.Action {
	return &action{
		id:          "roadiehq:utils:jsonata:yaml:transform",
		description: "Allows performing JSONata operations and transformations on a YAML file in the workspace. The result can be read from the `result` step output.",
		input: object(map[string]any{
			"path":       str("Input path to read yaml file"),
			"expression": str("JSONata expression to perform on the input"),
			"options":    yamlOptions(),
			"loadAll":    boolean("Use this if the yaml source file contains multiple yaml objects"),
			"as":         jsonataAs(),
		}, "path", "expression"),
		output: object(map[string]any{"result": anyOf("Output result from JSONata", "string", "object")}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			rel, raw, err := readInput(ac, "path")
			if err != nil {
				return err
			}
			var data any
			if ac.Bool("loadAll", false) {
				var docs []any
				docs, err = parseYAMLDocs(raw)
				data = nonNil(docs)
			} else {
				data, err = parseYAMLOne(raw)
			}
			if err != nil {
				return fmt.Errorf("input.path: %s is not YAML: %w", rel, err)
			}
			res, defined, err := evalJSONata(ctx, ac, data)
			if err != nil {
				return err
			}
			if outputObject(ac, res, defined) {
				return nil
			}
			var s string
			if defined {
				if s, err = yamlStringify(res, ac.Input["options"]); err != nil {
					return err
				}
			} else {
				s = "\n" // YAML.stringify(undefined)
			}
			ac.Output("result", s)
			return nil
		},
	}
}

// outputObject is as: object, where the result itself is the output (none when it is undefined).
// It reports whether as is object.
func outputObject(ac *scaffold.ActionContext, res any, defined bool) bool {
	if ac.String("as", "string") != "object" {
		return false
	}
	if defined {
		ac.Output("result", res)
	}
	return true
}
