//go:build tools

// Package tools pins kube-state-metrics' main package in this wrapper module.
package tools

import _ "k8s.io/kube-state-metrics/v2"
