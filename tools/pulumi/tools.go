//go:build tools

// Package tools records the pulumi CLI main package that
// scripts/install-pulumi.sh builds, so that `go mod tidy` keeps its
// dependencies in go.mod and go.sum. (cmd/pulumi-language-nodejs is part of
// this module and needs no entry here.)
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
