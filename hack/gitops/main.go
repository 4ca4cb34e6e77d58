// gitops-health evaluates a Kubernetes object the way GitOps tools do, for kaiwo-monitor's tests: kstatus
// (sigs.k8s.io/cli-utils, as Flux, kpt and `kubectl`-style waiters compute it) and an Argo CD Lua health script run
// by gopher-lua, the interpreter Argo CD embeds, with the same `obj` global and return convention.
//
//	gitops-health --lua config/argocd/health.lua < object.json
//
// prints {"kstatus":"Current","kstatusMessage":"...","argo":{"status":"Healthy","message":"..."}}.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type argoHealth struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

type result struct {
	Kstatus        string      `json:"kstatus"`
	KstatusMessage string      `json:"kstatusMessage"`
	Argo           *argoHealth `json:"argo,omitempty"`
}

// toLua converts decoded JSON to Lua values the way Argo CD's decodeValue does (arrays 1-based).
func toLua(l *lua.LState, v interface{}) lua.LValue {
	switch x := v.(type) {
	case map[string]interface{}:
		t := l.NewTable()
		for k, e := range x {
			t.RawSetString(k, toLua(l, e))
		}
		return t
	case []interface{}:
		t := l.NewTable()
		for i, e := range x {
			t.RawSetInt(i+1, toLua(l, e))
		}
		return t
	case string:
		return lua.LString(x)
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case nil:
		return lua.LNil
	default:
		return lua.LString(fmt.Sprint(x))
	}
}

func argo(script string, obj map[string]interface{}) (*argoHealth, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		l.Push(l.NewFunction(lib.fn))
		l.Push(lua.LString(lib.name))
		l.Call(1, 0)
	}
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return nil, err
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("health script returned %s, not a table", l.Get(-1).Type())
	}
	return &argoHealth{Status: ret.RawGetString("status").String(), Message: ret.RawGetString("message").String()}, nil
}

func main() {
	luaPath := flag.String("lua", "", "Argo CD health script to run as well")
	flag.Parse()
	raw, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		fail(err)
	}
	obj := u.Object
	res, err := status.Compute(u)
	if err != nil {
		fail(err)
	}
	out := result{Kstatus: res.Status.String(), KstatusMessage: res.Message}
	if *luaPath != "" {
		script, err := os.ReadFile(*luaPath)
		if err != nil {
			fail(err)
		}
		if out.Argo, err = argo(string(script), obj); err != nil {
			fail(err)
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gitops-health:", err)
	os.Exit(1)
}
