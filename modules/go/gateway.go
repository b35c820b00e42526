// edge-gateway: a Hotplane module written in Go, showing the ABI from cgo. It maps an HTTP request line to the
// request text of the business module that serves it:
//
//	GET /accounts/<acct>                          -> route=ledger;request=balance <acct>
//	POST /transfers?from=<a>&to=<b>&amount=<n>    -> route=ledger;request=transfer <a> <b> <n>
//	POST /payments/score?amount=<n>&country=..    -> route=risk-rules;request=amount=<n>;country=..
//
// Application codes are the HTTP statuses a gateway would answer: 400 bad request, 404 no route, 405 wrong method.
// Build: go build -buildmode=c-shared. A Go module always runs in a process of its own and is never unloaded:
// two Go runtimes cannot share a process and a Go runtime cannot be dlclose-d.
package main

/*
#include <stddef.h>
#include <stdint.h>
*/
import "C"

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unsafe"
)

const (
	hpOK             = 0
	hpFault          = -1
	hpBufferTooSmall = -2
	badRequest       = 400
	noRoute          = 404
	wrongMethod      = 405
)

// Allocated once and never freed: the host may read them at any time while the library is loaded.
var (
	moduleName    = C.CString("edge-gateway")
	moduleVersion = C.CString("1.0.0")
	initialized   bool
)

func route(line string) (int32, string) {
	parts := strings.Fields(line)
	if len(parts) != 2 {
		return badRequest, "bad request: expected \"<METHOD> <path>[?query]\""
	}
	method := parts[0]
	target, err := url.Parse(parts[1])
	if err != nil {
		return badRequest, "bad request: " + err.Error()
	}
	query := target.Query()
	switch {
	case strings.HasPrefix(target.Path, "/accounts/"):
		if method != "GET" {
			return wrongMethod, "method not allowed: use GET"
		}
		account := strings.TrimPrefix(target.Path, "/accounts/")
		if account == "" || strings.Contains(account, "/") {
			return badRequest, "bad request: /accounts/<acct>"
		}
		return hpOK, "route=ledger;request=balance " + account
	case target.Path == "/transfers":
		if method != "POST" {
			return wrongMethod, "method not allowed: use POST"
		}
		from, to, amount := query.Get("from"), query.Get("to"), query.Get("amount")
		if from == "" || to == "" || amount == "" {
			return badRequest, "bad request: from, to and amount are required"
		}
		return hpOK, fmt.Sprintf("route=ledger;request=transfer %s %s %s", from, to, amount)
	case target.Path == "/payments/score":
		if method != "POST" {
			return wrongMethod, "method not allowed: use POST"
		}
		keys := make([]string, 0, len(query))
		for key := range query {
			keys = append(keys, key)
		}
		// Sorted, so the same request always yields the same downstream text.
		sort.Strings(keys)
		pairs := make([]string, 0, len(keys))
		for _, key := range keys {
			pairs = append(pairs, key+"="+query.Get(key))
		}
		return hpOK, "route=risk-rules;request=" + strings.Join(pairs, ";")
	}
	return noRoute, "no route for " + target.Path
}

//export hp_abi_version
func hp_abi_version() C.uint32_t { return 1 }

//export hp_module_name
func hp_module_name() *C.char { return moduleName }

//export hp_module_version
func hp_module_version() *C.char { return moduleVersion }

//export hp_init
func hp_init(config *C.char, configLen C.size_t) C.int32_t {
	initialized = true
	return hpOK
}

//export hp_handle
func hp_handle(req *C.uint8_t, reqLen C.size_t, resp *C.uint8_t, respCap C.size_t, respLen *C.size_t) C.int32_t {
	*respLen = 0
	if !initialized {
		return hpFault
	}
	code, answer := route(string(unsafe.Slice((*byte)(unsafe.Pointer(req)), int(reqLen))))
	*respLen = C.size_t(len(answer))
	if C.size_t(len(answer)) > respCap {
		return hpBufferTooSmall
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(resp)), int(respCap)), answer)
	return C.int32_t(code)
}

//export hp_health
func hp_health() C.int32_t {
	if initialized {
		return hpOK
	}
	return hpFault
}

//export hp_self_test
func hp_self_test(report *C.char, reportCap C.size_t) C.int32_t {
	cases := []struct {
		line string
		code int32
		want string
	}{
		{"GET /accounts/alice", hpOK, "route=ledger;request=balance alice"},
		{"POST /transfers?from=a&to=b&amount=5", hpOK, "route=ledger;request=transfer a b 5"},
		{"POST /payments/score?mcc=7995&amount=10", hpOK, "route=risk-rules;request=amount=10;mcc=7995"},
		{"DELETE /accounts/alice", wrongMethod, "method not allowed: use GET"},
		{"GET /nowhere", noRoute, "no route for /nowhere"},
	}
	var text strings.Builder
	passed := 0
	for _, c := range cases {
		code, answer := route(c.line)
		status := "FAIL"
		if code == c.code && answer == c.want {
			status = "ok  "
			passed++
		}
		fmt.Fprintf(&text, "%s %s\n", status, c.line)
	}
	verdict := "PASS"
	if passed != len(cases) {
		verdict = "FAIL"
	}
	fmt.Fprintf(&text, "edge-gateway 1.0.0 self-test: %s (%d of %d cases)\n", verdict, passed, len(cases))
	if reportCap > 0 {
		out := unsafe.Slice((*byte)(unsafe.Pointer(report)), int(reportCap))
		n := copy(out[:len(out)-1], text.String())
		out[n] = 0
	}
	if verdict != "PASS" {
		return 1
	}
	return hpOK
}

//export hp_shutdown
func hp_shutdown() { initialized = false }

// A c-shared build needs a main package with a main function; it never runs.
func main() {}
